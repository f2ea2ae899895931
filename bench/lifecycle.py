"""Case lifecycle throughput: petiflow's services on SQLite and PostgreSQL against bare SpiffWorkflow.

One lifecycle of the small process (tests/data/simple.bpmn: start -> script -> user task -> end):

* sqlite / postgres: start_case in one unit of work (committed), then complete_work_item on
  its one work item in a second unit of work (committed), through the engine services, no HTTP.
* bare: SpiffWorkflow in memory, the spec parsed once; per lifecycle create the workflow, set
  the start data, do_engine_steps, serialize_json, deserialize_json, complete the user task,
  do_engine_steps, serialize_json. Run with our restricted script engine ("bare") and with
  SpiffWorkflow's default engine ("bare_default", for reference only). "bare_lean" is the same
  loop through engine.state.dump/load (instance state without the spec, restored onto the
  cached spec objects), i.e. exactly the library work our layer does, with no database.

Rounds are interleaved mode by mode (bare, ..., sqlite, postgres, bare, ...) because the machine
is shared and noisy; medians and min/max over rounds are reported, ratios from medians.

    python bench/lifecycle.py [--n 1000] [--warmup 100] [--repeats 5]
                              [--only sqlite,postgres,bare] [--json bench/results/lifecycle.json]
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
import cProfile
import gc
import json
import os
import platform
import pstats
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIMPLE_BPMN = ROOT / "tests" / "data" / "simple.bpmn"
PROCESS_KEY = "simple"
RESULTS_DIR = ROOT / "bench" / "results"

#: Goals printed next to the results.
GOAL_SQLITE = 250.0
GOAL_POSTGRES = 150.0
GOAL_RATIO = 3.0

#: Start data of a case as start_case builds it, and the form data of the reply.
CHANNEL = "1999"
REPLY = {"reply": "Thank you, the pothole is scheduled for repair."}

DEFAULT_PG_URL = os.environ.get("PETIFLOW_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/petiflow_bench")

BARE_MODES = ("bare", "bare_default", "bare_lean")
DB_MODES = ("sqlite", "postgres")


def log(msg: str = "", end: str = "\n") -> None:
    print(msg, end=end, file=sys.stderr, flush=True)


def _wait_for_scripting() -> None:
    if not ((ROOT / "engine" / "scripting.py").exists() or (ROOT / "engine" / "scripting" / "__init__.py").exists()):
        sys.exit("engine.scripting does not exist yet (engine.bootstrap imports it); try again later")


# --------------------------------------------------------------------------------------------
# Bare SpiffWorkflow
# --------------------------------------------------------------------------------------------

class BareLoop:
    """The same lifecycle on SpiffWorkflow alone, in memory, one save/restore per step."""

    def __init__(self, script_engine, *, lean: bool = False):
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
        from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

        parser = SpiffBpmnParser(validator=VALIDATOR)
        parser.add_bpmn_str(SIMPLE_BPMN.read_bytes(), filename=SIMPLE_BPMN.name)
        self.spec = parser.get_spec(PROCESS_KEY)
        self.subprocess_specs = parser.get_subprocess_specs(PROCESS_KEY)
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        self.script_engine = script_engine  # None: SpiffWorkflow's default engine
        self.lean = lean
        self.i = 0

    def _save(self, workflow) -> str:
        if self.lean:
            from engine import state
            return state.dump(workflow)
        return self.serializer.serialize_json(workflow)

    def _restore(self, text: str):
        if self.lean:
            from engine import state
            return state.load(text, self.spec, self.subprocess_specs, self.script_engine)
        workflow = self.serializer.deserialize_json(text)
        if self.script_engine is not None:
            workflow.script_engine = self.script_engine  # not serialized; would fall back to the default
        return workflow

    def lifecycle(self) -> None:
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState

        self.i += 1
        if self.script_engine is None:
            workflow = BpmnWorkflow(self.spec, self.subprocess_specs)
        else:
            workflow = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=self.script_engine)
        start = workflow.get_next_task(state=TaskState.READY)
        start.data.update({"case_id": self.i, "case_no": f"P20261126{self.i:06d}", "case_type": "petition",
                           "channel": CHANNEL, "category": None, "district": None})
        workflow.do_engine_steps()
        text = self._save(workflow)
        workflow = self._restore(text)
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        task.set_data(**REPLY)
        task.run()
        workflow.do_engine_steps()
        self._save(workflow)
        assert workflow.is_completed()


# --------------------------------------------------------------------------------------------
# The engine on a database
# --------------------------------------------------------------------------------------------

class StatementCounter:
    """Counts what the engine sends through SQLAlchemy (and pool pre-pings, commits) while on."""

    def __init__(self, db):
        from sqlalchemy import event
        self.on = False
        self.statements: list[tuple[str, str, bool]] = []  # (kind, sql, executemany)
        self.commits = 0
        self.pings = 0
        self.checkouts = 0

        @event.listens_for(db, "before_cursor_execute")
        def _count(conn, cursor, statement, parameters, context, executemany):
            if self.on:
                kind = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
                self.statements.append((kind, " ".join(statement.split()), executemany))

        @event.listens_for(db, "commit")
        def _commit(conn):
            if self.on:
                self.commits += 1

        @event.listens_for(db.pool, "checkout")
        def _checkout(dbapi_conn, record, proxy):
            if self.on:
                self.checkouts += 1

        dialect = db.dialect
        original_ping = dialect.do_ping

        def counting_ping(dbapi_connection):  # pool_pre_ping round trips bypass cursor events
            if self.on:
                self.pings += 1
            return original_ping(dbapi_connection)

        dialect.do_ping = counting_ping

        # On PostgreSQL count network round trips too. psycopg runs every exchange through
        # Connection.wait; some of those generators never reach the server (autocommit
        # switches around the pre-ping, entering a pipeline, a rollback of an idle
        # connection), one hides an extra BEGIN, and an executemany pipeline gets its
        # answers at its Sync. Checked against strace (sendto/recvfrom) for one lifecycle.
        self.round_trips = None
        if db.dialect.name == "postgresql":
            import psycopg
            from psycopg.pq import TransactionStatus
            self.round_trips = 0
            original_wait = psycopg.Connection.wait
            counter = self

            def counting_wait(conn_self, gen, *a, **kw):
                if counter.on:
                    name = getattr(gen, "__name__", "")
                    idle = conn_self.pgconn.transaction_status == TransactionStatus.IDLE
                    if name in ("_set_autocommit_gen", "_enter_gen", "_executemany_gen_pipeline"):
                        pass
                    elif name == "_rollback_gen":
                        counter.round_trips += 0 if idle else 1
                    elif name == "_execute_gen" and idle and not conn_self.autocommit:
                        counter.round_trips += 2  # psycopg sends BEGIN first, then the statement
                    else:
                        counter.round_trips += 1
                return original_wait(conn_self, gen, *a, **kw)

            psycopg.Connection.wait = counting_wait  # bench process only

    def reset(self) -> None:
        self.statements.clear()
        self.commits = self.pings = self.checkouts = 0
        if self.round_trips is not None:
            self.round_trips = 0

    def summary(self) -> dict:
        kinds = Counter(kind for kind, _, _ in self.statements)
        return {"total": len(self.statements), "by_kind": dict(sorted(kinds.items())),
                "executemany": sum(1 for *_, many in self.statements if many),
                "commits": self.commits, "pool_checkouts": self.checkouts, "pre_pings": self.pings,
                "round_trips": self.round_trips,
                "statements": [f"{kind:<6} {'[many] ' if many else ''}{sql[:150]}"
                               for kind, sql, many in self.statements]}


class EngineLoop:
    """petiflow's services on one database: start a case, complete its work item, two commits."""

    def __init__(self, mode: str, settings):
        from engine import migrate
        from engine.bootstrap import bootstrap
        from engine.services.deployment import DeployBundle, deploy_bundle

        self.mode = mode
        self.runtime = bootstrap(settings)
        migrate.upgrade(self.runtime.db)
        with self.runtime.uow() as uow:
            deploy_bundle(DeployBundle({SIMPLE_BPMN.name: SIMPLE_BPMN.read_text(encoding="utf-8")}), uow)
            uow.commit()
        self.counter = StatementCounter(self.runtime.db)
        self.start_ms: list[float] = []
        self.complete_ms: list[float] = []
        self.record = False

    def lifecycle(self) -> None:
        from engine.identity import SYSTEM
        from engine.services.cases import StartCase, start_case
        from engine.services.work import CompleteWorkItem, complete_work_item

        rt = self.runtime
        t0 = time.perf_counter()
        with rt.uow() as uow:
            started = start_case(StartCase("petition", process_key=PROCESS_KEY, channel=CHANNEL), uow)
            uow.commit()
        t1 = time.perf_counter()
        with rt.uow() as uow:
            done = complete_work_item(CompleteWorkItem(started.work_item_ids[0], REPLY, SYSTEM), uow)
            uow.commit()
        t2 = time.perf_counter()
        if self.record:
            self.start_ms.append((t1 - t0) * 1000)
            self.complete_ms.append((t2 - t1) * 1000)
        assert done.status == "completed", done

    def count_statements(self) -> dict:
        """Run one extra lifecycle with the statement counter on, per unit of work."""
        from engine.identity import SYSTEM
        from engine.services.cases import StartCase, start_case
        from engine.services.work import CompleteWorkItem, complete_work_item

        rt, c = self.runtime, self.counter
        out = {}
        c.reset()
        c.on = True
        try:
            with rt.uow() as uow:
                started = start_case(StartCase("petition", process_key=PROCESS_KEY, channel=CHANNEL), uow)
                uow.commit()
            out["start"] = c.summary()
            c.reset()
            with rt.uow() as uow:
                complete_work_item(CompleteWorkItem(started.work_item_ids[0], REPLY, SYSTEM), uow)
                uow.commit()
            out["complete"] = c.summary()
        finally:
            c.on = False
            c.reset()
        by_kind = Counter(out["start"]["by_kind"]) + Counter(out["complete"]["by_kind"])
        out["lifecycle"] = {"total": out["start"]["total"] + out["complete"]["total"],
                            "by_kind": dict(sorted(by_kind.items())),
                            "pre_pings": out["start"]["pre_pings"] + out["complete"]["pre_pings"],
                            "round_trips": (None if out["start"]["round_trips"] is None else
                                            out["start"]["round_trips"] + out["complete"]["round_trips"])}
        return out

    def close(self) -> None:
        self.runtime.close()


