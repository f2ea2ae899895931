"""The shape of the code: engine/ imports point inward, models and migrations agree."""
import ast
from pathlib import Path

import pytest

from engine.store import migrate

ROOT = Path(__file__).resolve().parents[2]

#: What engine/ must never import: web, serialization-for-web, queue and cache libraries.
FORBIDDEN_IN_ENGINE = ("flask", "flask_smorest", "marshmallow", "webargs", "dramatiq", "redis",
                       "api", "handlers", "waitress", "gunicorn")


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


@pytest.mark.parametrize("path", sorted((ROOT / "engine").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_modules_import_no_web_or_queue_library(path):
    bad = [name for name in _imports(path) if name.split(".")[0] in FORBIDDEN_IN_ENGINE]
    assert bad == []


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
