"""`petiflow reports`: rebuild with progress and a summary, catch-up, and the check's answer."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from api.cli import main
from engine.bootstrap import connect
from engine.settings import Settings
from engine.store.schema import report_agency_days


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A fresh embedded installation with the demo organisation, its three petitions and sixteen tracked items."""
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PETIFLOW_VAR_DIR", str(tmp_path / "var"))
    assert run("db", "upgrade")[0] == 0
    assert run("seed-demo")[0] == 0
    return tmp_path


def run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_the_check_says_cases_wait_until_the_catch_up_then_that_they_agree(env):
    code, out, _ = run("reports", "check")
    assert code == 1 and "19 cases wait for the catch-up" in out
    code, out, _ = run("reports", "catch-up")
    assert (code, out.strip()) == (0, "caught up 19 cases")
    code, out, _ = run("reports", "check")
    assert code == 0 and "the rollups agree with the case records" in out


def test_a_rebuild_shows_progress_says_what_it_did_and_mends_a_drifted_counter(env):
    run("reports", "catch-up")
    runtime = connect(Settings.from_env())
    try:
        with runtime.uow() as uow:
            uow.conn.execute(update(report_agency_days).values(received=report_agency_days.c.received + 5))
            uow.commit()
    finally:
        runtime.close()
    code, out, _ = run("reports", "check")
    assert code == 1 and "report_agency_days" in out and re.search(r"received: (\d+) stored, (\d+) from the cases", out)
    stored, computed = map(int, re.search(r"received: (\d+) stored, (\d+) from the cases", out).groups())
    assert stored == computed + 5
    assert "run `petiflow reports rebuild`" in out
    code, out, err = run("reports", "rebuild", "--batch", "2")
    assert code == 0 and "marked 19 cases, recomputed 19" in out and "the rollups are rebuilt" in out
    assert "recomputing" in err
    assert run("reports", "check")[0] == 0
