"""Carry a running workflow over to another deployed version of its process.

The alignment is SpiffWorkflow's own (`SpiffWorkflow.bpmn.util.diff`): `SpecDiff` matches the
task specs of two versions (by BPMN id, then by their place among aligned neighbours) and
lists what changed in each; `WorkflowDiff` applies that to one instance; `migrate_workflow`
re-attaches the instance's tasks to the new specs and re-predicts what follows the tasks it
waits on. Around that, this module decides what it may not carry over, conservatively, and
says why in words naming the element:

- a task the workflow waits on (READY, WAITING, STARTED) that the new version removes, or that
  the new version changes in a way a waiting task cannot take (another kind of task, another
  event or timer, other scripts or data mappings, another deadline mode);
- a task in ERROR, or a case whose workflow stopped on an error;
- anything of its history (completed tasks still kept) the new version no longer has: the
  state could not be loaded again;
- a called or embedded subprocess the case has entered that the new version changes at all;
- a waiting event-based gateway (SpiffWorkflow's own migration of those is known to break).

`migrate_workflow` resets the tasks it re-predicts: their data is copied from their parent
again and a waiting timer computes its due time again from now. Both are put back as they
were, so a move neither loses what a task held nor restarts a deadline.
"""
from __future__ import annotations

import copy
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

from engine.workflow import spiff_clock, state
from engine.workflow.specs import ParsedDefinition

#: Tasks a workflow waits on: what a move must find a safe place for in the new version.
ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED

#: What may differ in the new version's spec of a task the workflow waits on: where it leads
#: (the next tasks), where it sits, what it is called and shows, the form and properties of a
#: user task (the inbox row is re-synced), and its post-script (it runs when the task completes).
_CARRIED = frozenset({"inputs", "outputs", "lane", "bpmn_name", "documentation", "description", "lookahead",
                      "extensions", "postscript"})

#: Task properties whose change would alter the deadline of work already open.
_DEADLINE_PROPERTIES = ("deadline", "escalate")

_KIND = {"typename": "its kind of element", "event_definition": "the event it waits for",  # "... changes <this>"
         "prescript": "its pre-script", "script": "its script", "cancel_activity": "whether it interrupts",
         "io_specification": "its inputs and outputs", "data_input_associations": "its data mappings",
         "data_output_associations": "its data mappings", "manual": "whether it waits for a person",
         "cond_task_specs": "its conditions", "default_task_spec": "its default flow"}


def element(spec) -> str:
    """A task spec as a reader knows it: '擬辦答復 (draft_reply)', or its id alone."""
    bpmn_id = getattr(spec, "bpmn_id", None) or spec.name
    name = getattr(spec, "bpmn_name", None)
    return f"{name} ({bpmn_id})" if name and name != bpmn_id else bpmn_id


@dataclass(frozen=True)
class DefinitionDiff:
    """Two versions of a process compared once: the top process and each subprocess spec."""

    old: ParsedDefinition
    new: ParsedDefinition
    top: SpecDiff
    #: subprocess spec name -> SpecDiff, or None when the new version does not have it.
    subprocesses: dict = field(default_factory=dict)

    def subprocess_changed(self, name: str) -> bool:
        diff = self.subprocesses.get(name)
        return diff is None or bool(diff.added or diff.removed or diff.changed)


_diffs: dict[tuple[int, int], DefinitionDiff] = {}
_lock = threading.Lock()


def compare(old: ParsedDefinition, new: ParsedDefinition) -> DefinitionDiff:
    """The diff of two deployed versions, computed once per pair (deployed versions never change)."""
    key = (old.id, new.id)
    found = _diffs.get(key)
    if found is not None and found.old is old and found.new is new:
        return found
    subprocesses = {name: SpecDiff(state.REGISTRY, spec, new.subprocess_specs[name])
                    if name in new.subprocess_specs else None
                    for name, spec in old.subprocess_specs.items()}
    diff = DefinitionDiff(old, new, SpecDiff(state.REGISTRY, old.spec, new.spec), subprocesses)
    with _lock:
        if len(_diffs) > 64:
            _diffs.clear()
        _diffs[key] = diff
    return diff


