"""The duplicate look-up at city scale on PostgreSQL: N located street reports, a new report's check
for an open case of its category within 50 m, p50/p95/p99 of repeated look-ups.

    .venv/bin/python bench/duplicates.py --url postgresql://postgres@127.0.0.1:5432/petiflow_bench_dups \\
        [--cases 1000000] [--open-share 0.2] [--lookups 2000] [--seed 1] [--keep]

Creates the database (dropping one of that name first), migrates it, and writes the cases with COPY
in batches of 50,000 (dispatch reports of the 19 categories, received over ten years, a fifth still
open), placed as a city's reports are: most around the busy centres of the districts, the rest
anywhere in the city, so that a look-up in a centre finds several open cases of its category within
a few hundred metres. The look-ups run the engine's own query (engine.queries.duplicates), half at the
place of an open case (a duplicate is found), half anywhere, each in a read-only unit of work.
"""
from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from engine.cases.location import geo_cell  # noqa: E402
from engine.queries.categories import categories  # noqa: E402

#: The busy centres of the city's districts (latitude, longitude) and how far their reports spread (degrees).
CENTRES = [(24.9937, 121.3010, 0.02), (24.9577, 121.2250, 0.02), (24.9440, 121.2160, 0.015),
           (24.9280, 121.2830, 0.012), (25.0000, 121.2940, 0.012), (25.0490, 121.2940, 0.012),
           (24.8850, 121.2880, 0.01), (24.9130, 121.1450, 0.012)]
#: The city's box (south, north, west, east), where a tenth of the reports fall anywhere.
CITY = (24.60, 25.12, 120.98, 121.48)

BATCH = 50_000
COLUMNS = ("id", "case_no", "case_type", "channel", "category", "district", "status", "confidential",
           "received_at", "due_at", "closed_at", "created_at", "updated_at", "latitude", "longitude", "geo_cell")


def _point(rng: random.Random) -> tuple[float, float]:
    if rng.random() < 0.1:
        return rng.uniform(CITY[0], CITY[1]), rng.uniform(CITY[2], CITY[3])
    lat, lon, spread = rng.choice(CENTRES)
    return rng.gauss(lat, spread), rng.gauss(lon, spread)


def _admin(url: str):
    base, name = url.rsplit("/", 1)
    return psycopg.connect(base + "/postgres", autocommit=True), name


