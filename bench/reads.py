"""Read benchmark on the generated data set: the staff's read queries, called through the engine directly.

    .venv/bin/python bench/reads.py [--database-url postgresql://postgres@127.0.0.1:5432/petiflow_bench]
                                    [--n 1000] [--warmup 50] [--as-of 2026-11-26T09:00:00+08:00]
                                    [--json bench/results/reads.json] [--explain]

Runs the scenarios of bench/reads_scenarios.py (the inbox of caseworkers and section chiefs of
the busiest agency, their badge counts, the escalation queue of the commission's reviewers and
of the section chiefs, a case by its number) against a database filled by bench/generate.py,
as of the data set's moment (a FixedClock at --as-of). Each call is one read-only unit of work:
the reader's principal loaded (engine.queries.principals.load_principal), then the query,
timed apart. Scenarios take turns call by call, so a drift of the shared machine's load falls
on all of them alike. p50/p95/p99 per scenario, of the query and of the whole unit of work.

A scenario whose query p95 is over its goal (15 ms for the inbox, its badges and the
escalation queue, 5 ms for a case by number) is named, with EXPLAIN (ANALYZE, BUFFERS) of each
statement one of its calls sends (always with --explain). The database is only read.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from reads_scenarios import Call, scenarios  # noqa: E402
from sqlalchemy import event  # noqa: E402

from engine.bootstrap import bootstrap  # noqa: E402
from engine.clock import FixedClock  # noqa: E402
from engine.queries.badges import inbox_counts  # noqa: E402
from engine.queries.case_search import CaseSearch, search_cases  # noqa: E402
from engine.queries.cases import get_case_by_number  # noqa: E402
from engine.queries.escalation import escalation_queue  # noqa: E402
from engine.queries.inbox import inbox  # noqa: E402
from engine.queries.principals import load_principal  # noqa: E402
from engine.settings import Settings  # noqa: E402

#: The data set's moment, as bench/generate.py writes it by default.
DEFAULT_AS_OF = "2026-11-26T09:00:00+08:00"
DEFAULT_URL = os.environ.get("PETIFLOW_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/petiflow_bench")
RESULTS_DIR = ROOT / "bench" / "results"

#: p95 of the query a scenario should stay under, per operation (ms).
GOAL_P95_MS = {"inbox": 15.0, "inbox_counts": 15.0, "escalation_queue": 15.0, "case_by_number": 5.0, "search": 50.0}

#: How each operation is called on the engine.
QUERIES = {
    "inbox": lambda uow, principal, args: inbox(uow, principal, **args),
    "inbox_counts": lambda uow, principal, args: inbox_counts(uow, principal, **args),
    "escalation_queue": lambda uow, principal, args: escalation_queue(uow, principal, **args),
    "case_by_number": lambda uow, principal, args: get_case_by_number(uow, principal, **args),
    "search": lambda uow, principal, args: search_cases(uow, principal, CaseSearch(**args)),
}


def log(msg: str = "", end: str = "\n") -> None:
    print(msg, end=end, file=sys.stderr, flush=True)


class EngineCaller:
    """Makes a call through the engine queries in a read-only unit of work; times it."""

    def __init__(self, runtime):
        self.runtime = runtime

    def call(self, call: Call) -> tuple[float, float, object]:
        """(ms of the whole unit of work, ms of the query alone, the result)."""
        t0 = time.perf_counter()
        with self.runtime.uow(read_only=True) as uow:
            principal = load_principal(uow, username=call.username)
            t1 = time.perf_counter()
            result = QUERIES[call.operation](uow, principal, call.args)
            t2 = time.perf_counter()
        return (time.perf_counter() - t0) * 1000, (t2 - t1) * 1000, result

    def statements(self, call: Call) -> list[tuple[str, object]]:
        """The SQL statements (and parameters) the query of one call sends."""
        sent: list = []
        recording = [False]

        def record(conn, cursor, statement, parameters, context, executemany):
            if recording[0]:
                sent.append((statement, parameters))
        event.listen(self.runtime.db, "before_cursor_execute", record)
        try:
            with self.runtime.uow(read_only=True) as uow:
                principal = load_principal(uow, username=call.username)
                recording[0] = True
                QUERIES[call.operation](uow, principal, call.args)
        finally:
            event.remove(self.runtime.db, "before_cursor_execute", record)
        return sent

    def explain(self, call: Call) -> list[str]:
        """EXPLAIN (ANALYZE, BUFFERS) of each statement of one call, in order."""
        plans = []
        with self.runtime.db.connect() as conn:
            for statement, parameters in self.statements(call):
                rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars().all()
                plans.append(statement.strip() + "\n" + "\n".join(rows))
            conn.rollback()
        return plans


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def summary(values: list[float]) -> dict:
    return {"p50": round(pct(values, 50), 3), "p95": round(pct(values, 95), 3), "p99": round(pct(values, 99), 3),
            "max": round(max(values), 3), "mean": round(sum(values) / len(values), 3)}


def run(caller, plan: list, warmup: int, *, apart: bool = False) -> dict:
    """Every scenario's calls, the scenarios taking turns (apart: each scenario's calls in a row, after
    its own warm-up, so no other scenario evicts its pages meanwhile); returns {scenario: {query: [...],
    total: [...]}}."""
    if apart:
        found = {}
        for s in plan:
            log(f"  {s.name}")
            found.update(run(caller, [s], warmup))
        return found
    times = {s.name: {"query": [], "total": [], "sizes": []} for s in plan}
    for s in plan:
        for c in s.calls[:warmup]:
            caller.call(c)
    longest = max(len(s.calls) for s in plan)
    step = max(1, longest // 20)
    for i in range(longest):
        for s in plan:
            if i < len(s.calls):
                total, query, result = caller.call(s.calls[i])
                times[s.name]["total"].append(total)
                times[s.name]["query"].append(query)
                times[s.name]["sizes"].append(_size(result))
        if (i + 1) % step == 0:
            log(f"\r  round {i + 1:,}/{longest:,}", end="")
    log()
    return times


def _size(result) -> int:
    """How much a call returned: items of a page or queue, events of a case's timeline, counted badges."""
    for name in ("items", "timeline", "rows"):
        if hasattr(result, name):
            return len(getattr(result, name))
    return 1


