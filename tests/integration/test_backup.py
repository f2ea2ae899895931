"""Backing up the embedded SQLite database while petiflow runs: a whole, checked copy or nothing."""
import shutil
import sqlite3
import threading

import pytest
from sqlalchemy import func, select

from engine.bootstrap import bootstrap
from engine.errors import InvalidInput
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.settings import Settings
from engine.store.backup import backup_sqlite
from engine.store.schema import cases
from tests.conftest import bundle


@pytest.fixture
def embedded(tmp_path, sqlite_template, clock):
    """An embedded installation (whatever the run's database) with the simple process and three cases."""
    path = tmp_path / "petiflow.sqlite3"
    shutil.copy(sqlite_template, path)
    rt = bootstrap(Settings(database_url=f"sqlite:///{path}", var_dir=tmp_path, secret_key="test"), clock=clock)
    with rt.uow() as uow:
        deploy_bundle(DeployBundle(bundle("simple.bpmn")), uow)
        uow.commit()
    for _ in range(3):
        open_case(rt)
    yield rt
    rt.close()


def open_case(rt):
    with rt.uow() as uow:
        start_case(StartCase("petition", process_key="simple", channel="web"), uow)
        uow.commit()


def cases_in(path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        return conn.execute("SELECT count(*) FROM cases").fetchone()[0]


def test_the_backup_holds_every_case_written_before_it_including_those_still_in_the_log(embedded, tmp_path):
    seen = []
    done = backup_sqlite(embedded.db, tmp_path / "backup.sqlite3", progress=lambda w, e: seen.append((w, e)))
    assert cases_in(done.target) == 3  # the cases are in the write-ahead log, not yet in the file
    assert done.bytes == done.target.stat().st_size and seen[-1] == (done.bytes, done.bytes)
    assert sorted(p.name for p in tmp_path.glob("*backup*")) == ["backup.sqlite3"]


def test_a_backup_taken_while_cases_are_opened_is_consistent_and_petiflow_carries_on(embedded, tmp_path):
    stop = threading.Event()
    opened = []

    def keep_opening():
        while not stop.is_set():
            open_case(embedded)
            opened.append(1)

    writer = threading.Thread(target=keep_opening)
    writer.start()
    try:
        done = backup_sqlite(embedded.db, tmp_path / "backup.sqlite3")
    finally:
        stop.set()
        writer.join(10)
    with embedded.db.connect() as conn:
        now = conn.execute(select(func.count()).select_from(cases)).scalar_one()
    assert 3 <= cases_in(done.target) <= now == 3 + len(opened)


@pytest.mark.parametrize("name, reason", [
    ("existing.sqlite3", "already exists: choose a new file name"),
    ("no-such-folder/backup.sqlite3", "does not exist"),
    ("petiflow.sqlite3", "is the database itself"),
], ids=["existing file", "missing folder", "the database"])
def test_a_target_that_would_overwrite_or_cannot_be_written_is_refused(embedded, tmp_path, name, reason):
    (tmp_path / "existing.sqlite3").write_text("last week's backup")
    with pytest.raises(InvalidInput, match=reason):
        backup_sqlite(embedded.db, tmp_path / name)
    assert (tmp_path / "existing.sqlite3").read_text() == "last week's backup"
    assert cases_in(tmp_path / "petiflow.sqlite3") == 3


def test_an_interrupted_backup_leaves_no_file_behind(embedded, tmp_path, monkeypatch):
    import engine.store.backup
    calls = []

    def interrupt(written, expected):
        calls.append(written)
        raise KeyboardInterrupt  # Ctrl+C while the copy runs

    monkeypatch.setattr(engine.store.backup, "PROGRESS_EVERY", 0.001)
    big = "x" * 100_000  # 20 MB: the copy is still running at the first progress report
    with embedded.db.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE ballast (t TEXT)")
        conn.exec_driver_sql("INSERT INTO ballast SELECT ? FROM (WITH RECURSIVE n(i) AS "
                             "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) SELECT i FROM n)", (big,))
    with pytest.raises(KeyboardInterrupt):
        backup_sqlite(embedded.db, tmp_path / "backup.sqlite3", progress=interrupt)
    assert len(calls) == 1 and sorted(p.name for p in tmp_path.glob("*backup*")) == []
    assert cases_in(tmp_path / "petiflow.sqlite3") == 3


def test_a_backup_never_replaces_a_file_that_appears_while_it_runs(embedded, tmp_path, monkeypatch):
    import engine.store.backup
    target = tmp_path / "backup.sqlite3"
    measure = engine.store.backup._live_size

    def someone_writes_the_target_meanwhile(source):
        target.write_text("mine")  # after the target was found free, before the copy is kept
        return measure(source)

    monkeypatch.setattr(engine.store.backup, "_live_size", someone_writes_the_target_meanwhile)
    with pytest.raises(InvalidInput, match="already exists"):
        backup_sqlite(embedded.db, target)
    assert target.read_text() == "mine" and sorted(p.name for p in tmp_path.glob("*backup*")) == [target.name]


def test_a_target_that_cannot_be_written_is_named_in_a_clear_error(embedded, tmp_path):
    with pytest.raises(InvalidInput, match="cannot write a backup to .*too long"):
        backup_sqlite(embedded.db, tmp_path / ("x" * 300))


def test_postgresql_is_referred_to_its_own_tools(pg_runtime, tmp_path):
    with pytest.raises(InvalidInput, match="pg_dump"):
        backup_sqlite(pg_runtime.db, tmp_path / "backup.sqlite3")
    assert list(tmp_path.glob("backup*")) == []
