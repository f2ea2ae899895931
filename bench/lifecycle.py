"""Case lifecycle throughput: petiflow's services on SQLite and PostgreSQL against bare SpiffWorkflow.

One lifecycle of the small process (tests/data/simple.bpmn: start -> script -> user task -> end):

* sqlite / postgres: start_case in one unit of work (committed), then complete_work_item on
  its one work item in a second unit of work (committed), through the engine services, no HTTP.
  Both are one-step units, as an API call opening a case or completing an item would run them
  (on PostgreSQL the step's statement commits itself: engine.store.uow.UnitOfWork.one_step).
* bare: SpiffWorkflow in memory, the spec parsed once; per lifecycle create the workflow, set
  the start data, do_engine_steps, serialize_json, deserialize_json, complete the user task,
  do_engine_steps, serialize_json. Run with our restricted script engine ("bare") and with
  SpiffWorkflow's default engine ("bare_default", for reference only). "bare_lean" is the same
  loop through engine.workflow.state.dump/load (instance state without the spec, restored onto the
  cached spec objects), i.e. exactly the library work our layer does, with no database.
* floor_sqlite / floor_postgres: the "bare" loop with its state stored by the plain driver
  (sqlite3 / psycopg, hand-written SQL, one table) in the same two transactions as petiflow:
  INSERT and commit; SELECT (FOR UPDATE), UPDATE with a version check and commit. The least any
  engine that keeps workflows in a database pays; petiflow/floor is our layer on top of it.

Rounds are interleaved mode by mode (bare, ..., sqlite, postgres, bare, ...) because the machine
is shared and noisy; medians and min/max over rounds are reported, ratios from medians.

    python bench/lifecycle.py [--n 1000] [--warmup 100] [--repeats 5]
                              [--only sqlite,postgres,bare,floor] [--json bench/results/lifecycle.json]
                              [--profile 300] [--profile-only]

Also counted, on one extra lifecycle per database: SQL statements by kind (before_cursor_execute),
pool pre-pings, commits and, on PostgreSQL, network round trips. p50/p95 of each unit of work.

--profile N, after the timed rounds, runs N lifecycles per mode three more times: with perf_counter
around each layer (exclusive ms per lifecycle, no profiler), under pyinstrument (sampled wall clock,
if installed in the venv) and under cProfile (exact call counts; .prof files in bench/results/),
and prints where the time goes by library and by function. Ctrl+C (or SIGTERM) stops cleanly,
reports finished rounds and drops the PostgreSQL bench database.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from lifecycle_loops import (
    DEFAULT_PG_URL,
    RESULTS_DIR,
    BareLoop,
    EngineLoop,
    StoredBareLoop,
    log,
    pg_create,
    pg_drop,
    pg_round_trips,
    pg_server_info,
)
from lifecycle_profile import (
    breakdown_loop,
    print_breakdown,
    print_profile,
    profile_loop,
)

#: Goals printed next to the results.
GOAL_SQLITE = 250.0
GOAL_POSTGRES = 150.0
GOAL_RATIO = 3.0

BARE_MODES = ("bare", "bare_default", "bare_lean")
DB_MODES = ("sqlite", "postgres")
#: The floor per database: bare SpiffWorkflow with its state stored by the plain driver.
FLOOR_MODES = {"sqlite": "floor_sqlite", "postgres": "floor_postgres"}




# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------

def run_round(loop, n: int, label: str, record: bool = False) -> tuple[float, float]:
    """Run n lifecycles; return lifecycles per second and this process's CPU ms per lifecycle."""
    gc.collect()
    if hasattr(loop, "record"):
        loop.record = record
    step = max(1, n // 10)
    interactive = sys.stderr.isatty()
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        loop.lifecycle()
        if interactive and (i + 1) % step == 0:
            log(f"\r    {label}: {i + 1}/{n}", end="")
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    if interactive:
        log("\r", end="")
    if hasattr(loop, "record"):
        loop.record = False
    return n / elapsed, cpu / n * 1000


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summarize(rates: list[float], cpu_ms: list[float]) -> dict:
    return {"median": statistics.median(rates), "min": min(rates), "max": max(rates), "rounds": rates,
            "ms_per_lifecycle": 1000 / statistics.median(rates), "cpu_ms_per_lifecycle": statistics.median(cpu_ms),
            "cpu_ms_rounds": cpu_ms}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="lifecycles per round and mode")
    ap.add_argument("--warmup", type=int, default=100, help="warm-up lifecycles per mode")
    ap.add_argument("--repeats", type=int, default=5, help="rounds per mode")
    ap.add_argument("--only", default="sqlite,postgres,bare,floor",
                    help="comma list of sqlite, postgres, bare (bare also runs bare_default and bare_lean),"
                         " floor (floor_sqlite and floor_postgres, for the databases chosen)")
    ap.add_argument("--json", default=str(RESULTS_DIR / "lifecycle.json"), help="write results here")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL, help="database to create, use and drop")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="after the rounds, profile N lifecycles per database mode with cProfile")
    ap.add_argument("--profile-only", action="store_true", help="skip the timed rounds (warm up, count, profile)")
    args = ap.parse_args(argv)
    wanted = {m.strip() for m in args.only.split(",") if m.strip()}
    unknown = wanted - {"sqlite", "postgres", "bare", "floor", *BARE_MODES, *FLOOR_MODES.values()}
    if unknown:
        ap.error(f"unknown modes: {', '.join(sorted(unknown))}")
    modes = []
    if "bare" in wanted:
        modes.extend(BARE_MODES)
    else:
        modes.extend(m for m in BARE_MODES if m in wanted)
    for db in DB_MODES:
        if FLOOR_MODES[db] in wanted or ("floor" in wanted and db in wanted):
            modes.append(FLOOR_MODES[db])
    modes.extend(m for m in DB_MODES if m in wanted)
    args.modes = modes
    return args