def report(results: dict) -> str:
    lines = [f"as of {results['as_of']}: {results['data']['cases']:,} cases, {results['data']['open_work']:,} open "
             f"work items; {results['settings']['n']:,} calls per scenario", "",
             f"{'scenario':<26}{'query p50':>10}{'p95':>8}{'p99':>8}{'unit p50':>10}{'p95':>8}{'rows':>7}   goal",
             "-" * 92]
    for name, r in results["scenarios"].items():
        q, t = r["query_ms"], r["total_ms"]
        mark = "OK  " if r["within_goal"] else "SLOW"
        lines.append(f"{name:<26}{q['p50']:>10.2f}{q['p95']:>8.2f}{q['p99']:>8.2f}{t['p50']:>10.2f}{t['p95']:>8.2f}"
                     f"{r['rows_median']:>7}   {mark} p95 < {r['goal_p95_ms']:g} ms")
    for name, plans in results.get("explain", {}).items():
        lines += ["", f"EXPLAIN (ANALYZE, BUFFERS) of one call of {name}:"]
        for plan in plans:
            lines += ["", plan]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", default=DEFAULT_URL)
    ap.add_argument("--n", type=int, default=1000, help="calls per scenario")
    ap.add_argument("--warmup", type=int, default=50, help="untimed calls per scenario first")
    ap.add_argument("--as-of", default=DEFAULT_AS_OF, help="the data set's moment (bench/generate.py --as-of)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=str(RESULTS_DIR / "reads.json"))
    ap.add_argument("--explain", action="store_true", help="EXPLAIN every scenario, not only the slow ones")
    args = ap.parse_args(argv)
    as_of = datetime.fromisoformat(args.as_of).astimezone(timezone.utc)
    runtime = bootstrap(Settings(database_url=args.database_url, var_dir=Path("/tmp"), secret_key="bench"),
                        clock=FixedClock(as_of))
    try:
        with runtime.db.connect() as conn:
            plan = scenarios(conn, args.n, random.Random(args.seed))
            data = {"cases": conn.exec_driver_sql("SELECT count(*) FROM cases").scalar_one(),
                    "open_work": conn.exec_driver_sql("SELECT count(*) FROM work_items WHERE status = 'open'")
                    .scalar_one(),
                    "database_bytes": conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one(),
                    "server_version": conn.exec_driver_sql("SHOW server_version").scalar_one(),
                    "shared_buffers": conn.exec_driver_sql("SHOW shared_buffers").scalar_one()}
        log(f"{len(plan)} scenarios x {args.n:,} calls on {data['cases']:,} cases")
        caller = EngineCaller(runtime)
        load_before = os.getloadavg()
        times = run(caller, plan, args.warmup)
        results = {"as_of": as_of.isoformat(), "data": data, "settings": {"n": args.n, "warmup": args.warmup},
                   "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                               "load_before": load_before, "load_after": os.getloadavg()},
                   "scenarios": {}, "explain": {}}
        for s in plan:
            t = times[s.name]
            query = summary(t["query"])
            goal = GOAL_P95_MS[s.operation]
            results["scenarios"][s.name] = {
                "operation": s.operation, "reader": s.reader, "query_ms": query, "total_ms": summary(t["total"]),
                "rows_median": sorted(t["sizes"])[len(t["sizes"]) // 2], "goal_p95_ms": goal,
                "within_goal": query["p95"] <= goal}
            if args.explain or query["p95"] > goal:
                results["explain"][s.name] = caller.explain(s.calls[0])
    finally:
        runtime.close()
    text = report(results)
    print(text)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    log(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
