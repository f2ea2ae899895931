"""The benchmark data set: ten years (2017-2026) of a Taiwanese city's cases in PostgreSQL, for the read benchmark.

    .venv/bin/python bench/generate.py --database-url postgresql://postgres@127.0.0.1:5432/petiflow_bench \\
        [--cases 1000000] [--open 200000] [--staff 2000] [--as-of 2026-11-26T09:00+08:00] [--seed 1] [--replace]

A fresh database (created if missing; one that holds cases is refused unless --replace, which
drops and recreates it) is migrated (engine.store.migrate.upgrade), given the holidays of the
years, the default deadline rules and the shipped processes (the deployment service), and then
filled: 30 agencies (the commission 研考會, 16 bureaus, 13 district offices) with their units,
`--staff` accounts in groups per role, `--cases` cases received between 2017-01-01 and the
moment `--as-of` (petitions, dispatch reports, 1999 calls, council items, site inspections, with
real categories and districts, subjects made of parts, made-up petitioners), and for the
`--open` newest-leaning cases still open: a workflow instance (the state of a case started
through the services, with the case's own id, number and times), a work item due overdue, at
risk or later as of `--as-of` with its escalation level, and the pending reminders, rungs and
BPMN timers. Each case has its history (received, deadline set, routed, task ready, completed,
closed, reminders and escalations). Cases are written with COPY in batches, each batch one
transaction; the sequences are moved past the written ids, then VACUUM ANALYZE.

Ctrl+C (or SIGTERM) stops after rolling back the batch in progress and says what was written;
the database then holds part of a data set, and a rerun needs --replace. Every account's
password is `petiflow-bench`.
"""
from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from generate_rows import AT_RISK, COLUMNS, OVERDUE, CaseMaker, Ids, open_flags, received_times  # noqa: E402
from generate_setup import (  # noqa: E402
    Refused,
    capture_templates,
    load_city,
    load_organisation,
    load_reference,
    prepare_database,
)

from engine.bootstrap import bootstrap  # noqa: E402
from engine.clock import FixedClock  # noqa: E402
from engine.settings import Settings  # noqa: E402
from engine.store import migrate  # noqa: E402

#: The moment the data set describes (its "now"): the read benchmark runs as of it too.
DEFAULT_AS_OF = "2026-11-26T09:00:00+08:00"
#: The first day cases were received (the city's time).
FIRST_DAY = datetime(2017, 1, 1, tzinfo=timezone(timedelta(hours=8)))
#: Cases per batch: one transaction, one COPY per table.
BATCH = 20_000
#: Tables in the order a batch writes them (each row refers only to rows written before it).
TABLES = ("petitioners", "cases", "workflow_instances", "work_items", "timers", "case_events")


def log(msg: str = "", end: str = "\n") -> None:
    print(msg, end=end, file=sys.stderr, flush=True)


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("a share from 0 to 1")
    return value


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", required=True, help="postgresql://user@host:port/name of the database to fill")
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--open", type=int, default=None, help="open cases, each with one open work item "
                    "(default: a fifth of --cases)")
    ap.add_argument("--staff", type=int, default=2_000, help="staff accounts")
    ap.add_argument("--as-of", default=DEFAULT_AS_OF, help="the data set's moment (ISO 8601 with offset)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--overdue", type=_share, default=OVERDUE, help="share of open work overdue (0-1)")
    ap.add_argument("--at-risk", type=_share, default=AT_RISK, help="share of open work due within 2 working days")
    ap.add_argument("--replace", action="store_true", help="drop and recreate the database if it exists")
    args = ap.parse_args(argv)
    args.as_of = datetime.fromisoformat(args.as_of)
    if args.as_of.utcoffset() is None:
        ap.error("--as-of needs a UTC offset, e.g. 2026-11-26T09:00:00+08:00")
    args.as_of = args.as_of.astimezone(timezone.utc)
    args.open = args.cases // 5 if args.open is None else args.open
    if not 0 <= args.open <= args.cases or args.cases < 1:
        ap.error("--open must be between 0 and --cases, and --cases at least 1")
    if args.as_of <= FIRST_DAY:
        ap.error(f"--as-of must come after {FIRST_DAY:%Y-%m-%d}")
    return args


class Progress:
    """Rows per second and time left, on one line of stderr."""

    def __init__(self, total: int):
        self.total, self.started, self.rows = total, time.perf_counter(), 0

    def show(self, done: int, rows: int) -> None:
        self.rows += rows
        elapsed = time.perf_counter() - self.started
        rate = done / elapsed if elapsed else 0
        eta = (self.total - done) / rate if rate else 0
        log(f"\r  cases {done:,}/{self.total:,} ({100 * done / self.total:.0f}%), {self.rows / elapsed:,.0f} rows/s, "
            f"{rate:,.0f} cases/s, about {eta:,.0f} s left   ", end="")


def copy_batch(conn, rows: dict) -> int:
    """COPY each table's rows of a batch; returns how many rows were written."""
    with conn.cursor() as cur:
        for table in TABLES:
            if not rows[table]:
                continue
            with cur.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
                for row in rows[table]:
                    copy.write_row(row)
    return sum(len(r) for r in rows.values())


