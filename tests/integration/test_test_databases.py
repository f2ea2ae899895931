"""A test run leaves nothing behind on the PostgreSQL server it shares with other engineers."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_URL, _drop_pg_database, _require_pg, session_database_name

ROOT = Path(__file__).resolve().parents[2]


def _databases() -> set[str]:
    admin = create_engine(PG_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/postgres")
    try:
        with admin.connect() as conn:
            return set(conn.execute(text("SELECT datname FROM pg_database")).scalars())
    finally:
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_a_test_run_drops_the_postgresql_database_it_created_when_it_ends():
    _require_pg(PG_URL)
    # Given a test run on PostgreSQL (one test that needs the run's database)
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/unit/test_units_of_work.py::test_leaving_without_commit_rolls_back"],
        cwd=ROOT, env={**os.environ, "PETIFLOW_TEST_DATABASE_URL": PG_URL},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = run.communicate(timeout=300)[0]
    name = session_database_name(run.pid)
    try:
        # When it has ended, the database it created and worked in is gone
        assert run.returncode == 0, output
        assert "1 passed" in output
        assert name not in _databases()
    finally:
        _drop_pg_database(PG_URL.rsplit("/", 1)[0] + "/" + name)  # should the assertion fail
