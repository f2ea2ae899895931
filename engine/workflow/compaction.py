"""Prune finished history from a serialized workflow so its size and depth follow what is active.

SpiffWorkflow 3.2 keeps every task a case ever ran: a loop grows the state by a few kilobytes a
round and, past about 333 rounds, makes the task tree deeper than the 1,000 levels its iterators
look at, after which READY tasks are silently no longer found. `compact` keeps the root, every
unfinished task with everything below it, and the finished tasks SpiffWorkflow code can still
read from an unfinished (or future) task; every other task is removed and the kept tasks are
re-attached to their nearest kept ancestor, in the same depth-first order. What is kept, and why
(the code that reads it):

* the parent of each unfinished task: `_inherit_data` copies the parent's data, joins read its
  state and spec (`UnstructuredJoin`, `ParallelGateway`, `InclusiveGateway`);
* for an unfinished structured join (`BoundaryEventJoin`, `StartEventJoin`): the path up to the
  split it names and the split's direct children (`find_ancestor`, `split_task.children`);
* every task of an unstructured join spec (parallel gateways, diverging ones included; inclusive
  gateways; the process EndJoin) that is not an ancestor of all unfinished tasks, with its parent: `UnstructuredJoin._run_hook` merges the
  data of all such tasks' parents into the join, and `ParallelGateway` counts their parents as
  arrived inputs (in loops this makes it fire early: see the tests), so they are kept as is;
* the topmost tasks of each inclusive gateway spec, with their parents: its threshold scan stops
  at them (`get_tasks(end_at_spec=...)`);
* above each unfinished subtree, the nearest ancestor of each join spec (scans that stop at a
  join) and of each parallel-gateway input spec (`ParallelGateway` walks up to the first one).

A re-attached task stores its data as a delta against its new parent, written the way
`TaskConverter.to_dict` writes one (the keys in the order the restored task will have them),
so the stored form is the one SpiffWorkflow itself writes. (Whether a run did anything is
decided on task states, not on the text: engine.workflow.runner.task_states.) Subprocesses are compacted the same way; a subprocess whose owning task was
removed is dropped. Workflows without unfinished tasks and ad hoc subprocesses (which read the
root's children) are left as they are. Meant to run on every save (engine.workflow.state.dump), it is
linear in the number of tasks.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import AdHocSubprocessSpec
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

#: States of a task that will never run again; anything else (ERROR included) is unfinished.
FINISHED = TaskState.COMPLETED | TaskState.CANCELLED


@dataclass(frozen=True)
class _Kinds:
    """The task spec names of one process that compaction treats specially."""

    merge_joins: frozenset   # unstructured joins: read every same-spec task outside their path
    inclusive: frozenset     # inclusive gateways: scan the tree down to the first same-spec task
    watched: frozenset       # joins and parallel inputs: nearest ancestor of active work is kept
    split_of: dict           # structured join name -> the name of its split
    adhoc: bool


#: Special task spec names per parsed process spec, worked out once per deployed version.
_KINDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _kinds(spec) -> _Kinds:
    kinds = _KINDS.get(spec)
    if kinds is None:
        specs = spec.task_specs.values()
        joins = {ts.name for ts in specs if isinstance(ts, Join)}
        inputs = {i.name for ts in specs if isinstance(ts, ParallelGateway) for i in ts.inputs}
        kinds = _Kinds(
            merge_joins=frozenset(ts.name for ts in specs if isinstance(ts, UnstructuredJoin)),
            inclusive=frozenset(ts.name for ts in specs if isinstance(ts, InclusiveGateway)),
            watched=frozenset(joins | inputs),
            split_of={ts.name: ts.split_task for ts in specs
                      if isinstance(ts, Join) and getattr(ts, "split_task", None)},
            adhoc=isinstance(spec, AdHocSubprocessSpec))
        _KINDS[spec] = kinds
    return kinds


def compact(dct: dict, spec, subprocess_specs: dict | None = None) -> dict:
    """Remove finished history from a serialized workflow, in place; returns the same dict.

    `dct` is `BpmnWorkflowSerializer.to_dict(workflow)` (with or without its spec keys, as
    stored by engine.workflow.state); `spec` and `subprocess_specs` are the parsed spec objects the
    state belongs to (task spec names alone do not say which tasks are joins). Compacting an
    already compacted state changes nothing.
    """
    subprocess_specs = subprocess_specs or {}
    _compact_workflow(dct, spec)
    subprocesses = dct.get("subprocesses") or {}
    for sub in subprocesses.values():
        sub_spec = subprocess_specs.get(sub.get("spec"))
        if sub_spec is not None:
            _compact_workflow(sub, sub_spec)
    live = set(dct["tasks"]).union(*(sub["tasks"] for sub in subprocesses.values()))
    orphans = [owner for owner in subprocesses if owner not in live]
    while orphans:  # a dropped subprocess takes the subprocesses its tasks owned with it
        for owner in orphans:
            live.difference_update(subprocesses.pop(owner)["tasks"])
        orphans = [owner for owner in subprocesses if owner not in live]
    return dct


def _compact_workflow(wf: dict, spec) -> None:
    kinds = _kinds(spec)
    if kinds.adhoc:
        return
    tasks, root = wf["tasks"], wf["root"]
    keep = _kept(tasks, root, kinds)
    if keep is None or len(keep) == len(tasks):
        return
    # Re-attach each kept task to its nearest kept ancestor, in pre-order (parents first).
    anchor, children, full = {}, {}, {}
    for task_id in _preorder(tasks, root):
        task = tasks[task_id]
        parent = task["parent"]
        if task_id not in keep:
            anchor[task_id] = anchor[parent]
            continue
        anchor[task_id] = task_id
        children[task_id] = []
        if parent is None:
            continue
        new_parent = anchor[parent]
        children[new_parent].append(task_id)
        if new_parent != parent:
            delta = _delta(_full_data(tasks, new_parent, full), _full_data(tasks, task_id, full))
            task["parent"], task["data"], task["delta"] = new_parent, {}, delta
    wf["tasks"] = {task_id: tasks[task_id] for task_id in children}
    for task_id, kids in children.items():
        tasks[task_id]["children"] = kids
    if wf.get("last_task") not in children:
        wf["last_task"] = None  # SpiffWorkflow only uses it as a search start (run_next)


def _preorder(tasks: dict, root: str):
    stack = [root]
    while stack:
        task_id = stack.pop()
        yield task_id
        stack.extend(reversed(tasks[task_id]["children"]))


def _kept(tasks: dict, root: str, kinds: _Kinds) -> set | None:
    """The ids to keep, or None when nothing may be removed (nothing active, or a malformed tree)."""
    keep, active, unfinished = {root}, set(), {}
    candidates, path, on_path = [], [], {name: [] for name in kinds.watched}
    stack = [(root, None, False)]
    seen = 0
    while stack:
        task_id, parent, leaving = stack.pop()
        task = tasks.get(task_id)
        if task is None or task["parent"] != parent:
            return None
        spec_name = task["task_spec"]
        if leaving:
            path.pop()
            if spec_name in on_path:
                on_path[spec_name].pop()
            if parent is not None:
                unfinished[parent] += unfinished[task_id]
            continue
        seen += 1
        is_unfinished = not task["state"] & FINISHED
        unfinished[task_id] = int(is_unfinished)
        if is_unfinished or parent in active:
            keep.add(task_id)
            active.add(task_id)
            if parent is not None and parent not in active:  # the top of an active subtree
                keep.add(parent)
                keep.update(ids[-1] for ids in on_path.values() if ids)
        if is_unfinished and spec_name in kinds.split_of:
            _keep_path_to_split(tasks, path, kinds.split_of[spec_name], keep)
        if spec_name in kinds.merge_joins:
            candidates.append(task_id)
        if spec_name in kinds.inclusive and not on_path[spec_name] and parent is not None:
            keep.update((task_id, parent))
        if spec_name in on_path:
            on_path[spec_name].append(task_id)
        path.append(task_id)
        stack.append((task_id, parent, True))
        stack.extend((child, task_id, False) for child in reversed(task["children"]))
    total = unfinished[root]
    if total == 0 or seen != len(tasks):
        return None
    for task_id in candidates:
        if unfinished[task_id] < total:  # not above every unfinished task: a future join reads it
            keep.update((task_id, tasks[task_id]["parent"]))
    return keep


def _keep_path_to_split(tasks: dict, path: list, split_name: str, keep: set) -> None:
    for task_id in reversed(path):
        keep.add(task_id)
        if tasks[task_id]["task_spec"] == split_name:
            keep.update(tasks[task_id]["children"])
            return


def _delta(parent: dict, data: dict) -> dict:
    """What TaskConverter.to_dict writes for a task with these data under a parent with those.

    Keys come in the order the restored task's data will have them (the parent's keys, then
    the new ones), so dumping the restored workflow writes the same delta again.
    """
    changed = {key: data[key] for key in parent if key in data and data[key] != parent[key]}
    changed.update((key, value) for key, value in data.items() if key not in parent)
    return {"updates": changed, "deletions": [key for key in parent if key not in data]}


def _full_data(tasks: dict, task_id: str, full: dict) -> dict:
    """A task's data in full: its parent's, updated by its delta (as TaskConverter restores it)."""
    chain = []
    while task_id not in full:
        task = tasks[task_id]
        if task["parent"] is None or not task.get("delta"):
            full[task_id] = dict(task["data"])
            break
        chain.append(task_id)
        task_id = task["parent"]
    data = full[task_id]
    for task_id in reversed(chain):
        delta = tasks[task_id]["delta"]
        data = {**data, **delta.get("updates", {})}
        for key in delta.get("deletions", ()):
            data.pop(key, None)
        full[task_id] = data
    return dict(data)
