"""Where a case is: a WGS84 point, its grid cell, and geodesic distances between points.

The grid cuts the globe into squares of CELL_DEGREES of latitude and longitude (about 111 m by
101 m in Taoyuan). A case keeps the number of its square (geo_cell); the cases within a distance
of a point are found among the cells that the distance's bounding box touches, from an index on
the cell, and then measured exactly on the WGS84 ellipsoid (Karney's geodesics, geographiclib).
"""
from __future__ import annotations

import math

from geographiclib.geodesic import Geodesic

from engine.errors import InvalidInput

#: The side of a grid cell, in degrees of latitude and of longitude.
CELL_DEGREES = 0.001

#: Cells per row of the grid: a cell's number is its row (from the south pole) times this plus its column.
_COLUMNS = 400_000

#: The metres in a degree of latitude, at the least (at the equator); used only to bound a search.
_METRES_PER_DEGREE_MIN = 110_574.0

#: The most cells one search reads (a search near a pole would touch a whole ring of cells).
MAX_CELLS = 64

_WGS84 = Geodesic.WGS84


def check_point(latitude, longitude) -> tuple[float, float] | None:
    """The point as two floats, None when neither is given; raises InvalidInput naming what is wrong."""
    if latitude is None and longitude is None:
        return None
    problems = {}
    values = {}
    for name, value, limit in (("lat", latitude, 90.0), ("long", longitude, 180.0)):
        if value is None:
            problems[name] = ["latitude and longitude are given together"]
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            problems[name] = ["must be a number of degrees (WGS84)"]
            continue
        if not math.isfinite(number) or not -limit <= number <= limit:
            problems[name] = [f"must be from -{limit:g} to {limit:g} degrees"]
        values[name] = number
    if problems:
        raise InvalidInput("the location is not a point on the earth", details={"fields": problems})
    return values["lat"], values["long"]


def geo_cell(latitude: float, longitude: float) -> int:
    """The number of the grid cell holding the point."""
    row = min(int(math.floor((latitude + 90.0) / CELL_DEGREES)), int(180 / CELL_DEGREES) - 1)
    column = int(math.floor((longitude + 180.0) / CELL_DEGREES)) % int(360 / CELL_DEGREES)
    return row * _COLUMNS + column


def bounding_box(latitude: float, longitude: float, metres: float) -> tuple[float, float, float, float]:
    """South, north, west, east: a box holding every point within `metres` of the point (wider, never narrower)."""
    dlat = metres / _METRES_PER_DEGREE_MIN * 1.01
    south, north = max(-90.0, latitude - dlat), min(90.0, latitude + dlat)
    widest = max(abs(south), abs(north))
    cos = math.cos(math.radians(widest))
    dlon = 180.0 if cos < 1e-6 else min(180.0, dlat / cos)
    return south, north, longitude - dlon, longitude + dlon


def cells_around(latitude: float, longitude: float, metres: float) -> list[int]:
    """The numbers of the grid cells the box of `metres` around the point touches (at most MAX_CELLS)."""
    south, north, west, east = bounding_box(latitude, longitude, metres)
    rows = range(int(math.floor((south + 90.0) / CELL_DEGREES)), int(math.floor((north + 90.0) / CELL_DEGREES)) + 1)
    first, last = int(math.floor((west + 180.0) / CELL_DEGREES)), int(math.floor((east + 180.0) / CELL_DEGREES))
    columns = int(360 / CELL_DEGREES)
    cells = sorted({row * _COLUMNS + column % columns for row in rows for column in range(first, last + 1)})
    return cells[:MAX_CELLS]


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The geodesic distance between two points on the WGS84 ellipsoid, in metres."""
    return _WGS84.Inverse(lat1, lon1, lat2, lon2, Geodesic.DISTANCE)["s12"]


def point_at(latitude: float, longitude: float, bearing: float, metres: float) -> tuple[float, float]:
    """The point `metres` from the given one along the geodesic starting at `bearing` degrees from north."""
    found = _WGS84.Direct(latitude, longitude, bearing, metres)
    return found["lat2"], found["lon2"]