@dataclass(frozen=True)
class Outcome:
    """What carrying a workflow over found: why it may not move (empty: it moved)."""

    reasons: tuple[str, ...]

    @property
    def can_move(self) -> bool:
        return not self.reasons


def _properties(spec) -> dict:
    return (getattr(spec, "extensions", None) or {}).get("properties", {}) or {}


def _doing(task) -> str:
    """'waiting at' a task, 'waiting for' an event (a timer, a message)."""
    return "waiting for" if task.state == TaskState.WAITING else "waiting at"


def _why_not_carried(task, new_spec, changes: list[str], to_version: int) -> str | None:
    """Why a task the workflow waits on cannot be carried to its spec in the new version, or None."""
    where, doing = element(task.task_spec), _doing(task)
    if "typename" in changes:
        return f"{doing} {where}, which version {to_version} makes another kind of element"
    if type(task.task_spec).__name__ == "EventBasedGateway":
        return f"{doing} {where}, an event-based gateway, which cannot be carried over safely"
    if "inputs" in changes and isinstance(task.task_spec, Join):
        # A join counts the flows that reach it: one more in the new version may never come.
        return f"{doing} {where}, a join whose incoming flows version {to_version} changes"
    refused = sorted({_KIND.get(c, c) for c in changes if c not in _CARRIED})
    if refused:
        return f"{doing} {where}: version {to_version} changes {', '.join(refused)}"
    if "extensions" in changes:
        before, after = _properties(task.task_spec), _properties(new_spec)
        if any(before.get(p) != after.get(p) for p in _DEADLINE_PROPERTIES):
            return f"{doing} {where}: version {to_version} changes its deadline handling"
    return None


def _check_subprocesses(workflow, diff: DefinitionDiff, to_version: int) -> list[str]:
    reasons = []
    for sub in workflow.subprocesses.values():
        name = sub.spec.name
        if name not in diff.new.subprocess_specs:
            reasons.append(f"it has entered the subprocess {name}, which version {to_version} does not have")
        elif diff.subprocess_changed(name):
            reasons.append(f"it has entered the subprocess {name}, which version {to_version} changes; "
                           "cases inside a changed subprocess are not moved")
    return reasons


def _split_of(specs) -> object | None:
    return next((s for s in specs if type(s).__name__ == "BoundaryEventSplit"), None)


def _boundary_changed(task, spec_diff: SpecDiff) -> bool:
    """Whether the boundary events around a waiting task differ in the new version: added, removed,
    or the task newly given some or left with none."""
    parent = task.parent.task_spec if task.parent is not None else None
    old_split = parent if type(parent).__name__ == "BoundaryEventSplit" else None
    new_split = _split_of(spec_diff.alignment[task.task_spec].inputs)
    if old_split is None or new_split is None:
        return (old_split is None) != (new_split is None)
    return spec_diff.alignment.get(old_split) is not new_split or "outputs" in spec_diff.changed.get(old_split, ())


def _check_active(workflow, spec_diff: SpecDiff, new_specs: dict, to_version: int) -> list[str]:
    reasons = []
    removed, changed = set(spec_diff.removed), spec_diff.changed
    for task in workflow.get_tasks(state=ACTIVE | TaskState.ERROR, skip_subprocesses=True):
        if task.state == TaskState.ERROR:
            reasons.append(f"{element(task.task_spec)} failed and waits to be retried")
            continue
        if task.task_spec in removed or spec_diff.alignment.get(task.task_spec) is None:
            gone = "removes" if task.task_spec.name not in new_specs else "no longer connects the same way"
            reasons.append(f"{_doing(task)} {element(task.task_spec)}, which version {to_version} {gone}")
            continue
        if task.task_spec in changed:
            why = _why_not_carried(task, spec_diff.alignment[task.task_spec], changed[task.task_spec], to_version)
            if why:
                reasons.append(why)
        if _boundary_changed(task, spec_diff):
            # Its boundary events (timers, messages) were armed when it began to wait: one the new
            # version adds would never be.
            reasons.append(f"{_doing(task)} {element(task.task_spec)}, whose boundary events version "
                           f"{to_version} changes")
    return list(dict.fromkeys(reasons))