def _goal(mode: str, median: float) -> str:
    goal = {"sqlite": GOAL_SQLITE, "postgres": GOAL_POSTGRES}.get(mode)
    if goal is None:
        return ""
    return f">= {goal:.0f}/s  {'MET' if median >= goal else 'MISSED'}"


def report(results: dict) -> None:
    modes = results["modes"]
    print()
    if results.get("interrupted"):
        print("(interrupted: partial results, only the rounds that finished)")
    print(f"Case lifecycles (simple.bpmn: start -> script -> user task -> end), n={results['config']['n']}"
          f" x {results['config']['repeats']} rounds, warm-up {results['config']['warmup']}")
    print(f"{'mode':<14}{'median/s':>10}{'min/s':>10}{'max/s':>10}{'ms each':>10}{'cpu ms':>8}{'waits':>8}   goal")
    for mode, r in modes.items():
        waits = max(0.0, r["ms_per_lifecycle"] - r["cpu_ms_per_lifecycle"])
        print(f"{mode:<14}{r['median']:>10.1f}{r['min']:>10.1f}{r['max']:>10.1f}{r['ms_per_lifecycle']:>10.2f}"
              f"{r['cpu_ms_per_lifecycle']:>8.2f}{waits:>8.2f}   {_goal(mode, r['median'])}")
    print("  (cpu ms: this process's CPU time per lifecycle; waits: the rest, time spent waiting on the database)")
    if results.get("ratios"):
        print("\nratios of time per lifecycle, from medians (goal: our layer <= 3x bare):")
        for name, value in results["ratios"].items():
            flag = ""
            if name in ("sqlite/bare", "postgres/bare"):
                flag = "MET" if value <= GOAL_RATIO else "MISSED"
            print(f"  {name:<28} {value:6.2f}x  {flag}")
    if results.get("paired_ratios"):
        print("  per-round paired ratios (median of round-by-round ratios; less sensitive to machine noise):")
        for name, v in results["paired_ratios"].items():
            print(f"  {name:<28} {v['median']:6.2f}x   rounds: {', '.join(f'{x:.2f}' for x in v['rounds'])}")
    if results.get("cpu_ratios"):
        print("  ratios of this process's CPU time per lifecycle (our layer's own cost, without the database server):")
        for name, value in results["cpu_ratios"].items():
            print(f"  {name:<28} {value:6.2f}x")
    rt = results["environment"].get("postgres", {}).get("round_trip")
    if rt:
        print(f"  PostgreSQL round trip (SELECT 1): {rt['back_to_back_us']:.0f} us back to back, "
              f"{rt['after_1ms_work_us']:.0f} us after 1 ms of work in this process")
    if results.get("latency_ms"):
        print("\nunits of work, ms (all timed rounds):")
        print(f"  {'mode':<10}{'unit':<10}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}")
        for mode, units in results["latency_ms"].items():
            for unit, v in units.items():
                print(f"  {mode:<10}{unit:<10}{v['p50']:>8.2f}{v['p95']:>8.2f}{v['p99']:>8.2f}{v['max']:>8.2f}")
    if results.get("statements"):
        print("\nSQL statements per lifecycle (before_cursor_execute on runtime.db, one extra lifecycle):")
        print("  peer: SpiffArena 40 statements to create+run, 63 to load+complete")
        for mode, s in results["statements"].items():
            for unit in ("start", "complete"):
                u = s[unit]
                kinds = ", ".join(f"{k} {v}" for k, v in u["by_kind"].items())
                rt = f", {u['round_trips']} network round trips" if u.get("round_trips") is not None else ""
                print(f"  {mode:<9}{unit:<9} {u['total']:>3} statements ({kinds}); "
                      f"{u['commits']} commit, {u['pre_pings']} pool pre-ping, {u['executemany']} executemany{rt}")
            lc = s["lifecycle"]
            kinds = ", ".join(f"{k} {v}" for k, v in lc["by_kind"].items())
            rt = f", {lc['round_trips']} round trips" if lc.get("round_trips") is not None else ""
            print(f"  {mode:<9}{'total':<9} {lc['total']:>3} statements ({kinds}) + {lc['pre_pings']} pre-pings{rt}")
        first = next(iter(results["statements"].values()))
        print("  statements of one lifecycle (" + next(iter(results["statements"])) + "):")
        for unit in ("start", "complete"):
            for line in first[unit]["statements"]:
                print(f"    {unit:<9}{line}")


