"""Fixtures: a migrated database per test (SQLite or PostgreSQL), a runtime, a fixed clock.

No test reads today's date: each sets its clock, a FixedClock or, where workers and
schedulers run in real time, a RunningClock, both starting at TEST_NOW (`make test-faketime`
runs the suite with the machine's date faked to show it).
"""
from __future__ import annotations

import os
import shutil
import signal
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.bootstrap import Runtime, bootstrap
from engine.clock import FixedClock
from engine.settings import Settings
from engine.store import migrate
from engine.store.db import make_engine
from engine.store.schema import metadata

# A suite started in the background by a shell without job control inherits Ctrl+C ignored, and
# so would every command the tests start: the tests of what Ctrl+C does need Python's own handler.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

#: Test data (diagrams written for the tests) lives here.
DATA = Path(__file__).parent / "data"

#: The database every test runs on; CI runs the suite once per URL.
DATABASE_URL = os.environ.get("PETIFLOW_TEST_DATABASE_URL", "sqlite")

#: A PostgreSQL server for the tests that need two real connections.
PG_URL = os.environ.get("PETIFLOW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/petiflow_test")

#: Where every test's clock starts: Thursday 2026-11-26 09:00 in Taipei, a working day.
TEST_NOW = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)


def _admin_url(url: str) -> tuple[str, str]:
    base, name = url.rsplit("/", 1)
    return base.replace("postgresql://", "postgresql+psycopg://") + "/postgres", name


def _fresh_pg_database(url: str) -> None:
    _pg_admin(url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', 'CREATE DATABASE "{name}"')


def _drop_pg_database(url: str) -> None:
    _pg_admin(url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_admin(url: str, *statements: str) -> None:
    """Run statements naming the database of `url` ({name}) on the server's postgres database."""
    admin, name = _admin_url(url)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement.format(name=name)))
    finally:
        engine.dispose()


def _pg_available(url: str) -> bool:
    admin, _ = _admin_url(url)
    try:
        engine = create_engine(admin, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def _require_pg(url: str) -> None:
    if not _pg_available(url):
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {url}")
        pytest.skip(f"PostgreSQL is not reachable at {url}")


def _truncate_all(db) -> None:
    names = ", ".join(f'"{t.name}"' for t in reversed(metadata.sorted_tables))
    with db.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """One migrated SQLite file per test session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    db = make_engine(Settings(database_url=f"sqlite:///{path}", var_dir=path.parent))
    migrate.upgrade(db)
    db.dispose()  # the last connection to close folds the WAL into the file we copy
    return path


def session_database_name(pid: int) -> str:
    """The PostgreSQL database a test session of process `pid` creates (and drops at its end)."""
    return f"petiflow_test_{pid}"


@pytest.fixture(scope="session")
def pg_database() -> str:
    """A PostgreSQL database created and migrated once per session, dropped when the session ends."""
    url = PG_URL.rsplit("/", 1)[0] + "/" + session_database_name(os.getpid())
    _require_pg(url)
    _fresh_pg_database(url)
    try:
        db = make_engine(Settings(database_url=url))
        migrate.upgrade(db)
        db.dispose()
        yield url
    finally:
        _drop_pg_database(url)  # WITH (FORCE): a worker process still connected does not keep it


def _pg_runtime_settings(url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=url, var_dir=tmp_path, secret_key="test", script_time_limit=1.0)


@pytest.fixture
def clock() -> FixedClock:
    """A clock standing at Thursday 2026-11-26 09:00 in Taipei (TEST_NOW)."""
    return FixedClock(TEST_NOW)


@pytest.fixture
def settings(request, tmp_path, sqlite_template) -> Settings:
    """Settings for the database of this run: a copied SQLite file, or the session's PostgreSQL."""
    if DATABASE_URL == "sqlite":
        path = tmp_path / "petiflow.sqlite3"
        shutil.copy(sqlite_template, path)
        return Settings(database_url=f"sqlite:///{path}", var_dir=tmp_path, secret_key="test",
                        script_time_limit=1.0)
    url = request.getfixturevalue("pg_database")
    return _pg_runtime_settings(url, tmp_path)


@pytest.fixture
def runtime(settings, clock) -> Runtime:
    """A runtime on a migrated, empty database with the fixed clock."""
    rt = bootstrap(settings, clock=clock)
    if not settings.is_sqlite:
        _truncate_all(rt.db)
    yield rt
    rt.close()


@pytest.fixture
def pg_runtime(pg_database, tmp_path, clock) -> Runtime:
    """A runtime on PostgreSQL whatever the run's database (for locking tests)."""
    rt = bootstrap(_pg_runtime_settings(pg_database, tmp_path), clock=clock)
    _truncate_all(rt.db)
    yield rt
    rt.close()


@pytest.fixture
def demo_runtime(runtime):
    """The runtime with the shipped workflows deployed and the demo organisation and cases loaded
    (every demo account's password is engine.services.demo.DEMO_PASSWORD)."""
    from api.cli import deploy_workflows
    from engine.services.demo import SeedDemo, seed_demo
    deploy_workflows(runtime)
    with runtime.uow() as uow:
        seed_demo(SeedDemo(), uow)
        uow.commit()
    return runtime


def bundle(*names: str) -> dict[str, str]:
    """Test diagrams by file name, as a deployable bundle."""
    return {name: (DATA / name).read_text(encoding="utf-8") for name in names}


def start_parallel_case(runtime, clock):
    """Deploy parallel_timer.bpmn and open a case waiting on its two tasks, with b's timer 3 days out."""
    from datetime import timedelta

    from engine.services.cases import StartCase, start_case
    from engine.services.deployment import DeployBundle, deploy_bundle
    with runtime.uow() as uow:
        deploy_bundle(DeployBundle(bundle("parallel_timer.bpmn")), uow)
        started = start_case(StartCase("petition", process_key="parallel_timer",
                                       data={"reply_due": (clock.now() + timedelta(days=3)).isoformat()}), uow)
        uow.commit()
    return started
