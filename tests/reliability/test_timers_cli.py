"""`petiflow timers`: list pending timers, and run the due ones as of a moment (drills)."""
import os
import signal
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from api.cli_timers import timers as timers_cli
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.store.schema import case_events, cases, timers, work_items
from tests.conftest import bundle
from tests.reliability.conftest import SLOW_BPMN


@pytest.fixture
def rt(runtime, settings, monkeypatch):
    """The test runtime with the deadline processes deployed, and the command pointed at its database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PETIFLOW_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("SECRET_KEY", "test")
    monkeypatch.delenv("REDIS_URL", raising=False)
    with runtime.uow() as uow:
        deploy_bundle(DeployBundle({**bundle("deadline.bpmn"), "slow_deadline.bpmn": SLOW_BPMN}), uow)
        uow.commit()
    return runtime


def start(rt, due, process_key="deadline", **data):
    with rt.uow() as uow:
        started = start_case(StartCase("petition", process_key=process_key,
                                       data={"reply_due": due.isoformat(), **data}), uow)
        uow.commit()
    return started


def cli(*args):
    result = CliRunner().invoke(timers_cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def items(rt, case_id=None):
    query = select(work_items.c.task_spec, work_items.c.status).order_by(work_items.c.id)
    if case_id is not None:
        query = query.where(work_items.c.case_id == case_id)
    with rt.db.connect() as conn:
        return dict(conn.execute(query).all())


def timer_rows(rt):
    with rt.db.connect() as conn:
        return conn.execute(select(timers).order_by(timers.c.id)).all()


def test_a_drill_fires_a_timer_due_in_six_days_as_of_seven_days_later_but_not_as_of_five(rt, clock):
    case = start(rt, clock.now() + timedelta(days=6))

    code, out = cli("run-due", "--as-of", (clock.now() + timedelta(days=5)).isoformat())
    assert code == 0
    assert "0 pending timers due as of 2026-12-01 09:00:00+08:00" in out
    assert "fired 0, skipped 0, failed 0" in out
    assert items(rt) == {"reply": "open"}
    assert [t.status for t in timer_rows(rt)] == ["pending"]

    as_of = clock.now() + timedelta(days=7)
    code, out = cli("run-due", "--as-of", as_of.isoformat())
    assert code == 0
    assert "1 pending timer due as of 2026-12-03 09:00:00+08:00" in out
    assert "fired 1, skipped 0, failed 0" in out
    assert items(rt) == {"reply": "cancelled", "take_over": "open"}
    (timer,) = timer_rows(rt)
    assert (timer.status, timer.fired_at, timer.lease_owner) == ("done", as_of, None)
    with rt.db.connect() as conn:  # the case's history tells the drill's time
        fired_events = conn.execute(select(case_events.c.at).where(
            case_events.c.case_id == case.case_id, case_events.c.kind == "engine_steps")).scalars().all()
    assert fired_events == [as_of]
    code, out = cli("run-due", "--as-of", as_of.isoformat())  # a second run finds nothing left
    assert "fired 0, skipped 0, failed 0" in out


def test_an_as_of_time_without_an_offset_is_read_in_the_city_time_zone(rt, clock):
    start(rt, clock.now() + timedelta(days=6))  # due 2026-12-02 09:00 in Taipei
    assert "fired 0," in cli("run-due", "--as-of", "2026-12-02T08:59")[1]
    assert "fired 1," in cli("run-due", "--as-of", "2026-12-02T09:01")[1]


def test_a_timer_fires_once_its_moment_has_passed_not_at_the_moment_itself_and_is_never_lost(rt, clock):
    """SpiffWorkflow fires a timer whose date is before its clock's now; the claim agrees,
    so a run at the very moment leaves the timer pending instead of marking it done unfired."""
    case = start(rt, clock.now() + timedelta(days=6))
    code, out = cli("run-due", "--as-of", "2026-12-02T09:00:00+08:00")
    assert "0 pending timers due" in out and "fired 0, skipped 0, failed 0" in out
    assert [t.status for t in timer_rows(rt)] == ["pending"]
    code, out = cli("run-due", "--as-of", "2026-12-02T09:00:00.000001+08:00")
    assert "fired 1, skipped 0, failed 0" in out
    assert items(rt, case.case_id) == {"reply": "cancelled", "take_over": "open"}


def test_the_list_shows_pending_timers_with_case_numbers_earliest_first_and_filters_by_due_time(rt, clock):
    later = start(rt, clock.now() + timedelta(days=9))
    sooner = start(rt, clock.now() + timedelta(days=6))

    code, out = cli("list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["ID", "CASE", "DUE"]
    assert sooner.case_no in lines[1] and "2026-12-02 09:00:00+08:00" in lines[1] and "Reply overdue" in lines[1]
    assert later.case_no in lines[2] and "2026-12-05 09:00:00+08:00" in lines[2]
    assert lines[-1] == "2 pending timers"

    code, out = cli("list", "--due-before", "2026-12-03T00:00:00+08:00")
    assert later.case_no not in out and sooner.case_no in out
    assert out.splitlines()[-1] == "1 pending timer due before 2026-12-03 00:00:00+08:00"

    assert cli("list", "--due-before", "2026-12-01")[1] == "no pending timers due before 2026-12-01 00:00:00+08:00\n"


def test_a_timer_that_fails_is_reported_with_its_reason_kept_on_the_row_and_left_for_the_scheduler(rt, clock):
    good = start(rt, clock.now() + timedelta(days=1))
    bad = start(rt, clock.now() + timedelta(days=1), process_key="slow_deadline")  # no slow_seconds: the script fails

    code, out = cli("run-due", "--as-of", (clock.now() + timedelta(days=2)).isoformat())
    assert code == 1
    assert "fired 1, skipped 0, failed 1" in out
    assert f"failed: timer 2 of case {bad.case_no}: WorkflowFailed: Gather the case file:" in out
    assert "slow_seconds" in out
    assert items(rt, good.case_id) == {"reply": "cancelled", "take_over": "open"}
    assert items(rt, bad.case_id) == {"reply": "open"}
    failed = timer_rows(rt)[1]
    assert (failed.status, failed.lease_owner, failed.lease_expires_at, failed.attempts) == ("pending", None, None, 1)
    assert "slow_seconds" in failed.last_error

    code, out = cli("list")
    assert "timer 2 last failed: WorkflowFailed" in out


def test_a_timer_of_a_closed_case_is_skipped_and_cancelled_without_opening_work(rt, clock):
    case = start(rt, clock.now() + timedelta(days=1))
    with rt.db.begin() as conn:
        conn.execute(update(cases).where(cases.c.id == case.case_id).values(status="closed"))

    code, out = cli("run-due", "--as-of", (clock.now() + timedelta(days=2)).isoformat())
    assert code == 0
    assert "fired 0, skipped 1, failed 0" in out
    assert "skipped 1: cancelled (the task ended or the case was closed)" in out
    assert items(rt) == {"reply": "open"}
    assert [t.status for t in timer_rows(rt)] == ["cancelled"]


def test_ctrl_c_finishes_the_timer_being_fired_then_stops_and_gives_the_rest_back(rt, clock, monkeypatch):
    for _ in range(3):
        start(rt, clock.now() + timedelta(days=1))
    import engine.services.timers as service
    real_fire = service.fire_timer

    def fire_then_ctrl_c(cmd, uow):
        os.kill(os.getpid(), signal.SIGINT)  # pressed while the first timer is being fired
        return real_fire(cmd, uow)

    monkeypatch.setattr(service, "fire_timer", fire_then_ctrl_c)
    code, out = cli("run-due", "--as-of", (clock.now() + timedelta(days=2)).isoformat())
    assert code == 130
    assert "fired 1, skipped 0, failed 0" in out
    assert "interrupted: timers not fired yet stay pending" in out
    rows = timer_rows(rt)
    assert [t.status for t in rows] == ["done", "pending", "pending"]
    assert [(t.lease_owner, t.lease_expires_at) for t in rows[1:]] == [(None, None), (None, None)]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler put back

    monkeypatch.setattr(service, "fire_timer", real_fire)
    assert "fired 2, skipped 0, failed 0" in cli("run-due", "--as-of", (clock.now() + timedelta(days=2)).isoformat())[1]


def test_run_due_claims_batch_after_batch_until_nothing_due_is_left(rt, clock):
    for _ in range(5):
        start(rt, clock.now() + timedelta(days=1))
    code, out = cli("run-due", "--as-of", (clock.now() + timedelta(days=2)).isoformat(), "--batch-size", "2")
    assert code == 0 and "fired 5, skipped 0, failed 0" in out
    assert [t.status for t in timer_rows(rt)] == ["done"] * 5


def test_a_bad_as_of_time_is_refused_with_an_example(rt):
    result = CliRunner().invoke(timers_cli, ["run-due", "--as-of", "next tuesday"])
    assert result.exit_code == 2
    assert "is not an ISO 8601 time such as 2026-12-03T09:00" in result.output


def test_the_commands_refuse_a_database_that_is_not_migrated(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    monkeypatch.setenv("PETIFLOW_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "test")
    result = CliRunner().invoke(timers_cli, ["list"])
    assert result.exit_code == 1 and "run `petiflow db upgrade` first" in result.output
