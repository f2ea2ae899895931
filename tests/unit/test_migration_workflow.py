"""engine.workflow.migration alone: carrying a workflow over to another version in memory."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine.clock import FixedClock
from engine.workflow import migration, runner, state
from engine.workflow.definitions import parse_process
from engine.workflow.specs import ParsedDefinition
from engine.workflow.spiff_clock import using
from tests.conftest import TEST_NOW, bundle
from tests.unit.workflow_helpers import SCRIPT_ENGINE, ready, reload

PARALLEL = bundle("parallel_timer.bpmn")["parallel_timer.bpmn"]

#: Version 2 of parallel_timer: a third branch, task C, also goes into the join.
THREE_BRANCHES = (PARALLEL
                  .replace('<bpmn:outgoing>f3</bpmn:outgoing></bpmn:parallelGateway>',
                           '<bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f8</bpmn:outgoing></bpmn:parallelGateway>')
                  .replace('<bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f7</bpmn:outgoing>',
                           '<bpmn:incoming>f5</bpmn:incoming><bpmn:incoming>f9</bpmn:incoming><bpmn:outgoing>f7</bpmn:outgoing>')
                  .replace('<bpmn:endEvent id="end">',
                           '<bpmn:userTask id="c" name="Task C"><bpmn:incoming>f8</bpmn:incoming>'
                           '<bpmn:outgoing>f9</bpmn:outgoing></bpmn:userTask>\n    <bpmn:endEvent id="end">')
                  .replace('<bpmn:sequenceFlow id="f7"', '<bpmn:sequenceFlow id="f8" sourceRef="split" targetRef="c" />'
                           '<bpmn:sequenceFlow id="f9" sourceRef="c" targetRef="join" /><bpmn:sequenceFlow id="f7"'))


#: The workflows here run outside any service: their steps run on the test's clock, not the machine's
#: (a reply due 2026-12-31 is not yet due, whatever day the suite runs).
CLOCK = FixedClock(TEST_NOW)


@pytest.fixture(autouse=True)
def _on_the_test_clock():
    """Loading a state and reading its timers outside a step see the same clock."""
    with using(CLOCK):
        yield


def version(number: int, text: str) -> ParsedDefinition:
    spec, subs = parse_process("parallel_timer", {"parallel_timer.bpmn": text})
    return ParsedDefinition(100 + number, "parallel_timer", number, spec, subs)


def started(v1):
    workflow = runner.start(v1, {"reply_due": "2026-12-31T09:00:00+08:00"}, SCRIPT_ENGINE, clock=CLOCK)
    return reload(workflow, v1)


def test_a_join_that_waits_for_a_branch_the_new_version_adds_is_refused():
    v1, v2 = version(1, PARALLEL), version(2, THREE_BRANCHES)
    workflow = started(v1)
    runner.complete(workflow, ready(workflow)["a"].task_id, {}, clock=CLOCK)  # branch A reached the join, B not yet
    workflow = reload(workflow, v1)
    outcome = migration.carry_over(workflow, migration.compare(v1, v2), CLOCK)
    assert outcome.reasons == ("waiting for join, a join whose incoming flows version 2 changes",)


def test_an_unchanged_version_carries_everything_over_with_data_and_due_times():
    v1, v2 = version(1, PARALLEL), version(2, PARALLEL.replace('name="Task A"', 'name="Task A, renamed"'))
    workflow = started(v1)
    tasks = {name: t.task_id for name, t in ready(workflow).items()}
    [timer] = runner.waiting_timers(workflow)
    assert migration.carry_over(workflow, migration.compare(v1, v2), CLOCK).can_move
    moved = state.load(state.dump(workflow), v2.spec, v2.subprocess_specs, SCRIPT_ENGINE)
    assert {name: t.task_id for name, t in ready(moved).items()} == tasks
    assert ready(moved)["a"].name == "Task A, renamed"
    assert runner.waiting_timers(moved) == [timer]
    assert timer.due_at == datetime(2026, 12, 31, 1, 0, tzinfo=timezone.utc)
    runner.complete(moved, tasks["a"], {}, clock=CLOCK)
    runner.complete(moved, tasks["b"], {}, clock=CLOCK)
    assert moved.is_completed()
