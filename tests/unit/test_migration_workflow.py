"""engine.workflow.migration alone: carrying a workflow over to another version in memory."""
from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID

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


SUB = bundle("migrate_sub.bpmn")["migrate_sub.bpmn"]

#: Version 2 of migrate_sub with the subprocess unchanged: after the reply, the case is archived.
SUB_ARCHIVED = (SUB
                .replace('<bpmn:incoming>f4</bpmn:incoming>\n    </bpmn:endEvent>',
                         '<bpmn:incoming>f5</bpmn:incoming>\n    </bpmn:endEvent>')
                .replace('<bpmn:endEvent id="end">',
                         '<bpmn:userTask id="archive" name="Archive"><bpmn:incoming>f4</bpmn:incoming>'
                         '<bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>\n    <bpmn:endEvent id="end">')
                .replace('<bpmn:sequenceFlow id="f4" sourceRef="reply" targetRef="end" />',
                         '<bpmn:sequenceFlow id="f4" sourceRef="reply" targetRef="archive" />'
                         '<bpmn:sequenceFlow id="f5" sourceRef="archive" targetRef="end" />'))

#: Version 2 of migrate_sub whose subprocess checks twice.
SUB_CHECKED_TWICE = (SUB
                     .replace('<bpmn:incoming>s2</bpmn:incoming>\n      </bpmn:endEvent>',
                              '<bpmn:incoming>s3</bpmn:incoming>\n      </bpmn:endEvent>')
                     .replace('<bpmn:endEvent id="review_end">',
                              '<bpmn:userTask id="second_check" name="Check again"><bpmn:incoming>s2</bpmn:incoming>'
                              '<bpmn:outgoing>s3</bpmn:outgoing></bpmn:userTask>\n      <bpmn:endEvent id="review_end">')
                     .replace('<bpmn:sequenceFlow id="s2" sourceRef="check" targetRef="review_end" />',
                              '<bpmn:sequenceFlow id="s2" sourceRef="check" targetRef="second_check" />'
                              '<bpmn:sequenceFlow id="s3" sourceRef="second_check" targetRef="review_end" />'))

#: Version 2 of migrate_sub without its subprocess: the reply follows the intake.
SUB_NO_REVIEW = (SUB[:SUB.index('    <bpmn:subProcess')] + SUB[SUB.index('    <bpmn:userTask id="reply"'):]
                 .replace('<bpmn:incoming>f3</bpmn:incoming>', '<bpmn:incoming>f2</bpmn:incoming>')
                 .replace('<bpmn:sequenceFlow id="f2" sourceRef="intake" targetRef="review" />',
                          '<bpmn:sequenceFlow id="f2" sourceRef="intake" targetRef="reply" />')
                 .replace('<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="reply" />', ''))


def sub_version(number: int, text: str) -> ParsedDefinition:
    spec, subs = parse_process("migrate_sub", {"migrate_sub.bpmn": text})
    return ParsedDefinition(200 + number, "migrate_sub", number, spec, subs)


def in_review(v1):
    """A case of migrate_sub version 1 that has entered its subprocess and waits at its check."""
    workflow = reload(runner.start(v1, {"subject": "路燈不亮"}, SCRIPT_ENGINE, clock=CLOCK), v1)
    runner.complete(workflow, ready(workflow)["intake"].task_id, {"urgent": True}, clock=CLOCK)
    return reload(workflow, v1)


def test_a_case_inside_an_unchanged_subprocess_moves_and_follows_the_new_top_process():
    v1, v2 = sub_version(1, SUB), sub_version(2, SUB_ARCHIVED)
    workflow = in_review(v1)
    check = ready(workflow)["check"]
    outcome = migration.carry_over(workflow, migration.compare(v1, v2), CLOCK)
    assert outcome.can_move, outcome.reasons
    moved = state.load(state.dump(workflow), v2.spec, v2.subprocess_specs, SCRIPT_ENGINE)
    assert ready(moved)["check"].task_id == check.task_id  # the same open work, not a new one
    runner.complete(moved, check.task_id, {"checked": True}, clock=CLOCK)
    moved = reload(moved, v2)
    runner.complete(moved, ready(moved)["reply"].task_id, {}, clock=CLOCK)
    moved = reload(moved, v2)
    assert list(ready(moved)) == ["archive"]  # the step version 2 added after the subprocess
    archive = moved.get_task_from_id(UUID(ready(moved)["archive"].task_id))
    assert archive.data["urgent"] is True and archive.data["checked"] is True  # nothing held was lost


def test_a_case_inside_a_subprocess_the_new_version_changes_is_refused_and_loads_as_it_was():
    v1, v2 = sub_version(1, SUB), sub_version(2, SUB_CHECKED_TWICE)
    workflow = in_review(v1)
    saved = state.dump(workflow)
    outcome = migration.carry_over(workflow, migration.compare(v1, v2), CLOCK)
    assert outcome.reasons == ("it has entered the subprocess review, which version 2 changes; "
                               "cases inside a changed subprocess are not moved",)
    as_it_was = state.load(saved, v1.spec, v1.subprocess_specs, SCRIPT_ENGINE)
    runner.complete(as_it_was, ready(as_it_was)["check"].task_id, {}, clock=CLOCK)
    assert list(ready(reload(as_it_was, v1))) == ["reply"]


def test_a_case_inside_a_subprocess_the_new_version_drops_is_refused():
    v1, v2 = sub_version(1, SUB), sub_version(2, SUB_NO_REVIEW)
    assert "review" not in v2.subprocess_specs
    outcome = migration.carry_over(in_review(v1), migration.compare(v1, v2), CLOCK)
    assert "it has entered the subprocess review, which version 2 does not have" in outcome.reasons


def test_a_case_before_a_changed_subprocess_moves_and_then_runs_the_new_subprocess():
    v1, v2 = sub_version(1, SUB), sub_version(2, SUB_CHECKED_TWICE)
    workflow = reload(runner.start(v1, {}, SCRIPT_ENGINE, clock=CLOCK), v1)
    intake = ready(workflow)["intake"]
    assert migration.carry_over(workflow, migration.compare(v1, v2), CLOCK).can_move
    moved = state.load(state.dump(workflow), v2.spec, v2.subprocess_specs, SCRIPT_ENGINE)
    runner.complete(moved, intake.task_id, {}, clock=CLOCK)
    moved = reload(moved, v2)
    runner.complete(moved, ready(moved)["check"].task_id, {}, clock=CLOCK)
    moved = reload(moved, v2)
    assert list(ready(moved)) == ["second_check"]  # version 2's subprocess, entered after the move
