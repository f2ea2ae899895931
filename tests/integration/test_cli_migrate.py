"""`petiflow migrate-cases`: the dry run, the move with progress and a summary, bad versions named."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from engine.accounts.identity import SYSTEM
from engine.bootstrap import connect
from engine.services.cases import StartCase, start_case
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.settings import Settings

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A fresh embedded installation with version 1 of `revise` deployed."""
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PETIFLOW_VAR_DIR", str(tmp_path / "var"))
    assert run("db", "upgrade")[0] == 0
    assert run("deploy", "--dir", str(folder(tmp_path / "v1", "migrate_v1.bpmn")))[0] == 0
    return tmp_path


def folder(path: Path, diagram: str) -> Path:
    path.mkdir()
    shutil.copy(DATA / diagram, path / "revise.bpmn")
    return path


def run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def open_cases(at_draft: int, at_confirm: int) -> list[str]:
    """Cases of `revise` waiting at draft, then cases waiting at confirm; their numbers."""
    runtime = connect(Settings.from_env())
    numbers = []
    try:
        for n in range(at_draft + at_confirm):
            with runtime.uow() as uow:
                started = start_case(StartCase("petition", process_key="revise"), uow)
                if n < at_draft:
                    complete_work_item(CompleteWorkItem(started.work_item_ids[0], {}, SYSTEM), uow)
                uow.commit()
            numbers.append(started.case_no)
    finally:
        runtime.close()
    return numbers


def test_a_dry_run_says_which_cases_can_move_and_changes_nothing(env):
    draft, confirm = open_cases(1, 1)
    assert run("deploy", "--dir", str(folder(env / "v2", "migrate_v2_removed.bpmn")))[0] == 0

    code, out, err = run("migrate-cases", "--process", "revise", "--from", "1", "--to", "2", "--dry-run")

    assert code == 0
    assert out.splitlines()[0] == "revise: 2 running cases on version 1; checking them against version 2 (dry run: nothing changes)"
    assert "dry run, nothing changed: 1 can move to version 2, 1 cannot" in out
    assert f"  refused: {draft}: waiting at 擬辦答復 (draft), which version 2 removes; " in out
    assert confirm not in out.split("\n", 1)[1]
    assert "checking" in err  # the progress bar
    code, out, _ = run("migrate-cases", "--process", "revise", "--from", "1", "--to", "2", "--dry-run")
    assert "1 can move" in out  # still on version 1


def test_the_move_shows_progress_and_says_what_it_did(env):
    numbers = open_cases(1, 3)
    assert run("deploy", "--dir", str(folder(env / "v2", "migrate_v2_removed.bpmn")))[0] == 0

    code, out, err = run("migrate-cases", "--process", "revise", "--from", "1", "--to", "2")

    assert code == 0
    assert "moving" in err
    assert "moved 3 to version 2, refused 1, failed 0" in out
    assert f"refused: {numbers[0]}: waiting at 擬辦答復 (draft)" in out
    assert "cases refused or failed stay on version 1, as they were" in out
    code, out, _ = run("migrate-cases", "--process", "revise", "--from", "1", "--to", "2")
    assert out.splitlines()[0].startswith("revise: 1 running case on version 1")
    assert "moved 0 to version 2, refused 1, failed 0" in out


def test_one_case_by_number(env):
    numbers = open_cases(0, 2)
    assert run("deploy", "--dir", str(folder(env / "v2", "migrate_v2_added.bpmn")))[0] == 0
    code, out, _ = run("migrate-cases", "--process", "revise", "--from", "1", "--to", "2", "--case", numbers[1],
                       "--case", "P20260101999")
    assert code == 0
    assert "moved 1 to version 2, refused 1, failed 0" in out
    assert "refused: P20260101999: no such case" in out
    code, out, _ = run("migrate-cases", "--process", "revise", "--from", "1", "--to", "2", "--dry-run")
    assert "1 can move" in out  # the other one


@pytest.mark.parametrize("args, message", [
    (("--from", "2", "--to", "1"), "cases move to a later version: version 1 is not later than version 2"),
    (("--from", "1", "--to", "5"), "process 'revise' has no version 5 (deployed: 1)"),
    (("--from", "1", "--to", "2", "--process", "nope"), "no process 'nope' is deployed"),
])
def test_bad_versions_or_processes_are_named_in_one_line(env, args, message):
    args = ("--process", "revise", *args) if "--process" not in args else args
    code, out, err = run("migrate-cases", *args)
    assert code == 1
    assert err == f"petiflow: {message}\n"


def test_the_versions_must_be_numbers(env):
    code, _, err = run("migrate-cases", "--process", "revise", "--from", "one", "--to", "2")
    assert code == 2 and "'one' is not a valid integer" in err
    assert os.environ.get("DATABASE_URL") is None
