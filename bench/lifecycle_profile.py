"""Where a lifecycle's time goes: perf_counter around each layer, pyinstrument and cProfile."""
from __future__ import annotations

import cProfile
import gc
import pstats
import time
from collections import defaultdict
from pathlib import Path

from lifecycle_loops import RESULTS_DIR, ROOT, log

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
    ("UnitOfWork.__enter__ (connect+begin)", "engine/store/uow.py", "__enter__"),
    ("UnitOfWork.commit", "engine/store/uow.py", "commit"),
    ("UnitOfWork.__exit__ (close, reset)", "engine/store/uow.py", "__exit__"),
    ("runner.start (create + run to wait)", "engine/workflow/runner.py", "start"),
    ("runner.complete (task.run + run on)", "engine/workflow/runner.py", "complete"),
    ("runner.run_steps (refresh_timers + do_engine_steps)", "engine/workflow/runner.py", "run_steps"),
    ("runner.inspect (ready tasks + timers)", "engine/workflow/runner.py", "inspect"),
    ("state.dump (serialize, no spec)", "engine/workflow/state.py", "dump"),
    ("state.load (restore onto cached spec)", "engine/workflow/state.py", "load"),
    ("steps.finish_step (what the step changes)", "engine/cases/steps.py", "finish_step"),
    ("steps.write_step (the store writes it)", "engine/store/steps.py", "write_step"),
    ("SpecCache.latest_id", "engine/workflow/specs.py", "latest_id"),
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

        from engine.store.uow import UnitOfWork
        from engine.workflow import runner, state

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

