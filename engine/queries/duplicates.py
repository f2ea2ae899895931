"""Open cases near a point: a new report's possible duplicates, and the duplicates linked to a case."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, literal_column, select, text

from engine.cases import location
from engine.store.schema import cases

#: How near a report must be to an open case of its category to be taken for the same problem.
DUPLICATE_RADIUS_M = 50.0


@dataclass(frozen=True)
class NearbyCase:
    """An open case of the category near the point, and how far it is."""

    case_id: int
    case_no: str
    distance_m: float
    received_at: datetime


# Written as ix_cases_open_located's condition is, so that both databases read that index.
_nearby = (select(cases.c.id, cases.c.case_no, cases.c.latitude, cases.c.longitude, cases.c.received_at)
           .where(cases.c.status == literal_column("'open'"), text("cases.geo_cell IS NOT NULL"),
                  cases.c.category == bindparam("b_category"),
                  cases.c.geo_cell.in_(bindparam("b_cells", expanding=True)),
                  and_(cases.c.latitude.between(bindparam("b_south"), bindparam("b_north")),
                       cases.c.longitude.between(bindparam("b_west"), bindparam("b_east")))))


def open_cases_near(uow, category: str, latitude: float, longitude: float, *,
                    radius_m: float = DUPLICATE_RADIUS_M, before_id: int | None = None) -> tuple[NearbyCase, ...]:
    """The open cases of the category within radius_m of the point (geodesic, WGS84), nearest first
    (the earlier received first at the same distance); only those opened before case before_id if given."""
    south, north, west, east = location.bounding_box(latitude, longitude, radius_m)
    rows = uow.conn.execute(_nearby, {"b_category": category,
                                      "b_cells": location.cells_around(latitude, longitude, radius_m),
                                      "b_south": south, "b_north": north, "b_west": west, "b_east": east})
    found = []
    for row in rows:
        if before_id is not None and row.id >= before_id:
            continue
        metres = location.distance_m(latitude, longitude, row.latitude, row.longitude)
        if metres <= radius_m:
            found.append(NearbyCase(row.id, row.case_no, metres, row.received_at))
    found.sort(key=lambda c: (c.distance_m, c.received_at, c.case_id))
    return tuple(found)


def possible_duplicate_of(uow, category: str | None, latitude: float | None, longitude: float | None, *,
                          before_id: int | None = None) -> NearbyCase | None:
    """The open case a report of the category at the point repeats (the nearest within
    DUPLICATE_RADIUS_M, opened before case before_id if given), or None; None too for a report
    without a category or a point."""
    if not category or latitude is None or longitude is None:
        return None
    found = open_cases_near(uow, category, latitude, longitude, before_id=before_id)
    return found[0] if found else None


@dataclass(frozen=True)
class LinkedDuplicate:
    """A case linked to another as a duplicate report, as its page lists it."""

    case_id: int
    case_no: str
    status: str
    received_at: datetime


def duplicates_of(uow, case_id: int) -> tuple[LinkedDuplicate, ...]:
    """The cases linked to this one as duplicate reports, in the order they came."""
    rows = uow.conn.execute(select(cases.c.id, cases.c.case_no, cases.c.status, cases.c.received_at)
                            .where(cases.c.duplicate_of == case_id).order_by(cases.c.received_at, cases.c.id))
    return tuple(LinkedDuplicate(*row) for row in rows)


@dataclass(frozen=True)
class DuplicateLinks:
    """A case's links as a duplicate report: the case it repeats (if linked), and the cases linked to it."""

    original_id: int | None
    original_no: str | None
    duplicates: tuple


def duplicate_links(uow, case_id: int) -> DuplicateLinks:
    """The case this one is linked to as a duplicate (or None), and the duplicates linked to it."""
    original = cases.alias("original")
    row = uow.conn.execute(select(original.c.id, original.c.case_no)
                           .select_from(cases.join(original, original.c.id == cases.c.duplicate_of))
                           .where(cases.c.id == case_id)).one_or_none()
    return DuplicateLinks(row.id if row else None, row.case_no if row else None, duplicates_of(uow, case_id))