def _pg_admin(url: str):
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    parsed = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = parsed.set(database="postgres")
    return create_engine(admin, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}), parsed.database


def pg_create(url: str) -> None:
    from sqlalchemy import text
    engine, name = _pg_admin(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


def pg_drop(url: str) -> None:
    from sqlalchemy import text
    engine, name = _pg_admin(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def pg_server_info(url: str) -> dict:
    from sqlalchemy import text
    engine, _ = _pg_admin(url)
    try:
        with engine.connect() as conn:
            info = {"server_version": conn.execute(text("SHOW server_version")).scalar()}
            for setting in ("synchronous_commit", "fsync", "shared_buffers"):
                info[setting] = conn.execute(text(f"SHOW {setting}")).scalar()
            return info
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------------
# Profiling
# --------------------------------------------------------------------------------------------

_OUR_ENGINE = (ROOT / "engine").as_posix() + "/"
_OUR_BENCH = (ROOT / "bench").as_posix() + "/"


def _category(filename: str, funcname: str) -> str:
    f = filename.replace("\\", "/")
    if f.startswith(_OUR_BENCH):
        return "bench harness"
    if f.startswith(_OUR_ENGINE + "scripting") or "RestrictedPython" in f:
        return "script engine (ours + RestrictedPython)"
    if f.startswith(_OUR_ENGINE):
        return "petiflow engine code"
    if "SpiffWorkflow/bpmn/script_engine" in f:
        return "script engine (SpiffWorkflow side)"
    if "SpiffWorkflow" in f and "serializer" in f:
        return "SpiffWorkflow serializer"
    if "SpiffWorkflow" in f:
        return "SpiffWorkflow run (tasks, specs)"
    if "/sqlalchemy/" in f:
        return "SQLAlchemy"
    if "/alembic/" in f:
        return "alembic"
    if "psycopg" in f or "psycopg" in funcname or "/selectors.py" in f:
        return "DB driver / network (psycopg)"
    if "sqlite3" in funcname or "/sqlite3/" in f:
        return "DB driver (sqlite3, incl. fsync/locks)"
    if "/json/" in f or "_json" in funcname or "json.encoder" in funcname:
        return "JSON (stdlib)"
    if f.endswith("/copy.py"):
        return "copy.deepcopy (stdlib)"
    if f.endswith("/ast.py") or funcname in ("<built-in method builtins.compile>",
                                             "<built-in method builtins.exec>",
                                             "<built-in method builtins.eval>"):
        return "script engine (compile/exec builtins, ast)"
    if f.endswith("/uuid.py") or "posix.urandom" in funcname:
        return "uuid"
    if "/lxml/" in f or "lxml" in funcname:
        return "lxml"
    if f == "~":
        return "other builtins"
    return "other stdlib"


#: (label, filename fragment, function name) whose cumulative time per lifecycle we print.
KEY_FUNCTIONS = [
    ("start_case (service)", "engine/services/cases.py", "start_case"),
    ("complete_work_item (service)", "engine/services/work.py", "complete_work_item"),
    ("UnitOfWork.__enter__ (connect+begin)", "engine/uow.py", "__enter__"),
    ("UnitOfWork.commit", "engine/uow.py", "commit"),
    ("UnitOfWork.__exit__ (close, reset)", "engine/uow.py", "__exit__"),
    ("runner.start (create + run to wait)", "engine/runner.py", "start"),
    ("runner.complete (task.run + run on)", "engine/runner.py", "complete"),
    ("runner.run_steps (refresh_timers + do_engine_steps)", "engine/runner.py", "run_steps"),
    ("runner.inspect (ready tasks + timers)", "engine/runner.py", "inspect"),
    ("state.dump (serialize, no spec)", "engine/state.py", "dump"),
    ("state.load (restore onto cached spec)", "engine/state.py", "load"),
    ("instances.persist_step", "engine/instances.py", "persist_step"),
    ("instances._sync_work_items", "engine/instances.py", "_sync_work_items"),
    ("SpecCache.latest_id", "engine/specs.py", "latest_id"),
    ("SQLAlchemy Connection.execute (all)", "sqlalchemy/engine/base.py", "execute"),
    ("SQLAlchemy _execute_context", "sqlalchemy/engine/base.py", "_execute_context"),
    ("SQLAlchemy compile / cache lookup", "sqlalchemy/sql/elements.py", "_compile_w_cache"),
    ("DBAPI cursor.execute (do_execute)", "sqlalchemy/engine/default.py", "do_execute"),
    ("DBAPI executemany (do_executemany)", "sqlalchemy/engine/default.py", "do_executemany"),
    ("result rows (fetch/processors)", "sqlalchemy/engine/result.py", "one_or_none"),
    ("BpmnWorkflow.do_engine_steps", "SpiffWorkflow/bpmn/workflow.py", "do_engine_steps"),
    ("BpmnWorkflow.refresh_timers", "SpiffWorkflow/bpmn/workflow.py", "refresh_timers"),
    ("BpmnWorkflow.__init__", "SpiffWorkflow/bpmn/workflow.py", "__init__"),
    ("script engine execute (Spiff PythonScriptEngine)", "SpiffWorkflow/bpmn/script_engine/python_engine.py", "execute"),
    ("script engine environment execute", "SpiffWorkflow/bpmn/script_engine/python_environment.py", "execute"),
    ("json.dumps", "json/__init__.py", "dumps"),
    ("json.loads", "json/__init__.py", "loads"),
    ("copy.deepcopy", "copy.py", "deepcopy"),
]


def _matches(filename: str, fragment: str) -> bool:
    f = filename.replace("\\", "/")
    if fragment.startswith("engine/"):
        return f == (ROOT / fragment).as_posix()
    return f.endswith("/" + fragment)


def _function_time(stats: dict, fragment: str, funcname: str) -> tuple[float, int]:
    """Cumulative seconds and calls of a function, counting only outermost calls (no recursion)."""
    ct, calls = 0.0, 0
    for (filename, _line, name), (cc, nc, tt, cum, callers) in stats.items():
        if name == funcname and _matches(filename, fragment):
            ct += cum
            calls += cc
    return ct, calls


def _also_scripting(stats: dict) -> list[tuple[str, float, int]]:
    """engine.scripting functions (over 0.2% of the time), so the restricted engine shows up."""
    out = []
    total = sum(v[2] for v in stats.values())
    for (filename, line, name), (cc, nc, tt, cum, callers) in stats.items():
        f = filename.replace("\\", "/")
        if f.startswith(_OUR_ENGINE + "scripting") and cum / max(1, total) > 0.002:
            out.append((f"{f[len(_OUR_ENGINE):]}:{line}({name})", cum, nc))
    return sorted(out, key=lambda r: -r[1])


_DRIVER_CALLERS = {"do_execute", "do_executemany", "do_commit", "do_rollback", "do_ping", "do_close",
                   "_do_ping_w_event", "create_cursor", "_rollback_impl", "_commit_impl"}


def _pyinstrument_breakdown(loop, n: int) -> dict:
    """Wall-clock self time by library and cumulative time of key functions, sampled (low overhead)."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    gc.collect()
    t0 = time.perf_counter()
    profiler.start()
    try:
        for _ in range(n):
            loop.lifecycle()
    finally:
        profiler.stop()
    wall = time.perf_counter() - t0
    root = profiler.last_session.root_frame(trim_stem=False)
    by_cat: dict[str, float] = defaultdict(float)
    by_func: dict[str, float] = defaultdict(float)
    key_time: dict[str, float] = defaultdict(float)

    def visit(frame, parent_cat: str, parent_fn: str, active: frozenset):
        if frame.is_synthetic:
            return
        path = frame.file_path or ""
        fn = frame.function or "?"
        if path.startswith("<built-in") or path == "":
            cat = ("DB driver (sqlite3, incl. fsync/locks)" if parent_fn in _DRIVER_CALLERS
                   and parent_cat == "SQLAlchemy" else parent_cat)
            label = f"{fn} [builtin, in {parent_cat}]"
        else:
            cat = _category(path, fn)
            label = f"{Path(path).name}:{frame.line_no}({fn})"
        by_cat[cat] += frame.total_self_time
        by_func[label] += frame.total_self_time
        now_active = active
        for lbl, frag, kfn in KEY_FUNCTIONS:
            if kfn == fn and _matches(path, frag) and lbl not in active:
                key_time[lbl] += frame.time
                now_active = now_active | {lbl}
        for child in frame.children:
            visit(child, cat, fn, now_active)

    if root is not None:
        visit(root, "bench harness", "", frozenset())
    total = sum(by_cat.values()) or 1.0
    return {
        "wall_ms_per_lifecycle": wall / n * 1000,
        "categories_ms": {k: v / n * 1000 for k, v in sorted(by_cat.items(), key=lambda kv: -kv[1])},
        "categories_pct": {k: 100 * v / total for k, v in by_cat.items()},
        "key_ms": {k: v / n * 1000 for k, v in key_time.items()},
        "top_self": [{"function": k, "ms_per_lifecycle": v / n * 1000}
                     for k, v in sorted(by_func.items(), key=lambda kv: -kv[1])[:30]],
    }


def profile_loop(loop, n: int, label: str) -> dict:
    """pyinstrument (sampling, wall clock) for where time goes; cProfile for exact call counts."""
    try:
        sampled = _pyinstrument_breakdown(loop, n)
    except ImportError:
        sampled = None
        log("    pyinstrument is not installed: cProfile only (pip install pyinstrument into the venv)")
    gc.collect()
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    try:
        for _ in range(n):
            loop.lifecycle()
    finally:
        profiler.disable()
    wall = time.perf_counter() - t0
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    prof_path = RESULTS_DIR / f"lifecycle_{label}.prof"
    profiler.dump_stats(str(prof_path))
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total_tt = sum(v[2] for v in stats.values())
    by_cat: dict[str, float] = defaultdict(float)
    for (filename, _line, name), (cc, nc, tt, cum, callers) in stats.items():
        cat = _category(filename, name)
        if filename == "~" and cat == "other builtins" and callers:
            # a builtin's time belongs to whoever called it (dict.get in SpiffWorkflow is SpiffWorkflow)
            for (cfile, _cl, cname), ctimes in callers.items():
                ccat = _category(cfile, cname)
                if ccat == "SQLAlchemy" and cname in _DRIVER_CALLERS:
                    ccat = "DB driver (sqlite3, incl. fsync/locks)"
                by_cat[ccat] += ctimes[2]
            continue
        by_cat[cat] += tt
    key = []
    for lbl, frag, fn in KEY_FUNCTIONS:
        ct, calls = _function_time(stats, frag, fn)
        if calls:
            key.append({"function": lbl, "cprofile_ms_per_lifecycle": ct / n * 1000, "calls_per_lifecycle": calls / n,
                        "sampled_ms_per_lifecycle": (sampled or {}).get("key_ms", {}).get(lbl)})
    for lbl, ct, calls in _also_scripting(stats):
        key.append({"function": lbl, "cprofile_ms_per_lifecycle": ct / n * 1000, "calls_per_lifecycle": calls / n,
                    "sampled_ms_per_lifecycle": None})
    top_tt = sorted(stats.items(), key=lambda kv: -kv[1][2])[:25]
    return {
        "label": label, "n": n, "cprofile_ms_per_lifecycle": wall / n * 1000,
        "prof_file": str(prof_path.relative_to(ROOT)),
        "sampled": sampled,
        "cprofile_categories_ms": {k: v / n * 1000 for k, v in sorted(by_cat.items(), key=lambda kv: -kv[1])},
        "cprofile_categories_pct": {k: 100 * v / total_tt for k, v in by_cat.items()},
        "key_functions": key,
        "cprofile_top_self": [{"function": (f"{Path(f).name}:{line}({name})" if f != "~" else name),
                               "ms_per_lifecycle": v[2] / n * 1000, "calls_per_lifecycle": v[1] / n}
                              for (f, line, name), v in top_tt],
    }


def print_profile(p: dict) -> None:
    sampled = p.get("sampled")
    print(f"\n== profile: {p['label']} ({p['n']} lifecycles per profiler; cProfile run "
          f"{p['cprofile_ms_per_lifecycle']:.2f} ms each"
          + (f", pyinstrument run {sampled['wall_ms_per_lifecycle']:.2f} ms each" if sampled else "")
          + f"; {p['prof_file']})")
    if sampled:
        print("  wall-clock self time by library (pyinstrument, sampled every 0.5 ms):")
        for k, ms in sampled["categories_ms"].items():
            if sampled["categories_pct"][k] >= 0.5:
                print(f"    {k:<45} {ms:7.3f} ms  {sampled['categories_pct'][k]:5.1f}%")
    print("  self time by library (cProfile; inflates Python-heavy code):")
    for k, ms in p["cprofile_categories_ms"].items():
        if p["cprofile_categories_pct"][k] >= 0.5:
            print(f"    {k:<45} {ms:7.3f} ms  {p['cprofile_categories_pct'][k]:5.1f}%")
    print(f"  key functions, per lifecycle: {'sampled ms':>10} {'cProfile ms':>11} {'calls':>6}")
    for row in p["key_functions"]:
        sm = row["sampled_ms_per_lifecycle"]
        print(f"    {row['function'][:55]:<55} {'' if sm is None else f'{sm:.3f}':>10} "
              f"{row['cprofile_ms_per_lifecycle']:>11.3f} {row['calls_per_lifecycle']:>6.1f}")
    if sampled:
        print("  top wall-clock self time (pyinstrument):")
        for row in sampled["top_self"][:20]:
            print(f"    {row['function'][:85]:<85} {row['ms_per_lifecycle']:7.3f} ms")
    print("  top self time (cProfile):")
    for row in p["cprofile_top_self"][:15]:
        print(f"    {row['function'][:85]:<85} {row['ms_per_lifecycle']:7.3f} ms {row['calls_per_lifecycle']:7.1f} calls")


class Breakdown:
    """Exclusive wall time per layer, measured with perf_counter around the layers (no profiler).

    Wraps runner/state functions and UnitOfWork methods (module attributes, this process only)
    and listens to SQLAlchemy execute/cursor events. Time is charged to the innermost layer
    running; what no layer claims is "our service code + building statements".
    """

    LAYERS = {
        "runner.start": "SpiffWorkflow: create + run steps", "runner.complete": "SpiffWorkflow: complete + run steps",
        "runner.ready_manual_tasks": "our tree walks (ready tasks, timers)",
        "runner.waiting_timers": "our tree walks (ready tasks, timers)",
        "state.dump": "state.dump (serialize)", "state.load": "state.load (restore)",
    }

    def __init__(self, loop):
        self.loop = loop
        self.totals: dict[str, float] = defaultdict(float)
        self.stack: list[list] = []  # [layer, started, children time]
        self._undo = []

    def _push(self, layer):
        self.stack.append([layer, time.perf_counter(), 0.0])

    def _pop(self):
        layer, started, children = self.stack.pop()
        elapsed = time.perf_counter() - started
        self.totals[layer] += elapsed - children
        if self.stack:
            self.stack[-1][2] += elapsed

    def _wrap(self, obj, attr, layer):
        original = getattr(obj, attr)

        def wrapper(*a, **kw):
            self._push(layer)
            try:
                return original(*a, **kw)
            finally:
                self._pop()

        setattr(obj, attr, wrapper)
        self._undo.append(lambda: setattr(obj, attr, original))

    def __enter__(self):
        from sqlalchemy import event
        from engine import runner, state
        from engine.uow import UnitOfWork

        for name, layer in self.LAYERS.items():
            module, attr = name.split(".")
            self._wrap({"runner": runner, "state": state}[module], attr, layer)
        self._wrap(UnitOfWork, "__enter__", "unit of work: connect, begin")
        self._wrap(UnitOfWork, "commit", "commit")
        self._wrap(UnitOfWork, "__exit__", "unit of work: close, return to pool")
        db = self.loop.runtime.db
        self._wrap(db.dialect, "do_ping", "pool pre-ping")
        self._wrap(db.dialect, "do_commit", "commit")

        def before_execute(*a, **kw):
            self._push("SQLAlchemy execute (compile, params, result)")

        def after_execute(*a, **kw):
            self._pop()

        def before_cursor(*a, **kw):
            self._push("DBAPI: driver + server")

        def after_cursor(*a, **kw):
            self._pop()

        hooks = [("before_execute", before_execute), ("after_execute", after_execute),
                 ("before_cursor_execute", before_cursor), ("after_cursor_execute", after_cursor)]
        for name, fn in hooks:
            event.listen(db, name, fn)
            self._undo.append(lambda name=name, fn=fn: event.remove(db, name, fn))
        return self

    def __exit__(self, *exc):
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()

    def run(self, n: int) -> dict:
        gc.collect()
        self._push("our service code + building statements")
        t0 = time.perf_counter()
        for _ in range(n):
            self.loop.lifecycle()
        wall = time.perf_counter() - t0
        self._pop()
        out = {k: v / n * 1000 for k, v in sorted(self.totals.items(), key=lambda kv: -kv[1])}
        return {"n": n, "wall_ms_per_lifecycle": wall / n * 1000, "layers_ms": out}


def breakdown_loop(loop, n: int) -> dict:
    with Breakdown(loop) as b:
        return b.run(n)


def print_breakdown(mode: str, b: dict) -> None:
    print(f"\n== timed breakdown: {mode} ({b['n']} lifecycles, {b['wall_ms_per_lifecycle']:.2f} ms each, "
          f"perf_counter around each layer, no profiler; exclusive time)")
    for layer, ms in b["layers_ms"].items():
        print(f"    {layer:<50} {ms:7.3f} ms  {100 * ms / b['wall_ms_per_lifecycle']:5.1f}%")


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------

def run_round(loop, n: int, label: str, record: bool = False) -> float:
    """Run n lifecycles, return lifecycles per second."""
    gc.collect()
    if hasattr(loop, "record"):
        loop.record = record
    step = max(1, n // 10)
    interactive = sys.stderr.isatty()
    t0 = time.perf_counter()
    for i in range(n):
        loop.lifecycle()
        if interactive and (i + 1) % step == 0:
            log(f"\r    {label}: {i + 1}/{n}", end="")
    elapsed = time.perf_counter() - t0
    if interactive:
        log("\r", end="")
    if hasattr(loop, "record"):
        loop.record = False
    return n / elapsed


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summarize(rates: list[float]) -> dict:
    return {"median": statistics.median(rates), "min": min(rates), "max": max(rates), "rounds": rates,
            "ms_per_lifecycle": 1000 / statistics.median(rates)}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="lifecycles per round and mode")
    ap.add_argument("--warmup", type=int, default=100, help="warm-up lifecycles per mode")
    ap.add_argument("--repeats", type=int, default=5, help="rounds per mode")
    ap.add_argument("--only", default="sqlite,postgres,bare",
                    help="comma list of sqlite, postgres, bare (bare also runs bare_default and bare_lean)")
    ap.add_argument("--json", default=str(RESULTS_DIR / "lifecycle.json"), help="write results here")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL, help="database to create, use and drop")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="after the rounds, profile N lifecycles per database mode with cProfile")
    ap.add_argument("--profile-only", action="store_true", help="skip the timed rounds (warm up, count, profile)")
    args = ap.parse_args(argv)
    wanted = {m.strip() for m in args.only.split(",") if m.strip()}
    unknown = wanted - {"sqlite", "postgres", "bare", *BARE_MODES}
    if unknown:
        ap.error(f"unknown modes: {', '.join(sorted(unknown))}")
    modes = []
    if "bare" in wanted:
        modes.extend(BARE_MODES)
    else:
        modes.extend(m for m in BARE_MODES if m in wanted)
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
    print(f"{'mode':<14}{'median/s':>10}{'min/s':>10}{'max/s':>10}{'ms each':>10}   goal")
    for mode, r in modes.items():
        print(f"{mode:<14}{r['median']:>10.1f}{r['min']:>10.1f}{r['max']:>10.1f}{r['ms_per_lifecycle']:>10.2f}   "
              f"{_goal(mode, r['median'])}")
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
    _wait_for_scripting()

    # SIGTERM behaves like Ctrl+C so the finally blocks drop the PostgreSQL database.
    def _term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored

    import sqlalchemy
    import SpiffWorkflow
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
        "modes": {}, "ratios": {}, "latency_ms": {}, "statements": {}, "breakdowns": {}, "profiles": {}, "paired_ratios": {},
        "interrupted": False, "load_avg_1min": [],
    }
    loops: dict = {}
    tmpdir = None
    pg_created = False
    rates: dict[str, list[float]] = defaultdict(list)
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
            elif mode == "sqlite":
                tmpdir = Path(tempfile.mkdtemp(prefix="petiflow-bench-"))
                settings = Settings(database_url=f"sqlite:///{tmpdir / 'bench.sqlite3'}", var_dir=tmpdir,
                                    secret_key="bench", load_demo_data=False)
                loops[mode] = EngineLoop(mode, settings)
            elif mode == "postgres":
                pg_created = True
                pg_create(args.pg_url)
                results["environment"]["postgres"] = pg_server_info(args.pg_url)
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
                    rate = run_round(loop, args.n, f"round {r} {mode}", record=True)
                    rates[mode].append(rate)
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
            if isinstance(loop, EngineLoop):
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
            results["modes"][mode] = summarize(rs)
    med = {m: r["median"] for m, r in results["modes"].items()}
    for db in DB_MODES:
        for bare in BARE_MODES:
            if db in med and bare in med:
                name = f"{db}/{bare}" if bare != "bare" else f"{db}/bare"
                results["ratios"][name] = med[bare] / med[db]
    if "bare" in med and "bare_default" in med:
        results["ratios"]["bare/bare_default"] = med["bare_default"] / med["bare"]
    # Rounds of different modes run back to back, so a per-round ratio cancels slow phases of
    # the shared machine; reported next to the ratio of medians (the headline number).
    for a, b in (("sqlite", "bare"), ("postgres", "bare"), ("bare", "bare_default")):
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