def _carry(workflow, spec_diff: SpecDiff, new_spec) -> None:
    """Re-attach one workflow (the top one or a subprocess) to the new spec, keeping the data and
    due times of the tasks it waits on."""
    kept = {task.id: (task.state, copy.deepcopy(task.data), copy.deepcopy(task.internal_data),
                      getattr(task.task_spec, "event_definition", None))
            for task in workflow.get_tasks(state=ACTIVE, skip_subprocesses=True)}
    migrate_workflow(WorkflowDiff(workflow, spec_diff), workflow, new_spec)
    # migrate_workflow re-predicts only below the READY and WAITING tasks. Below a task that has
    # started (a subprocess the case is inside) the old version's path would stay: a step the new
    # version adds after the subprocess would never come. What follows an unfinished task is only
    # predicted, so it is predicted again from the new spec.
    for task in workflow.get_tasks(state=TaskState.STARTED, skip_subprocesses=True):
        task._drop_children(force=True)
        task.task_spec._predict(task, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE | TaskState.STARTED)
    for task_id, (task_state, data, internal, event_definition) in kept.items():
        task = workflow.tasks.get(task_id)
        if task is None or task.state != task_state:
            continue
        task.data = data
        if task_state == TaskState.WAITING and getattr(task.task_spec, "event_definition", None) == event_definition:
            task.internal_data = internal  # the due time computed when it began to wait


def _foreign(workflow, new: ParsedDefinition, to_version: int) -> list[str]:
    """Tasks still on a spec the new version does not have (its history): the state would not load."""
    reasons = []
    for wf in (workflow, *workflow.subprocesses.values()):
        specs = wf.spec.task_specs
        for task in wf.tasks.values():
            if specs.get(task.task_spec.name) is not task.task_spec:
                reasons.append(f"its history holds {element(task.task_spec)}, which version {to_version} removes")
    return sorted(set(reasons))


def carry_over(workflow, diff: DefinitionDiff, clock=None, *, prove: bool = True) -> Outcome:
    """Check the workflow may move to the diff's new version and, if so, move it (in memory), and
    (`prove`) show the moved state saves and loads on the new version: the move does, before it
    saves; a dry run, at about twice the speed without, relies on the checks above it.

    On refusal the workflow may be half moved: load it again rather than use it.
    """
    to_version = diff.new.version
    reasons = (_check_active(workflow, diff.top, diff.new.spec.task_specs, to_version)
               + _check_subprocesses(workflow, diff, to_version))
    if reasons:
        return Outcome(tuple(dict.fromkeys(reasons)))
    step = getattr(workflow.script_engine, "step", None)  # the time limit of scripts a reset re-runs
    try:
        with spiff_clock.using(clock), (step() if step is not None else nullcontext()):
            _carry(workflow, diff.top, diff.new.spec)
            for sub in workflow.subprocesses.values():
                _carry(sub, diff.subprocesses[sub.spec.name], diff.new.subprocess_specs[sub.spec.name])
            workflow.subprocess_specs = diff.new.subprocess_specs
        reasons = _foreign(workflow, diff.new, to_version)
        if reasons:
            return Outcome(tuple(reasons))
        # Saved, a state that does not load would leave the case stuck for good.
        if prove:
            state.load(state.dump(workflow), diff.new.spec, diff.new.subprocess_specs, workflow.script_engine)
    except Exception as exc:  # noqa: BLE001 - a refusal that names the fault, never a half-moved case
        text = (str(exc).splitlines() or [""])[0][:300]
        return Outcome((f"version {to_version} cannot take its state: {type(exc).__name__}"
                        + (f": {text}" if text else ""),))
    return Outcome(())
