"""Timer machinery on PostgreSQL: how late timers fire, and what a scheduler sweep costs.

    python bench/timers.py [--pending 100000] [--due 1000] [--window 60] [--threads 4]
                           [--repeats 40] [--batch 100] [--json bench/results/timers.json]

1. Sweep cost. With 10,000 and then 100,000 pending timers (cheap rows due between two
   hours and thirty days ahead, all on one dummy instance), the claim transaction of one
   scheduler sweep (connection checkout, BEGIN, the claim UPDATE .. RETURNING, COMMIT) is
   timed 5 x `--repeats` times with nothing due and `--repeats` times with a batch of `--batch` due rows (made
   due before each timed claim and marked done after it, as the workers would); medians
   are reported, and EXPLAIN (ANALYZE, BUFFERS) of the claim at both sizes shows which
   index it walks. The scheduler's "when is the next timer due" probe is timed too.
2. Lateness. `--due` real cases of tests/data/deadline.bpmn (a reply task with an
   interrupting boundary timer at reply_due) are started with reply_due spread evenly over
   `--window` seconds, beside the 100,000 pending rows. Then ONE `dramatiq` worker process
   (handlers.worker_entry, `--threads` threads) and ONE `petiflow scheduler` process run
   them on the real clock. For each timer: lateness of the firing (timers.fired_at - due_at,
   when the worker started firing) and of the step being done (the instance's updated_at,
   written just before commit, - due_at). p50 / p99 / max are reported.

Goals printed beside the results: p99 lateness < 2 s with one worker process; sweep cost
at 100k within 1.5x of 10k. Two fresh databases petiflow_bench_timers_<pid>_{small,big} are
created on the PETIFLOW_BENCH_PG_URL server (claims on both are timed in alternate rounds,
so a drift of the shared machine's load does not pass for a difference) and dropped at
the end; Redis keys live in a namespace of
their own (petiflow-test-bench-<pid>) on REDIS_URL (default redis://127.0.0.1:6379/15) and
are deleted at the end. Ctrl+C (or SIGTERM) stops the processes and cleans up.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS_DIR = ROOT / "bench" / "results"
DEADLINE_BPMN = ROOT / "tests" / "data" / "deadline.bpmn"
DEFAULT_PG_URL = os.environ.get("PETIFLOW_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/petiflow_bench")
DEFAULT_REDIS_URL = os.environ.get("PETIFLOW_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")

#: Goals printed next to the results.
GOAL_P99_LATENESS_S = 2.0
GOAL_SWEEP_RATIO = 1.5

#: Where the claim must walk.
TIMER_INDEX = "ix_timers_status_due_at"


def log(msg: str = "", end: str = "\n") -> None:
    print(msg, end=end, file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


class BenchDb:
    """One bench database: created, migrated, the deadline process deployed, a dummy case for cheap rows."""

    def __init__(self, pg_url: str, suffix: str):
        base = pg_url.rsplit("/", 1)[0]
        self.name = f"petiflow_bench_timers_{os.getpid()}_{suffix}"
        self.url = f"{base}/{self.name}"
        self.admin_url = base.replace("postgresql://", "postgresql+psycopg://") + "/postgres"
        self.runtime = None
        self.dummy = None  # (case_id, instance_id) the cheap rows hang on

    def _admin(self, *statements: str) -> list:
        from sqlalchemy import create_engine, text
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                return [conn.execute(text(s)).all() if s.lower().startswith("show") else conn.execute(text(s))
                        for s in statements]
        finally:
            admin.dispose()

    def create(self) -> str:
        from engine.bootstrap import bootstrap
        from engine.services.cases import StartCase, start_case
        from engine.services.deployment import DeployBundle, deploy_bundle
        from engine.settings import Settings
        from engine.store import migrate
        version = self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)', f'CREATE DATABASE "{self.name}"',
                              "show server_version")[-1][0][0]
        self.runtime = bootstrap(Settings(database_url=self.url, var_dir=Path("/tmp"), secret_key="bench"))
        migrate.upgrade(self.runtime.db)
        with self.runtime.uow() as uow:
            deploy_bundle(DeployBundle({"deadline.bpmn": DEADLINE_BPMN.read_text(encoding="utf-8")}), uow)
            started = start_case(StartCase("petition", process_key="deadline", subject="bench: dummy",
                                           data={"reply_due": "2099-01-01T00:00:00+00:00"}), uow)
            uow.commit()
        self.dummy = (started.case_id, started.instance_id)
        log(f"database {self.name} created and migrated to {migrate.current_revision(self.runtime.db)}")
        return version

    def drop(self) -> None:
        if self.runtime is not None:
            self.runtime.close()
            self.runtime = None
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        log(f"database {self.name} dropped")

    def pending(self) -> int:
        from sqlalchemy import func, select

        from engine.store.schema import timers
        with self.runtime.db.connect() as conn:
            return conn.execute(select(func.count()).select_from(timers).where(timers.c.status == "pending")).scalar_one()

    def add_future_rows(self, n: int) -> None:
        """n cheap pending rows on the dummy instance, due between 2 hours and 30 days ahead."""
        from sqlalchemy import insert

        from engine.store.schema import timers
        now = datetime.now(timezone.utc)
        case_id, instance_id = self.dummy
        rng = random.Random(n)
        done = 0
        while done < n:
            size = min(10_000, n - done)
            rows = [{"kind": "reminder", "instance_id": instance_id, "case_id": case_id, "task_id": None,
                     "due_at": now + timedelta(hours=2, seconds=rng.uniform(0, 30 * 86400)), "status": "pending",
                     "attempts": 0, "created_at": now} for _ in range(size)]
            with self.runtime.db.begin() as conn:
                conn.execute(insert(timers), rows)
            done += size
            log(f"\r  {self.name}: inserting future timers {done:,}/{n:,}", end="")
        log()
        with self.runtime.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE timers")

    # --- one sweep, timed --------------------------------------------------------------------

    def timed_claim(self, batch: int) -> tuple[float, list[int]]:
        """Milliseconds of the claim transaction as a sweep runs it, and what it claimed."""
        from engine.services.timers import ClaimDueTimers, claim_due_timers
        t0 = time.perf_counter()
        with self.runtime.uow() as uow:
            ids = claim_due_timers(ClaimDueTimers("bench", batch), uow)
            uow.commit()
        return (time.perf_counter() - t0) * 1000, ids

    def timed_next_due(self) -> float:
        from engine.queries.timers import next_due_at
        t0 = time.perf_counter()
        with self.runtime.uow(read_only=True) as uow:
            next_due_at(uow)
        return (time.perf_counter() - t0) * 1000

    def make_batch_due(self, batch: int) -> None:
        from sqlalchemy import insert

        from engine.store.schema import timers
        now = datetime.now(timezone.utc)
        case_id, instance_id = self.dummy
        with self.runtime.db.begin() as conn:
            conn.execute(insert(timers), [{
                "kind": "reminder", "instance_id": instance_id, "case_id": case_id,
                "due_at": now - timedelta(seconds=60 - i * 0.1), "status": "pending", "attempts": 0,
                "created_at": now} for i in range(batch)])

    def mark_done(self, ids: list[int]) -> None:
        """What the workers do to claimed rows (outside the timed claim)."""
        from sqlalchemy import update

        from engine.store.schema import timers
        with self.runtime.db.begin() as conn:
            conn.execute(update(timers).where(timers.c.id.in_(ids)).values(
                status="done", fired_at=datetime.now(timezone.utc), lease_owner=None, lease_expires_at=None))

    def explain(self, batch: int) -> str:
        """EXPLAIN (ANALYZE, BUFFERS) of the claim as the scheduler sends it (rolled back)."""
        from engine.services.timers import DEFAULT_LEASE, claim_statement
        stmt = claim_statement("bench-explain", batch, DEFAULT_LEASE, datetime.now(timezone.utc), "postgresql")
        with self.runtime.db.connect() as conn:
            compiled = stmt.compile(dialect=conn.dialect)
            params = {k: compiled.binds[k].type.process_bind_param(v, conn.dialect)
                      if hasattr(compiled.binds[k].type, "process_bind_param") else v
                      for k, v in compiled.params.items()}
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + compiled.string, params).scalars().all()
            conn.rollback()
        return "\n".join(rows)


class Bench:
    """Owns the bench databases, the Redis namespace and the processes; cleans all of them up."""

    def __init__(self, args):
        self.args = args
        self.small = BenchDb(args.pg_url, "small")
        self.big = BenchDb(args.pg_url, "big")
        self.namespace = f"petiflow-test-bench-{os.getpid()}"
        self.procs: list[subprocess.Popen] = []
        self.created: list[BenchDb] = []
        self.results: dict = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                              "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                          "load_before": os.getloadavg()},
                              "settings": {k: v for k, v in vars(args).items() if k != "json"}}

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(10)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait(5)
        self.procs.clear()
        try:
            import redis
            client = redis.Redis.from_url(self.args.redis_url, socket_connect_timeout=2)
            keys = list(client.scan_iter(match=f"{self.namespace}:*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()
        except Exception as exc:  # noqa: BLE001
            log(f"could not delete the Redis keys of {self.namespace}: {exc}")
        for db in self.created:
            if self.args.keep:
                log(f"database {db.name} kept (--keep)")
                if db.runtime is not None:
                    db.runtime.close()
            else:
                db.drop()
        self.created.clear()

    # --- sweep cost ------------------------------------------------------------------------

    def sweep_cost(self) -> None:
        """Claims timed on the 10k and the 100k database in alternate rounds (the machine is
        shared and its load drifts; alternating keeps a drift from passing for a difference)."""
        args = self.args
        dbs = {"sweep_10k": self.small, "sweep_100k": self.big}
        idle = {k: [] for k in dbs}
        busy = {k: [] for k in dbs}
        probe = {k: [] for k in dbs}
        for db in dbs.values():  # warm the pools and the caches
            for _ in range(5):
                db.timed_claim(args.batch)
        for r in range(args.repeats):
            for key, db in dbs.items():
                for _ in range(5):
                    ms, ids = db.timed_claim(args.batch)
                    assert not ids, "something was due in the idle measurement"
                    idle[key].append(ms)
                probe[key].append(db.timed_next_due())
                db.make_batch_due(args.batch)
                ms, ids = db.timed_claim(args.batch)
                assert len(ids) == args.batch, f"claimed {len(ids)} of a batch of {args.batch}"
                busy[key].append(ms)
                db.mark_done(ids)
            log(f"\r  round {r + 1}/{args.repeats}", end="")
        log()
        for key, db in dbs.items():
            plan_idle = db.explain(args.batch)
            db.make_batch_due(args.batch)
            plan_busy = db.explain(args.batch)
            db.mark_done(db.timed_claim(args.batch)[1])
            result = {
                "pending": db.pending(),
                "idle_ms": {"median": statistics.median(idle[key]), "p90": pct(idle[key], 90), "min": min(idle[key])},
                "batch_ms": {"median": statistics.median(busy[key]), "p90": pct(busy[key], 90), "min": min(busy[key])},
                "next_due_probe_ms": {"median": statistics.median(probe[key])},
                "plan_idle": plan_idle, "plan_batch": plan_busy,
                "uses_index": TIMER_INDEX in plan_idle and TIMER_INDEX in plan_busy,
                "seq_scan": "Seq Scan" in plan_idle or "Seq Scan" in plan_busy,
            }
            self.results[key] = result
            log(f"  {result['pending']:,} pending: claim with nothing due {result['idle_ms']['median']:.2f} ms, "
                f"with {args.batch} due {result['batch_ms']['median']:.2f} ms (medians of {len(idle[key])} and "
                f"{len(busy[key])}); next-due probe {result['next_due_probe_ms']['median']:.2f} ms")

    # --- lateness --------------------------------------------------------------------------

    def _env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PETIFLOW_", "DATABASE_URL", "REDIS_URL"))}
        env.update({"DATABASE_URL": self.big.url, "REDIS_URL": self.args.redis_url,
                    "PETIFLOW_REDIS_NAMESPACE": self.namespace, "PETIFLOW_VAR_DIR": "/tmp/petiflow-bench-var",
                    "SECRET_KEY": "bench", "PYTHONPATH": str(ROOT)})
        if self.args.worker_timeout_ms:
            env["dramatiq_worker_timeout"] = str(self.args.worker_timeout_ms)
        return env

    def _spawn(self, argv: list[str], log_name: str) -> subprocess.Popen:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        out = open(RESULTS_DIR / log_name, "wb")
        proc = subprocess.Popen(argv, cwd=ROOT, env=self._env(), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def start_cases(self, n: int, first_due: datetime, window: float) -> list[int]:
        from engine.services.cases import StartCase, start_case
        ids = []
        step = window / n
        for start in range(0, n, 50):
            with self.big.runtime.uow() as uow:
                for i in range(start, min(n, start + 50)):
                    due = first_due + timedelta(seconds=i * step)
                    ids.append(start_case(StartCase("petition", process_key="deadline", subject=f"bench {i}",
                                                    data={"reply_due": due.isoformat()}), uow).instance_id)
                uow.commit()
            log(f"\r  starting cases: {len(ids):,}/{n:,}", end="")
        log()
        return ids

    def lateness(self) -> None:
        from sqlalchemy import func, select

        from engine.store.schema import timers, workflow_instances
        args = self.args
        db = self.big
        # How long does starting a case take here? Due times must come after all are started.
        t0 = time.perf_counter()
        self.start_cases(10, datetime(2099, 1, 1, tzinfo=timezone.utc), 1.0)
        per_case = (time.perf_counter() - t0) / 10
        lead = 8.0 + 1.5 * per_case * args.due
        first_due = datetime.now(timezone.utc) + timedelta(seconds=lead)
        log(f"  {per_case * 1000:.1f} ms per case started: the first of {args.due:,} timers falls due in "
            f"{lead:.0f} s, the last {args.window:g} s later")
        worker = self._spawn([sys.executable, "-m", "dramatiq", "handlers.worker_entry", "--processes", "1",
                              "--threads", str(args.threads)], "timers_worker.log")
        instance_ids = self.start_cases(args.due, first_due, args.window)
        if datetime.now(timezone.utc) > first_due:
            log("  warning: starting the cases took longer than planned; the first timers start late")
        scheduler = self._spawn([str(ROOT / ".venv" / "bin" / "petiflow"), "scheduler"], "timers_scheduler.log")
        pending = db.pending()
        log(f"  pending now: {pending:,}")
        deadline = first_due + timedelta(seconds=args.window + 120)
        last_due = first_due + timedelta(seconds=args.window)
        with db.runtime.db.connect() as conn:
            while True:
                done = conn.execute(select(func.count()).select_from(timers).where(
                    timers.c.instance_id.in_(instance_ids), timers.c.status == "done")).scalar_one()
                conn.rollback()
                now = datetime.now(timezone.utc)
                to_go = (first_due - now).total_seconds()
                state = f"first due in {to_go:.0f} s" if to_go > 0 else f"{done:,}/{args.due:,} fired"
                log(f"\r  {state}    ", end="")
                if done >= args.due or now > deadline:
                    break
                for proc, name in ((worker, "worker"), (scheduler, "scheduler")):
                    if proc.poll() is not None:
                        raise SystemExit(f"the {name} exited with {proc.returncode}; see bench/results/timers_{name}.log")
                time.sleep(0.5 if now < last_due else 0.2)
        log()
        with db.runtime.db.connect() as conn:
            rows = conn.execute(
                select(timers.c.due_at, timers.c.fired_at, timers.c.status, timers.c.attempts,
                       workflow_instances.c.updated_at)
                .join(workflow_instances, workflow_instances.c.id == timers.c.instance_id)
                .where(timers.c.instance_id.in_(instance_ids))).all()
        fired = sorted((r for r in rows if r.status == "done"), key=lambda r: r.due_at)
        fire_late = [(r.fired_at - r.due_at).total_seconds() for r in fired]
        done_late = [(r.updated_at - r.due_at).total_seconds() for r in fired]
        result = {
            "timers": len(rows), "fired": len(fired), "pending_beside": pending - len(rows),
            "claimed_more_than_once": sum(r.attempts > 1 for r in fired),
            "fired_lateness_s": {"p50": pct(fire_late, 50), "p99": pct(fire_late, 99), "max": max(fire_late, default=0),
                                 "min": min(fire_late, default=0)},
            "done_lateness_s": {"p50": pct(done_late, 50), "p99": pct(done_late, 99), "max": max(done_late, default=0)},
            # The latest ones: seconds after the first due time, lateness to firing, to done.
            "worst": sorted(([round((r.due_at - first_due).total_seconds(), 3),
                              round((r.fired_at - r.due_at).total_seconds(), 3),
                              round((r.updated_at - r.due_at).total_seconds(), 3)] for r in fired),
                            key=lambda w: -w[2])[:15],
        }
        self.results["lateness"] = result
        log(f"  fired {len(fired):,}/{len(rows):,}; lateness to the step done p50 {result['done_lateness_s']['p50']:.3f} s,"
            f" p99 {result['done_lateness_s']['p99']:.3f} s, max {result['done_lateness_s']['max']:.3f} s")

    # --- the whole run ---------------------------------------------------------------------

    def run(self) -> dict:
        args = self.args
        log("== set-up")
        for db in (self.small, self.big):
            self.created.append(db)
            self.results["machine"]["postgres"] = db.create()
        self.small.add_future_rows(min(10_000, args.pending) - self.small.pending())
        # The big database ends with `pending` timers once the lateness run adds its cases.
        self.big.add_future_rows(args.pending - args.due - 10 - self.big.pending())
        log("== sweep cost (10k and 100k in alternate rounds)")
        self.sweep_cost()
        log("== lateness")
        self.lateness()
        self.results["machine"]["load_after"] = os.getloadavg()
        return self.results


def report(results: dict) -> str:
    small, big, late = results["sweep_10k"], results["sweep_100k"], results["lateness"]
    ratio_idle = big["idle_ms"]["median"] / small["idle_ms"]["median"]
    ratio_busy = big["batch_ms"]["median"] / small["batch_ms"]["median"]
    p99 = late["done_lateness_s"]["p99"]
    ok = lambda good: "OK  " if good else "MISS"  # noqa: E731
    lines = [
        "",
        f"{'measure':<52}{'result':>14}   goal",
        "-" * 84,
        f"{'timers fired (of due)':<52}{late['fired']:>8,}/{late['timers']:<5,}",
        f"{'lateness to firing started  p50 / p99 (s)':<52}{late['fired_lateness_s']['p50']:>6.3f} / {late['fired_lateness_s']['p99']:<6.3f}",
        f"{'lateness to step done       p50 / p99 (s)':<52}{late['done_lateness_s']['p50']:>6.3f} / {p99:<6.3f}"
        f"   {ok(p99 < GOAL_P99_LATENESS_S)} p99 < {GOAL_P99_LATENESS_S:g} s (one worker process)",
        f"{'lateness max (s)':<52}{late['done_lateness_s']['max']:>14.3f}",
        f"{'claim, nothing due: %sk / %sk pending (ms)' % (small['pending'] // 1000, big['pending'] // 1000):<52}"
        f"{small['idle_ms']['median']:>6.2f} / {big['idle_ms']['median']:<6.2f}"
        f"   {ok(ratio_idle <= GOAL_SWEEP_RATIO)} ratio {ratio_idle:.2f} <= {GOAL_SWEEP_RATIO}",
        f"{'claim, a batch of %d due (ms)' % results['settings']['batch']:<52}"
        f"{small['batch_ms']['median']:>6.2f} / {big['batch_ms']['median']:<6.2f}"
        f"   {ok(ratio_busy <= GOAL_SWEEP_RATIO)} ratio {ratio_busy:.2f} <= {GOAL_SWEEP_RATIO}",
        f"{'next-due probe after a sweep (ms)':<52}{small['next_due_probe_ms']['median']:>6.2f} / "
        f"{big['next_due_probe_ms']['median']:<6.2f}",
        f"{'claim walks %s at both sizes' % TIMER_INDEX:<52}{str(small['uses_index'] and big['uses_index']):>14}",
    ]
    for key, label in (("sweep_10k", "10k"), ("sweep_100k", "100k")):
        for kind in ("plan_idle", "plan_batch"):
            lines += ["", f"EXPLAIN (ANALYZE, BUFFERS) of the claim at {label}, "
                          f"{'nothing due' if kind == 'plan_idle' else 'a batch due'}:", results[key][kind]]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pending", type=int, default=100_000, help="pending timers in the big run")
    parser.add_argument("--due", type=int, default=1_000, help="real cases whose timers fall due")
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which they fall due")
    parser.add_argument("--threads", type=int, default=4, help="threads of the one worker process")
    parser.add_argument("--batch", type=int, default=100, help="timers per claim")
    parser.add_argument("--repeats", type=int, default=40, help="timed claims per measurement")
    parser.add_argument("--worker-timeout-ms", type=int, default=None,
                        help="dramatiq_worker_timeout for the worker (how long an idle consumer sleeps at most)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--json", default=str(RESULTS_DIR / "timers.json"))
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)

    def stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    bench = Bench(args)
    try:
        results = bench.run()
    except KeyboardInterrupt:
        log("\ninterrupted: cleaning up")
        return 130
    finally:
        bench.cleanup()
    text = report(results)
    print(text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    (Path(args.json).with_suffix(".txt")).write_text(text + "\n")
    log(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
