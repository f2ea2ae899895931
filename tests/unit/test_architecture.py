"""The shape of the code: imports point inward along the engine's layers, models and migrations agree."""
import ast
from pathlib import Path

import pytest

from engine.store import migrate

ROOT = Path(__file__).resolve().parents[2]

#: What engine/ must never import: web, serialization-for-web, queue and cache libraries.
FORBIDDEN_IN_ENGINE = ("flask", "flask_smorest", "marshmallow", "webargs", "dramatiq", "redis",
                       "api", "handlers", "waitress", "gunicorn")

#: The engine's packages from the bottom up: a module imports its own package and lower layers
#: only, never a higher layer nor another package of its own layer (README, "Layout").
LAYERS = (
    ("engine.errors", "engine.correlation"),
    ("engine.clock",),
    ("engine.settings",),
    ("engine.store", "engine.scripting", "engine.accounts"),
    ("engine.deadlines",),
    ("engine.workflow",),
    ("engine.cases",),
    ("engine.queries",),
    ("engine.services",),
    ("engine.actions",),
    ("engine.bootstrap",),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path):
    """Every module an import statement names (function-level ones too), relative ones resolved;
    `from package import name` yields both the package and package.name."""
    module, is_package = _module_name(path), path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: None if is_package else -1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            yield source
            yield from (f"{source}.{alias.name}" for alias in node.names)


ENGINE_MODULES = {_module_name(p): p for p in sorted((ROOT / "engine").rglob("*.py"))}
ENGINE_GRAPH = {name: sorted({i for i in _imported(path) if i in ENGINE_MODULES and i != name})
                for name, path in ENGINE_MODULES.items()}


def _package(module: str) -> str:
    """The layer entry a module belongs to: engine.store.uow -> engine.store."""
    for layer in LAYERS:
        for package in layer:
            if module == package or module.startswith(package + "."):
                return package
    return module


def _rank(package: str) -> int | None:
    return next((i for i, layer in enumerate(LAYERS) if package in layer), None)


@pytest.mark.parametrize("path", sorted((ROOT / "engine").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_modules_import_no_web_or_queue_library(path):
    bad = [name for name in _imported(path) if name.split(".")[0] in FORBIDDEN_IN_ENGINE]
    assert bad == []


def test_every_engine_module_belongs_to_a_layer():
    assert [m for m in ENGINE_MODULES if m != "engine" and _rank(_package(m)) is None] == []


@pytest.mark.parametrize("module", sorted(ENGINE_MODULES))
def test_engine_modules_import_only_their_own_package_and_lower_layers(module):
    own = _package(module)
    upward = [i for i in ENGINE_GRAPH[module]
              if i != "engine" and _package(i) != own and _rank(_package(i)) >= _rank(own)]
    assert upward == [], f"{module} imports a layer above it or beside it"


def test_no_module_below_the_services_imports_them():
    callers = {m for m, imported in ENGINE_GRAPH.items()
               if any(_package(i) == "engine.services" for i in imported)}
    assert {_package(m) for m in callers} <= {"engine.services", "engine.actions", "engine.bootstrap"}


#: The services that run workflow steps, and the actions steps call: they read, and hand what the
#: step changes to the one store (engine.store.steps.write_step).
STEP_WRITERS_FORBIDDEN = ("engine/services/cases.py", "engine/services/work.py", "engine/services/steps.py",
                          "engine/services/migration.py",
                          *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "engine" / "actions").glob("*.py")))


@pytest.mark.parametrize("name", STEP_WRITERS_FORBIDDEN)
def test_no_service_or_action_writes_sql_of_its_own_for_a_step(name):
    path = ROOT / name
    writes = {"insert", "update", "delete"}
    imported = [i for i in _imported(path) if i.startswith("sqlalchemy") and i.rsplit(".", 1)[-1] in writes]
    raw = [line for line in path.read_text(encoding="utf-8").splitlines()
           if any(f"{verb} " in line.upper() for verb in ("INSERT INTO", "UPDATE ", "DELETE FROM")) and '"' in line]
    assert (imported, raw) == ([], [])