def main(argv=None) -> int:
    args = parse_args(argv)

    # SIGTERM behaves like Ctrl+C so the finally blocks drop the PostgreSQL database.
    def _term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored

    import SpiffWorkflow
    import sqlalchemy

    from engine.scripting import make_script_engine
    from engine.settings import Settings

    results: dict = {
        "config": {"n": args.n, "warmup": args.warmup, "repeats": args.repeats, "modes": args.modes,
                   "process": "tests/data/simple.bpmn"},
        "environment": {"python": platform.python_version(), "platform": platform.platform(),
                        "cpus": os.cpu_count(), "sqlalchemy": sqlalchemy.__version__,
                        "spiffworkflow": getattr(SpiffWorkflow, "__version__", "3.2.0"),
                        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
        "goals": {"sqlite_per_s": GOAL_SQLITE, "postgres_per_s": GOAL_POSTGRES, "max_ratio": GOAL_RATIO},
        "modes": {}, "ratios": {}, "latency_ms": {}, "statements": {}, "breakdowns": {}, "profiles": {}, "paired_ratios": {}, "cpu_ratios": {},
        "interrupted": False, "load_avg_1min": [],
    }
    loops: dict = {}
    tmpdir = None
    pg_created = False

    def bench_dir() -> Path:
        nonlocal tmpdir
        if tmpdir is None:
            tmpdir = Path(tempfile.mkdtemp(prefix="petiflow-bench-"))
        return tmpdir

    def create_pg() -> None:
        nonlocal pg_created
        if pg_created:
            return
        pg_created = True
        pg_create(args.pg_url)
        results["environment"]["postgres"] = pg_server_info(args.pg_url)
        results["environment"]["postgres"]["round_trip"] = pg_round_trips(args.pg_url)
    rates: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    try:
        log(f"setting up: {', '.join(args.modes)}")
        restricted = make_script_engine(time_limit=2.0)
        for mode in args.modes:
            if mode == "bare":
                loops[mode] = BareLoop(restricted)
            elif mode == "bare_default":
                loops[mode] = BareLoop(None)
            elif mode == "bare_lean":
                loops[mode] = BareLoop(restricted, lean=True)
            elif mode == "floor_sqlite":
                loops[mode] = StoredBareLoop(restricted, "sqlite", sqlite_path=bench_dir() / "floor.sqlite3")
            elif mode == "floor_postgres":
                create_pg()
                loops[mode] = StoredBareLoop(restricted, "postgres", pg_url=args.pg_url)
            elif mode == "sqlite":
                settings = Settings(database_url=f"sqlite:///{bench_dir() / 'bench.sqlite3'}", var_dir=bench_dir(),
                                    secret_key="bench", load_demo_data=False)
                loops[mode] = EngineLoop(mode, settings)
            elif mode == "postgres":
                create_pg()
                settings = Settings(database_url=args.pg_url, var_dir=Path(tempfile.gettempdir()),
                                    secret_key="bench", load_demo_data=False)
                loops[mode] = EngineLoop(mode, settings)

        for mode, loop in loops.items():
            log(f"  warm-up {mode}: {args.warmup} lifecycles")
            if args.warmup:
                run_round(loop, args.warmup, f"warm-up {mode}")
            if isinstance(loop, EngineLoop):
                results["statements"][mode] = loop.count_statements()

        if not args.profile_only:
            for r in range(1, args.repeats + 1):
                for mode, loop in loops.items():
                    rate, cpu_ms = run_round(loop, args.n, f"round {r} {mode}", record=True)
                    rates[mode].append(rate)
                    cpu[mode].append(cpu_ms)
                    load = os.getloadavg()[0]
                    results["load_avg_1min"].append(round(load, 2))
                    log(f"  round {r}/{args.repeats} {mode:<13} {rate:8.1f} lifecycles/s   (load avg {load:.2f})")

        if args.profile:
            for mode, loop in loops.items():
                if mode in DB_MODES or mode == "bare":
                    if mode in DB_MODES:
                        log(f"  timed breakdown {mode}: {args.profile} lifecycles")
                        results["breakdowns"][mode] = breakdown_loop(loop, args.profile)
                    log(f"  profiling {mode}: {args.profile} lifecycles")
                    results["profiles"][mode] = profile_loop(loop, args.profile, mode)
    except KeyboardInterrupt:
        results["interrupted"] = True
        log("\ninterrupted: reporting the rounds that finished")
    finally:
        for loop in loops.values():
            if isinstance(loop, (EngineLoop, StoredBareLoop)):
                try:
                    loop.close()
                except Exception as exc:  # noqa: BLE001 - keep cleaning up
                    log(f"closing {loop.mode}: {exc}")
        if pg_created:
            try:
                pg_drop(args.pg_url)
                log("dropped the PostgreSQL bench database")
            except Exception as exc:  # noqa: BLE001
                log(f"could not drop the PostgreSQL bench database: {exc}")
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)

    for mode, rs in rates.items():
        if rs:
            results["modes"][mode] = summarize(rs, cpu[mode])
    med = {m: r["median"] for m, r in results["modes"].items()}
    for db in DB_MODES:
        for bare in BARE_MODES:
            if db in med and bare in med:
                name = f"{db}/{bare}" if bare != "bare" else f"{db}/bare"
                results["ratios"][name] = med[bare] / med[db]
    for db, floor in FLOOR_MODES.items():
        if db in med and floor in med:
            results["ratios"][f"{db}/{floor}"] = med[floor] / med[db]
        if floor in med and "bare" in med:
            results["ratios"][f"{floor}/bare"] = med["bare"] / med[floor]
    cpu_med = {m: r["cpu_ms_per_lifecycle"] for m, r in results["modes"].items()}
    for db in DB_MODES:
        if db in cpu_med and "bare" in cpu_med:
            results["cpu_ratios"][f"{db}/bare"] = cpu_med[db] / cpu_med["bare"]
        if db in cpu_med and FLOOR_MODES[db] in cpu_med:
            results["cpu_ratios"][f"{db}/{FLOOR_MODES[db]}"] = cpu_med[db] / cpu_med[FLOOR_MODES[db]]
    if "bare" in med and "bare_default" in med:
        results["ratios"]["bare/bare_default"] = med["bare_default"] / med["bare"]
    # Rounds of different modes run back to back, so a per-round ratio cancels slow phases of
    # the shared machine; reported next to the ratio of medians (the headline number).
    for a, b in (("sqlite", "bare"), ("postgres", "bare"), ("bare", "bare_default"),
                 ("sqlite", "floor_sqlite"), ("postgres", "floor_postgres"),
                 ("floor_postgres", "bare")):
        if rates.get(a) and rates.get(b):
            pairs = [rb / ra for ra, rb in zip(rates[a], rates[b])]
            results["paired_ratios"][f"{a}/{b}"] = {"median": statistics.median(pairs), "rounds": pairs}
    for mode, loop in loops.items():
        if isinstance(loop, EngineLoop) and loop.start_ms:
            results["latency_ms"][mode] = {
                unit: {"p50": pct(v, .5), "p95": pct(v, .95), "p99": pct(v, .99), "max": max(v), "count": len(v)}
                for unit, v in (("start", loop.start_ms), ("complete", loop.complete_ms))}

    report(results)
    for mode, b in results["breakdowns"].items():
        print_breakdown(mode, b)
    for p in results["profiles"].values():
        print_profile(p)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2, default=str))
        log(f"\nwrote {path}")
    return 130 if results["interrupted"] else 0


if __name__ == "__main__":
    sys.exit(main())
