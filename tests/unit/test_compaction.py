"""Compaction: a compacted case behaves exactly like an uncompacted one, and stays small and shallow."""
import copy
import json
import statistics
import time
from datetime import datetime, timedelta, timezone
from uuid import UUID

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.util.task import TaskState

from engine.workflow import runner, state
from engine.workflow.compaction import compact
from tests.unit.workflow_helpers import SCRIPT_ENGINE, parsed

#: SpiffWorkflow's timer clock stands still here, so both cases compute the same due times.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        return NOW.astimezone(tz) if tz else NOW.replace(tzinfo=None)


@pytest.fixture(autouse=True)
def frozen_timer_clock(monkeypatch):
    monkeypatch.setattr(spiff_timer, "datetime", _FrozenDatetime)


def observe(wf):
    """What a user or the scheduler sees: READY tasks with their data, timers, the outcome."""
    ready = [(t.spec_name, t.lane, wf.get_task_from_id(UUID(t.task_id)).data) for t in runner.ready_manual_tasks(wf)]
    timers = [(t.spec_name, t.due_at) for t in runner.waiting_timers(wf)]
    return ready, timers, wf.is_completed(), wf.data if wf.is_completed() else None


class Case:
    """A workflow saved and restored after every step, compacted on save or not."""

    def __init__(self, definition, data, compacting):
        self.definition, self.compacting = definition, compacting
        self.specs = definition.spec, definition.subprocess_specs
        self.cycle(runner.start(definition, data, SCRIPT_ENGINE))

    def cycle(self, wf):
        dct = json.loads(state.dump(wf))
        if self.compacting:
            compact(dct, *self.specs)
        self.text = json.dumps(dct, separators=(",", ":"), ensure_ascii=False)
        self.wf = self.load()

    def load(self):
        return state.load(self.text, *self.specs, SCRIPT_ENGINE)

    def names(self):
        return [name for name, _, _ in observe(self.wf)[0]]

    def apply(self, action):
        if action[0] == "expire":  # a timer due in the past fires on the next steps
            for task in self.wf.get_tasks(state=TaskState.WAITING, spec_name=action[1]):
                task.internal_data["event_value"] = (NOW - timedelta(seconds=1)).isoformat()
            runner.run_steps(self.wf)
        else:
            _, index, data = action
            runner.complete(self.wf, runner.ready_manual_tasks(self.wf)[index].task_id, data)
        self.cycle(self.wf)

    def complete(self, name, data):
        names = self.names()
        assert name in names, f"{name} is not READY: {names}"
        self.apply(("complete", names.index(name), data))


def run_both(definition, data, policy, max_steps=400):
    """Drive a plain and a compacted case with the same choices; both must see the same at every step."""
    plain, compacted = Case(definition, data, False), Case(definition, data, True)
    for step in range(max_steps):
        seen = observe(plain.wf)
        assert observe(compacted.wf) == seen, f"the cases differ at step {step}"
        if seen[2]:
            return plain, compacted
        action = policy(step, plain.names())
        plain.apply(action)
        compacted.apply(action)
    raise AssertionError("the scenario did not complete")


def approval_policy(rounds, fire_every=0):
    returned, fired = [], set()

    def policy(step, names):
        if "confirm" in names:
            return "complete", names.index("confirm"), {"agency": "工務局", "notes": ["received"]}
        if "chase" in names and step % 2:  # keys only a chase sets reach the end through the EndJoin
            return "complete", names.index("chase"), {"chased": step, f"chase_{step}": True}
        if names == ["draft"] and fire_every and len(returned) % fire_every == 1 and len(returned) not in fired:
            fired.add(len(returned))
            return "expire", "draft_overdue"
        if "draft" in names:
            return "complete", names.index("draft"), {"reply": f"reply {len(returned)}"}
        if "approve" in names:
            returned.append("return" if len(returned) < rounds else "approve")
            return "complete", names.index("approve"), {"decision": returned[-1]}
        return "complete", 0, {"chased": step}
    return policy