def fill(url: str, maker: CaseMaker, times: list, flags: bytearray, committed: dict) -> None:
    """Write every case, batch by batch, each batch committed (counted in `committed`, per table);
    Ctrl+C rolls back the batch in progress."""
    progress = Progress(len(times))
    with psycopg.connect(url) as conn:
        try:
            # Foreign keys are checked by triggers; skipping them for the load makes it several times
            # faster (the rows refer only to rows written before them; check_references verifies it).
            conn.execute("SET session_replication_role = replica")
        except psycopg.Error:
            conn.rollback()
        conn.execute("SET synchronous_commit = off")
        conn.commit()
        for start in range(0, len(times), BATCH):
            for i in range(start, min(start + BATCH, len(times))):
                maker.case(times[i], bool(flags[i]))
            rows = maker.take_rows()
            written = copy_batch(conn, rows)
            conn.commit()
            for table, batch in rows.items():
                committed[table] = committed.get(table, 0) + len(batch)
            progress.show(min(start + BATCH, len(times)), written)
    log()


def check_references(conn) -> dict:
    """Rows whose foreign keys point nowhere, per constraint (all zero for a sound data set)."""
    found = conn.execute("""
        SELECT c.conrelid::regclass::text, c.conname, a.attname, c.confrelid::regclass::text, af.attname
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace""").fetchall()
    broken = {}
    for table, name, column, target, target_column in found:
        n = conn.execute(f'SELECT count(*) FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS '
                         f'(SELECT 1 FROM {target} r WHERE r.{target_column} = t.{column})').fetchone()[0]
        if n:
            broken[name] = n
    return broken


def finish(url: str) -> dict:
    """Sequences past the written ids, then VACUUM ANALYZE; returns counts, size and timings."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'id' "
            "AND column_default LIKE 'nextval%' ORDER BY table_name")]
        for table in tables:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
        t0 = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        vacuum = time.perf_counter() - t0
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in
                  ("agencies", "units", "users", "groups", "group_members", "process_definitions", "petitioners",
                   "cases", "workflow_instances", "work_items", "timers", "case_events", "calendar_days",
                   "deadline_rules")}
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return {"counts": counts, "database_bytes": size, "vacuum_analyze_s": round(vacuum, 1)}


def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    name = args.database_url.rsplit("/", 1)[1]
    try:
        log(f"database {name}: {prepare_database(args.database_url, args.replace)}")
    except Refused as exc:
        log(f"refused: {exc}")
        return 2
    runtime = bootstrap(Settings(database_url=args.database_url, var_dir=Path("/tmp"), secret_key="bench"),
                        clock=FixedClock(args.as_of))
    committed: dict = {}

    def stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    try:
        migrate.upgrade(runtime.db)
        deployed = load_reference(runtime, FIRST_DAY.year - 1, args.as_of.year + 1)
        log(f"migrated to {migrate.current_revision(runtime.db)}; deployed "
            + ", ".join(f"{d.process_key} v{d.version}" for d in deployed))
        rng = random.Random(args.seed)
        org = load_organisation(runtime, args.staff, rng)
        log("organisation: " + ", ".join(f"{n:,} {what}" for what, n in org.items()))
        templates = capture_templates(runtime, args.as_of - timedelta(hours=1))
        city = load_city(runtime, templates)
        times = received_times(args.cases, FIRST_DAY.astimezone(timezone.utc), args.as_of, rng)
        flags = open_flags(times, args.open, args.as_of, rng)
        log(f"writing {args.cases:,} cases ({sum(flags):,} open) in batches of {BATCH:,}")
        maker = CaseMaker(city, args.as_of, rng, Ids(), overdue=args.overdue, at_risk=args.at_risk)
        fill(args.database_url, maker, times, flags, committed)
    except KeyboardInterrupt:
        log("\ninterrupted: the batch in progress was rolled back")
        log("written before it: " + (", ".join(f"{n:,} {t}" for t, n in committed.items() if n)
                                     or "no cases (the organisation and processes, if it got that far)"))
        log(f"database {name} holds part of a data set: rerun with --replace")
        return 130
    finally:
        runtime.close()
    fill_s = time.perf_counter() - t0
    log("checking references, moving sequences, VACUUM ANALYZE ...")
    with psycopg.connect(args.database_url) as conn:
        broken = check_references(conn)
    result = finish(args.database_url)
    result.update(elapsed_s=round(time.perf_counter() - t0, 1), load_s=round(fill_s, 1), broken_references=broken,
                  as_of=args.as_of.isoformat(), cases=args.cases, open=args.open, seed=args.seed)
    print(json.dumps(result, indent=2))
    log(f"done in {result['elapsed_s']:,.0f} s (writing {fill_s:,.0f} s, VACUUM ANALYZE {result['vacuum_analyze_s']} s); "
        f"database {name} is {result['database_bytes'] / 2**30:.2f} GiB")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
