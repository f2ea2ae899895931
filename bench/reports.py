"""Report benchmark on the generated data set: the reports' queries, and the rollups catching up after a burst.

    .venv/bin/python bench/reports.py [--database-url postgresql://postgres@127.0.0.1:5432/petiflow_bench]
                                      [--n 20] [--burst 10000] [--month 2026-10] [--json bench/results/reports.json]

Needs a database filled by bench/generate.py, migrated to the rollups (`petiflow db upgrade`) and
rolled up (`petiflow reports rebuild`). Then:

1. The reports, each `--n` times, taking turns, each call one read-only unit of work as of the
   data set's moment: the monthly per-agency report of the commission (every agency) and of an
   agency head (their agency), the hot-spot report of the twelve months up to that month, the
   month's 1999 calls. p50 (the goal: under 500 ms) and p95 per report.
2. A burst: `--burst` case events written in one transaction, as a burst of steps would (each on
   another case: the worst case, one recomputation per event), of the kinds the reports count
   (task completions with a satisfaction answer, extensions, transfers between two agencies);
   then the time until the rollups have caught up, by the catch-up the workers run (batches of
   engine.cases.rollups.BATCH cases), and `petiflow reports check`'s comparison of those cases.
   The events stay in the data set (the history is append-only): run it on a data set made for it.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

from engine.accounts.identity import SYSTEM  # noqa: E402
from engine.bootstrap import bootstrap  # noqa: E402
from engine.cases import rollups, shares  # noqa: E402
from engine.clock import FixedClock  # noqa: E402
from engine.queries.principals import load_principal  # noqa: E402
from engine.queries.reports import Period, agency_report, calls_report, hotspot_report  # noqa: E402
from engine.services.reports import catch_up_all  # noqa: E402
from engine.settings import Settings  # noqa: E402
from engine.store.schema import case_events, cases, group_members, groups, report_cases  # noqa: E402

DEFAULT_AS_OF = "2026-11-26T09:00:00+08:00"
DEFAULT_URL = os.environ.get("PETIFLOW_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/petiflow_bench")
RESULTS_DIR = ROOT / "bench" / "results"
GOAL_MS = 500.0
GOAL_CATCH_UP_S = 10.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _busiest_head(runtime):
    """An agency head of the agency with the most cases (a reader who sees one agency)."""
    with runtime.uow(read_only=True) as uow:
        agency = uow.conn.execute(select(cases.c.agency_id).where(cases.c.agency_id.is_not(None))
                                  .group_by(cases.c.agency_id).order_by(func.count().desc()).limit(1)).scalar_one()
        user = uow.conn.execute(select(group_members.c.user_id).join(groups, groups.c.id == group_members.c.group_id)
                                .where(groups.c.role == "agency_head", groups.c.agency_id == agency)
                                .limit(1)).scalar_one()
        return load_principal(uow, user_id=user)


def time_reports(runtime, month: Period, n: int) -> dict:
    year = Period(month.start.replace(year=month.start.year - 1) + timedelta(days=31), month.end)
    year = Period(year.start.replace(day=1), month.end)
    head = _busiest_head(runtime)
    scenarios = {
        "agencies_month_commission": lambda uow: agency_report(uow, SYSTEM, month),
        "agencies_month_agency_head": lambda uow: agency_report(uow, head, month),
        "hotspots_12_months": lambda uow: hotspot_report(uow, SYSTEM, year),
        "calls_month": lambda uow: calls_report(uow, SYSTEM, month),
    }
    timings = {name: [] for name in scenarios}
    for name, query in scenarios.items():  # one warm-up call each
        with runtime.uow(read_only=True) as uow:
            query(uow)
    for _ in range(n):
        for name, query in scenarios.items():
            with runtime.uow(read_only=True) as uow:
                started = time.perf_counter()
                query(uow)
                timings[name].append((time.perf_counter() - started) * 1000)
    found = {}
    for name, values in timings.items():
        values.sort()
        found[name] = {"p50_ms": round(statistics.median(values), 1),
                       "p95_ms": round(values[min(len(values) - 1, int(len(values) * 0.95))], 1), "n": len(values)}
        log(f"{name:30s} p50 {found[name]['p50_ms']:8.1f} ms   p95 {found[name]['p95_ms']:8.1f} ms")
    return found


def burst(runtime, count: int, seed: int = 1) -> dict:
    """Write `count` reported events on as many cases in one transaction; time the catch-up."""
    rng = random.Random(seed)
    with runtime.uow(read_only=True) as uow:
        top = uow.conn.execute(select(func.max(cases.c.id))).scalar_one()
        agencies = [a for a in uow.conn.execute(select(cases.c.agency_id).where(cases.c.agency_id.is_not(None))
                                                .distinct()).scalars()]
        waiting = rollups.pending(uow)
    if waiting:
        log(f"{waiting} cases wait for the catch-up before the burst; catching up first")
        catch_up_all(runtime)
    ids = rng.sample(range(1, top + 1), count)
    now = runtime.clock.now()
    rows = []
    for i, case_id in enumerate(ids):
        kind = ("task_completed", "deadline_extended", "case_transferred")[i % 3]
        data = ({"task": "record_survey", "name": "登錄滿意度",
                 "answers": {"satisfaction": rng.choice(["satisfied", "unsatisfied"])}} if kind == "task_completed"
                else {"reason": "bench", "amount": 5, "unit": "working_days"} if kind == "deadline_extended"
                else {"from_agency_id": rng.choice(agencies), "to_agency_id": rng.choice(agencies), "reason": "bench"})
        rows.append({"case_id": case_id, "at": now, "kind": kind, "actor_id": None, "work_item_id": None, "data": data})
    started = time.perf_counter()
    with runtime.uow() as uow:
        uow.conn.execute(insert(case_events), rows)
        uow.commit()
    written = time.perf_counter() - started
    with runtime.uow(read_only=True) as uow:
        marked = rollups.pending(uow)
    started = time.perf_counter()
    done = catch_up_all(runtime)
    caught_up = time.perf_counter() - started
    with runtime.uow(read_only=True) as uow:
        left = rollups.pending(uow)
        stored = {c: a for c, a in rollups.stored_counters(uow).items()}
        fresh = shares.compute_shares(uow, ids)
        kept = {r.case_id: shares.cells_of(r.contribution) for r in uow.conn.execute(
            select(report_cases.c.case_id, report_cases.c.contribution)
            .where(report_cases.c.case_id.in_(ids)))}
    same = all(kept.get(i) == {c: {m: n for m, n in a.items()} for c, a in fresh[i].cells.items() if a}
               for i in ids if i in fresh)
    result = {"events": count, "write_s": round(written, 2), "marked": marked, "caught_up": done,
              "catch_up_s": round(caught_up, 2), "left": left, "cases_per_s": round(done / caught_up) if caught_up else None,
              "shares_match_records": same, "counter_cells": len(stored)}
    log(f"burst of {count} events: written in {written:.2f} s, {marked} cases marked; caught up {done} in "
        f"{caught_up:.2f} s ({result['cases_per_s']} cases/s), {left} left; shares match the records: {same}")
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", default=DEFAULT_URL)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--burst", type=int, default=10_000, help="events in the burst (0: no burst)")
    ap.add_argument("--month", default="2026-10", help="the month of the monthly reports")
    ap.add_argument("--as-of", default=DEFAULT_AS_OF)
    ap.add_argument("--json", default=str(RESULTS_DIR / "reports.json"))
    args = ap.parse_args(argv)
    settings = Settings(database_url=args.database_url, var_dir=ROOT / "var" / "bench-reports")
    runtime = bootstrap(settings, clock=FixedClock(datetime.fromisoformat(args.as_of).astimezone(timezone.utc)))
    try:
        with runtime.uow(read_only=True) as uow:
            cases_n = uow.conn.execute(text("SELECT count(*) FROM cases")).scalar_one()
            cells = uow.conn.execute(text("SELECT count(*) FROM report_agency_days")).scalar_one()
        log(f"{cases_n} cases, {cells} rows of report_agency_days")
        results = {"cases": cases_n, "reports": time_reports(runtime, Period.parse(args.month), args.n)}
        if args.burst:
            results["burst"] = burst(runtime, args.burst)
    finally:
        runtime.close()
    results["goals"] = {"report_p50_ms": GOAL_MS, "catch_up_s": GOAL_CATCH_UP_S}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