APPROVAL_START = {"case_no": "P-7", "petitioner": {"name": "王小明"}}


@pytest.mark.parametrize("fire_every", [0, 3], ids=["no timer", "timer fires every third round"])
def test_approval_return_loop_behaves_the_same_when_compacted(fire_every):
    run_both(parsed("approval", "approval.bpmn"), APPROVAL_START, approval_policy(30, fire_every))


def parallel_policy(rounds):
    """Reviews arrive in alternating order; the update is done every third step, `rounds` times."""
    updates = []

    def policy(step, names):
        if names == ["update"] or ("update" in names and step % 3 == 0):
            updates.append(step)
            return "complete", names.index("update"), {"finished": len(updates) > rounds, "note": step}
        index = -(step % 2)
        return "complete", index, {names[index]: step}
    return policy


def test_parallel_reviews_in_a_loop_behave_the_same_when_compacted():
    """Arrival order alternates; SpiffWorkflow 3.2 then lets the join fire early, in both cases."""
    run_both(parsed("parallel_loop", "compaction/parallel_loop.bpmn"), {"case_no": "C-1"}, parallel_policy(10))


def test_loop_with_reminder_escalation_and_waiting_timers_behaves_the_same_when_compacted():
    decisions = ["again", "rework", "again", "rework", "rework", "again", "rework", "rework"] * 2 + ["close"]

    def policy(step, names):
        if "remind" in names and (step % 3 == 0 or names == ["remind"]):
            return "complete", names.index("remind"), {"reminded": step}
        if not names:
            return "expire", "cool_off"
        if "work" in names:
            if step % 5 == 1:
                return "expire", "nudge"
            return "complete", names.index("work"), {"note": f"draft {step}"}
        if "review" in names and step % 4 == 2:
            return "expire", "lapse"
        name = "review" if "review" in names else "escalate"
        return "complete", names.index(name), {"decision": decisions.pop(0)}
    run_both(parsed("deadline_loop", "compaction/deadline_loop.bpmn"), {"case_no": "D-1", "rounds": 0}, policy)


def test_call_activity_in_a_loop_behaves_the_same_when_compacted():
    checks, fired = [], set()

    def policy(step, names):
        if names == ["write"] and len(checks) % 3 == 1 and len(checks) not in fired:
            fired.add(len(checks))
            return "expire", "write_late"
        if "write" in names:
            return "complete", names.index("write"), {"summary": f"month {step}"}
        checks.append(step)
        return "complete", names.index("check"), {"decision": "close" if len(checks) > 12 else "more"}
    _, compacted = run_both(parsed("call_loop", "compaction/call_loop.bpmn"), {"case_no": "K-1"}, policy)
    assert compacted.wf.data["reports"] == 13


def test_sequential_and_parallel_multi_instance_tasks_in_a_loop_behave_the_same_when_compacted():
    tallies = []

    def policy(step, names):
        if "tally" in names:
            tallies.append(step)
            return "complete", names.index("tally"), {"decision": "carried" if len(tallies) > 6 else "again"}
        return "complete", step % len(names), {"said": f"view {step}", "ballot": step % 2}
    _, compacted = run_both(parsed("mi_loop", "compaction/mi_loop.bpmn"), {"seats": 3}, policy)
    assert len(compacted.wf.data["votes"]) == 3


def returned(compacting, rounds):
    """The approval case after the reply was returned `rounds` times, waiting for the next draft."""
    case = Case(parsed("approval", "approval.bpmn"), APPROVAL_START, compacting)
    case.complete("confirm", {"agency": "工務局", "notes": ["received"]})
    for number in range(rounds):
        case.complete("draft", {"reply": f"reply {number}"})
        case.complete("approve", {"decision": "return"})
    return case


def depth(dct):
    levels, level = 0, [dct["root"]]
    while level:
        levels += 1
        level = [child for task_id in level for child in dct["tasks"][task_id]["children"]]
    return levels


