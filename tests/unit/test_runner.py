"""The runner: starting, completing and inspecting workflows, saved and restored at every step."""
from datetime import datetime, timedelta, timezone

import pytest

from engine.clock import FixedClock
from engine.errors import Conflict, WorkflowFailed
from engine.workflow import runner
from tests.conftest import TEST_NOW
from tests.unit.workflow_helpers import SCRIPT_ENGINE, parsed, ready, reload


@pytest.fixture(scope="module")
def approval():
    return parsed("approval", "approval.bpmn")


def test_start_runs_scripts_and_stops_at_the_first_user_task():
    definition = parsed("simple", "simple.bpmn")
    wf = runner.start(definition, {"channel": "1999"}, SCRIPT_ENGINE)
    tasks = ready(wf)
    assert list(tasks) == ["reply"]
    assert tasks["reply"].lane == "Caseworker"
    assert runner.status_of(wf) == "waiting"


def test_return_loop_survives_a_save_and_restore_after_every_step(approval):
    wf = reload(runner.start(approval, {"case_no": "P1"}, SCRIPT_ENGINE), approval)
    path = []
    for decision in ["return", "return", "approve"]:
        for name, data in [("confirm", {"agency": "工務局"}), ("draft", {"reply": f"try {len(path)}"}),
                           ("approve", {"decision": decision})]:
            if name == "confirm" and path:
                continue
            task = ready(wf)[name]
            runner.complete(wf, task.task_id, data)
            wf = reload(wf, approval)
            path.append(name)
    assert path == ["confirm", "draft", "approve", "draft", "approve", "draft", "approve"]
    assert runner.status_of(wf) == "completed"
    assert wf.data["reply"] == "try 5" and wf.data["agency"] == "工務局"


def test_lanes_name_roles_of_each_ready_task(approval):
    wf = runner.start(approval, {}, SCRIPT_ENGINE)
    assert ready(wf)["confirm"].lane == "Dispatcher"
    runner.complete(wf, ready(wf)["confirm"].task_id, {})
    assert ready(wf)["draft"].lane == "Caseworker"


def test_waiting_boundary_timer_reports_its_due_time(approval):
    clock = FixedClock(TEST_NOW)
    wf = runner.start(approval, {}, SCRIPT_ENGINE, clock)
    runner.complete(wf, ready(wf)["confirm"].task_id, {}, clock)
    wf = reload(wf, approval)
    (timer,) = runner.waiting_timers(wf)
    assert timer.spec_name == "draft_overdue"
    assert timer.due_at == TEST_NOW + timedelta(days=6)


def test_expired_timer_fires_after_a_restore(approval):
    clock = FixedClock(TEST_NOW)
    wf = runner.start(approval, {}, SCRIPT_ENGINE, clock)
    runner.complete(wf, ready(wf)["confirm"].task_id, {}, clock)
    wf = reload(wf, approval)
    clock.advance(days=6, seconds=1)  # the six days have passed
    runner.run_steps(wf, clock)
    assert set(ready(wf)) == {"draft", "chase"}
    assert ready(wf)["chase"].form_key == "chase_overdue.json"  # the task's form, from its properties
    assert runner.waiting_timers(wf) == []


def test_completing_a_task_twice_is_a_conflict(approval):
    wf = runner.start(approval, {}, SCRIPT_ENGINE)
    task_id = ready(wf)["confirm"].task_id
    runner.complete(wf, task_id, {})
    with pytest.raises(Conflict):
        runner.complete(wf, task_id, {})


def test_unknown_task_id_is_a_conflict(approval):
    wf = runner.start(approval, {}, SCRIPT_ENGINE)
    with pytest.raises(Conflict):
        runner.complete(wf, "00000000-0000-0000-0000-000000000000", {})


def test_failing_script_fails_the_step_naming_the_task():
    definition = parsed("simple", "simple.bpmn")
    with pytest.raises(WorkflowFailed) as caught:
        runner.start(definition, {}, SCRIPT_ENGINE)  # the script reads `channel`, which is missing
    assert "Prepare" in caught.value.message and "channel" in caught.value.message
    assert caught.value.details["element_id"] == "prepare"


@pytest.mark.parametrize("data", [{"1abc": 1}, {"_private": 1}, {"typename": "x"}, {"a b": 2}])
def test_task_data_with_unusable_keys_is_refused(data):
    from engine.errors import InvalidInput
    with pytest.raises(InvalidInput):
        runner.check_data(data)


def test_timers_are_computed_and_fired_on_the_injected_clock(approval):
    from datetime import timedelta

    clock = FixedClock(datetime(2030, 1, 7, 1, 0, tzinfo=timezone.utc))
    wf = runner.start(approval, {}, SCRIPT_ENGINE, clock)
    runner.complete(wf, ready(wf)["confirm"].task_id, {}, clock)
    (timer,) = runner.waiting_timers(wf)
    assert timer.due_at == clock.now() + timedelta(days=6)
    clock.advance(days=5, hours=23)
    runner.run_steps(reload(wf, approval), clock)
    wf = reload(wf, approval)
    runner.run_steps(wf, clock)
    assert set(ready(wf)) == {"draft"}
    clock.advance(hours=2)
    runner.run_steps(wf, clock)
    assert set(ready(wf)) == {"draft", "chase"}


def test_outside_a_step_spiffworkflow_sees_the_system_time():
    from engine.workflow.spiff_clock import ClockedDatetime
    assert abs((ClockedDatetime.now(timezone.utc) - datetime.now(timezone.utc)).total_seconds()) < 5


def test_scripts_read_now_from_the_clock_of_the_step():
    from engine.clock import FixedClock
    from engine.workflow.spiff_clock import using
    clock = FixedClock(datetime(2030, 1, 7, 1, 0, tzinfo=timezone.utc))
    env = SCRIPT_ENGINE.environment
    with using(clock):
        assert env.evaluate("datetime.now(timezone.utc).year", {}) == 2030
        assert env.evaluate("date.today().isoformat()", {}) == "2030-01-07"
    # Outside the step, the system's time again (not the step's 2030): compared within seconds, not by
    # year, which would fail once a year as the New Year passes between the two readings.
    outside = datetime.fromisoformat(env.evaluate("datetime.now(timezone.utc).isoformat()", {}))
    assert abs((outside - datetime.now(timezone.utc)).total_seconds()) < 5


def test_a_tasks_data_for_its_form_leaves_out_private_names_and_values_that_are_not_json():
    definition = parsed("simple", "simple.bpmn")
    wf = reload(runner.start(definition, {"channel": "1999", "_token": "x", "received": datetime(2026, 11, 26),
                                          "lines": ["a", {"b": 1}]}, SCRIPT_ENGINE), definition)
    task_id = ready(wf)["reply"].task_id
    assert runner.task_data(wf, task_id) == {"channel": "1999", "priority": "high", "lines": ["a", {"b": 1}]}
    assert runner.task_data(wf, "00000000-0000-0000-0000-000000000000") is None
    assert runner.task_data(wf, "not a task id") is None