def fill(url: str, n: int, open_share: float, rng: random.Random) -> list[tuple]:
    """Make the database and write n located cases; returns (category, lat, lon) of open ones, for hits."""
    from sqlalchemy import create_engine

    from engine.store import migrate

    admin, name = _admin(url)
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    migrate.upgrade(engine)
    engine.dispose()
    codes = [c.code for c in categories()]
    weights = [max(1, 40 - 2 * i) for i in range(len(codes))]  # the most reported first, as the file orders them
    start, end = datetime(2017, 1, 1, tzinfo=timezone.utc), datetime(2026, 11, 26, 1, tzinfo=timezone.utc)
    span = (end - start).total_seconds()
    open_points: list[tuple] = []
    began = time.perf_counter()
    with psycopg.connect(url) as conn:
        for first in range(1, n + 1, BATCH):
            buffer = io.StringIO()
            for case_id in range(first, min(first + BATCH, n + 1)):
                received = start + timedelta(seconds=span * case_id / n)
                is_open = rng.random() < open_share * (0.5 + case_id / n)  # the newer, the likelier still open
                category = rng.choices(codes, weights)[0]
                lat, lon = _point(rng)
                closed = "\\N" if is_open else (received + timedelta(hours=rng.randint(2, 200))).isoformat()
                row = (case_id, f"D{received:%Y%m%d}{case_id:07d}", "dispatch", "app", category, "桃園",
                       "open" if is_open else "closed", "f", received.isoformat(),
                       (received + timedelta(hours=24)).isoformat(), closed, received.isoformat(),
                       received.isoformat(), repr(lat), repr(lon), geo_cell(lat, lon))
                buffer.write("\t".join(str(v) for v in row) + "\n")
                if is_open and len(open_points) < 200_000:
                    open_points.append((category, lat, lon))
            with conn.transaction():
                with conn.cursor().copy(f"COPY cases ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    copy.write(buffer.getvalue())
            done = min(first + BATCH - 1, n)
            rate = done / (time.perf_counter() - began)
            print(f"  {done:>9,} / {n:,} cases written ({rate:,.0f}/s)", flush=True)
        conn.execute("SELECT setval(pg_get_serial_sequence('cases', 'id'), %s)", (n,))
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        print("  VACUUM ANALYZE cases ...", flush=True)
        conn.execute("VACUUM ANALYZE cases")
        opened = conn.execute("SELECT count(*) FROM cases WHERE status = 'open'").fetchone()[0]
        print(f"  {opened:,} open cases, {n - opened:,} closed", flush=True)
    return open_points


def look_up(url: str, lookups: int, open_points: list[tuple], rng: random.Random) -> dict:
    """Time the engine's duplicate query, half at open cases' places and half anywhere."""
    from engine.bootstrap import bootstrap
    from engine.clock import FixedClock
    from engine.queries.duplicates import possible_duplicate_of
    from engine.settings import Settings

    runtime = bootstrap(Settings(database_url=url), clock=FixedClock(datetime(2026, 11, 26, 1, tzinfo=timezone.utc)))
    codes = [c.code for c in categories()]
    try:
        probes = []
        for i in range(lookups):
            if i % 2 == 0:
                category, lat, lon = rng.choice(open_points)
                probes.append((category, lat + rng.uniform(-0.0002, 0.0002), lon + rng.uniform(-0.0002, 0.0002)))
            else:
                probes.append((rng.choice(codes), *_point(rng)))
        for category, lat, lon in probes[:50]:  # warm the connection pool and the cache
            with runtime.uow(read_only=True) as uow:
                possible_duplicate_of(uow, category, lat, lon)
        times, found = [], 0
        for category, lat, lon in probes:
            started = time.perf_counter()
            with runtime.uow(read_only=True) as uow:
                hit = possible_duplicate_of(uow, category, lat, lon)
            times.append((time.perf_counter() - started) * 1000)
            found += hit is not None
        with runtime.uow(read_only=True) as uow:
            from sqlalchemy import text

            from engine.cases.location import bounding_box, cells_around
            category, lat, lon = probes[0]
            south, north, west, east = bounding_box(lat, lon, 50)
            plan = uow.conn.execute(text(
                "EXPLAIN SELECT id FROM cases WHERE status = 'open' AND geo_cell IS NOT NULL AND category = :c "
                "AND geo_cell IN :cells AND latitude BETWEEN :s AND :n AND longitude BETWEEN :w AND :e")
                .bindparams(**{"c": category, "s": south, "n": north, "w": west, "e": east})
                .bindparams(__import__("sqlalchemy").bindparam("cells", expanding=True)),
                {"cells": cells_around(lat, lon, 50)}).scalars().all()
    finally:
        runtime.close()
    times.sort()
    return {"lookups": lookups, "found": found, "p50": statistics.median(times),
            "p95": times[int(len(times) * 0.95) - 1], "p99": times[int(len(times) * 0.99) - 1],
            "max": times[-1], "plan": plan}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/petiflow_bench_dups")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--open-share", type=float, default=0.2)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="leave the database for a second look")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    print(f"Writing {args.cases:,} located cases to {args.url.rsplit('/', 1)[1]} ...", flush=True)
    began = time.perf_counter()
    open_points = fill(args.url, args.cases, args.open_share, rng)
    print(f"  written in {time.perf_counter() - began:,.0f} s", flush=True)
    print(f"Running {args.lookups:,} duplicate look-ups ...", flush=True)
    result = look_up(args.url, args.lookups, open_points, rng)
    print("Plan of one look-up:\n    " + "\n    ".join(result.pop("plan")))
    print(f"duplicate look-up at {args.cases:,} cases: p50 {result['p50']:.2f} ms, p95 {result['p95']:.2f} ms, "
          f"p99 {result['p99']:.2f} ms, max {result['max']:.2f} ms "
          f"({result['found']:,} of {result['lookups']:,} look-ups found an open case within 50 m)")
    if not args.keep:
        admin, name = _admin(args.url)
        with admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