def measured(case, runs=200):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        case.load()
        times.append(time.perf_counter() - started)
    stored = json.loads(case.text)
    return (f"{len(case.text.encode())} B, {len(stored['tasks'])} tasks, depth {depth(stored)}, "
            f"load {statistics.median(times) * 1000:.2f} ms")


def test_approval_state_after_24_rounds_is_small_and_as_large_as_after_2(capsys):
    small, large, plain = returned(True, 2), returned(True, 24), returned(False, 24)
    assert len(large.text.encode()) < 16_000
    assert len(large.text) - len(small.text) < 100  # only the round numbers in the data differ
    assert depth(json.loads(large.text)) == depth(json.loads(small.text))
    with capsys.disabled():
        print(f"\napproval after 2 rounds, compacted: {measured(small)}"
              f"\napproval after 24 rounds, compacted: {measured(large)}"
              f"\napproval after 24 rounds, uncompacted: {measured(plain)}")


@pytest.mark.slow
def test_approval_loop_keeps_working_past_1200_rounds_when_compacted(capsys):
    case = returned(True, 1200)  # uncompacted, the tree stalls or overflows the stack long before
    assert depth(json.loads(case.text)) < 20
    with capsys.disabled():
        print(f"\napproval after 1200 rounds, compacted: {measured(case)}")
    case.complete("draft", {"reply": "final"})
    case.complete("approve", {"decision": "approve"})
    assert case.wf.is_completed() and case.wf.data["reply"] == "final"


def test_compacting_twice_or_after_a_restore_changes_nothing_and_survives_reordered_keys():
    plain, policy = Case(parsed("approval", "approval.bpmn"), APPROVAL_START, False), approval_policy(5, 2)
    for step in range(40):
        once = compact(json.loads(state.dump(plain.wf)), *plain.specs)
        if plain.wf.is_completed():  # a finished case is left as it is
            assert once == json.loads(state.dump(plain.wf))
        assert compact(copy.deepcopy(once), *plain.specs) == once
        assert once["last_task"] is None or once["last_task"] in once["tasks"]
        once["tasks"] = dict(sorted(once["tasks"].items()))  # any order, as JSONB would store it
        restored = state.load(json.dumps(once), *plain.specs, SCRIPT_ENGINE)
        again = json.loads(state.dump(restored))
        assert compact(copy.deepcopy(again), *plain.specs) == again
        assert observe(restored) == observe(plain.wf)
        if plain.wf.is_completed():
            return
        plain.apply(policy(step, plain.names()))
    raise AssertionError("the scenario did not complete")


def test_subprocesses_of_removed_call_activities_are_dropped():
    case = Case(parsed("call_loop", "compaction/call_loop.bpmn"), {"case_no": "K-2"}, True)
    for month in range(8):
        case.complete("write", {"summary": f"month {month}"})
        case.complete("check", {"decision": "more"})
    stored = json.loads(case.text)
    assert len(stored["subprocesses"]) == 1 and set(stored["subprocesses"]) <= set(stored["tasks"])



@pytest.mark.parametrize("name, path, start, make_policy", [
    ("approval", "approval.bpmn", APPROVAL_START, lambda: approval_policy(6, 2)),
    ("parallel_loop", "compaction/parallel_loop.bpmn", {"case_no": "C-2"}, lambda: parallel_policy(6)),
], ids=["approval loop with a timer", "parallel reviews in a loop"])
def test_a_saved_state_restored_and_saved_again_is_the_same_text(name, path, start, make_policy):
    """Re-attached tasks are stored in the form SpiffWorkflow writes, so saving again changes nothing."""
    case, policy = Case(parsed(name, path), start, False), make_policy()  # text as state.dump wrote it
    sizes = []
    for step in range(200):
        assert state.dump(case.load()) == case.text, f"step {step}"
        sizes.append(len(json.loads(case.text)["tasks"]))
        if case.wf.is_completed():
            assert any(b < a for a, b in zip(sizes, sizes[1:])), "compaction never removed a task"
            return
        case.apply(policy(step, case.names()))
    raise AssertionError("the scenario did not complete")