def _public_functions(package: str):
    for path in sorted((ROOT / "engine" / package).glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                yield f"{path.stem}.{node.name}", [a.arg for a in node.args.args + node.args.kwonlyargs]


def test_every_service_takes_a_command_and_a_unit_of_work():
    """One calling convention: service(cmd, uow); helpers that touch no database take neither."""
    odd = [name for name, params in _public_functions("services") if "uow" in params and params[:2] != ["cmd", "uow"]]
    assert odd == []


def test_every_query_takes_the_unit_of_work_first():
    odd = [name for name, params in _public_functions("queries") if "uow" in params and params[0] != "uow"]
    assert odd == []


#: What the adapters may use of the engine: its services and queries, and what builds and
#: configures them (DESIGN.md: adapters parse input, call a service or a query, render the result);
#: and the correlation id, which the web binds for a request and the workers for its messages.
ADAPTER_MAY_IMPORT = ("engine.services", "engine.queries", "engine.errors", "engine.settings", "engine.clock",
                      "engine.bootstrap", "engine.correlation")

#: The start-up wiring: the only adapter modules that may import the other adapter.
WIRING = {"api/app.py", "api/cli.py", "api/embedded.py"}

ADAPTER_FILES = sorted(str(p.relative_to(ROOT)) for d in ("api", "handlers") for p in (ROOT / d).rglob("*.py"))


@pytest.mark.parametrize("name", ADAPTER_FILES)
def test_adapters_call_services_and_queries_only(name):
    imported = set(_imported(ROOT / name))
    inner = sorted(i for i in imported if i.split(".")[0] == "engine" and i != "engine"
                   and not any(i == a or i.startswith(a + ".") for a in ADAPTER_MAY_IMPORT))
    sql = sorted(i for i in imported if i.split(".")[0] == "sqlalchemy")
    assert (inner, sql) == ([], [])


@pytest.mark.parametrize("name", ADAPTER_FILES)
def test_adapters_import_the_other_adapter_only_in_the_start_up_wiring(name):
    other = "handlers" if name.startswith("api/") else "api"
    crossing = sorted(i for i in _imported(ROOT / name) if i.split(".")[0] == other)
    assert crossing == [] or name in WIRING


def _cycle(graph: dict) -> list | None:
    """One import cycle of the graph, as a list of modules, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_engine_has_no_import_cycle():
    # Package __init__ files are left out: `from engine.store import schema` names the package
    # only as the way to reach the module.
    graph = {m: [i for i in deps if not ENGINE_MODULES[i].name == "__init__.py"]
             for m, deps in ENGINE_GRAPH.items() if ENGINE_MODULES[m].name != "__init__.py"}
    assert _cycle(graph) is None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert _cycle({"a": ["b"], "b": []}) is None


def test_models_and_migrations_agree(runtime):
    assert migrate.schema_differences(runtime.db) == []
    assert migrate.is_current(runtime.db)


def test_a_dropped_server_default_or_check_constraint_is_a_difference(pg_runtime):
    """PostgreSQL runs DDL in a transaction: the schema is changed, compared and put back."""
    with pg_runtime.db.connect().execution_options(isolation_level="READ COMMITTED") as conn:
        with conn.begin() as tx:
            conn.exec_driver_sql("ALTER TABLE cases ALTER COLUMN status DROP DEFAULT")
            conn.exec_driver_sql("ALTER TABLE timers DROP CONSTRAINT ck_timers_status")
            conn.exec_driver_sql("ALTER TABLE case_events DISABLE TRIGGER case_events_append_only")
            found = migrate.schema_differences(conn)
            tx.rollback()
    assert ("add_check_constraint", "timers", "ck_timers_status") in found
    assert ("missing_trigger", "case_events", "case_events_append_only") in found
    assert [(d[0][0], d[0][2], d[0][3]) for d in found if isinstance(d, list)] == [("modify_default", "cases", "status")]
    assert migrate.schema_differences(pg_runtime.db) == []


def test_on_sqlite_a_check_whose_text_changed_or_a_dropped_trigger_is_a_difference(tmp_path, sqlite_template,
                                                                                    monkeypatch):
    import shutil

    from sqlalchemy import CheckConstraint, create_engine, text

    from engine.store.schema import timers
    path = tmp_path / "copy.sqlite3"
    shutil.copy(sqlite_template, path)
    db = create_engine(f"sqlite:///{path}")
    try:
        assert migrate.schema_differences(db) == []
        (check,) = [c for c in timers.constraints if isinstance(c, CheckConstraint)]
        monkeypatch.setattr(check, "sqltext", text("status in ('pending', 'done', 'postponed')"))  # no migration
        with db.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER case_events_no_delete")
        found = migrate.schema_differences(db)
    finally:
        db.dispose()
    assert [d[:3] for d in found] == [("modify_check_constraint", "timers", "ck_timers_status"),
                                      ("missing_trigger", "case_events", "case_events_no_delete")]
