"""Workflow state as TEXT: serialized without its spec, restored onto the cached parsed spec."""
from __future__ import annotations

import json

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.errors import WorkflowFailed
from engine.scripting.datacheck import RESERVED_NAMES
from engine.workflow.compaction import compact


class _InstanceConverter(BpmnWorkflowConverter):
    """SpiffWorkflow's converter of a top workflow, leaving its spec and its called processes' specs out.

    The stock converter writes both (the whole parsed process, DMN tables included: more than half
    the time of a save) only for the caller to drop them; the keys written are its others, in its
    order. Restoring is the stock one: the cached spec objects are put back before it runs.
    """

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


_REGISTRY = BpmnWorkflowSerializer.configure({**SPIFF_CONFIG, BpmnWorkflow: _InstanceConverter})
_SERIALIZER = BpmnWorkflowSerializer(_REGISTRY)

#: The serializer's registry: converts specs to dicts (SpiffWorkflow's spec diff compares those).
REGISTRY = _REGISTRY

#: The SpiffWorkflow serialization format written by this version of petiflow.
FORMAT_VERSION = _SERIALIZER.VERSION


def dump(workflow) -> str:
    """Serialize a workflow's instance state (no spec) to compact JSON text.

    Raises WorkflowFailed if the state cannot be stored or holds what would not load again
    (saved, it would leave the case stuck for good), so the step fails and nothing is saved.
    """
    _REGISTRY._encoder_mode = True
    try:
        dct = _SERIALIZER.to_dict(workflow)  # without the specs (_InstanceConverter)
        # Finished history nothing can reach is dropped, so a case that loops stays small.
        compact(dct, workflow.spec, workflow.subprocess_specs)
        dct[_SERIALIZER.VERSION_KEY] = FORMAT_VERSION
        _refuse_reserved_names(dct)
        text = json.dumps(dct, cls=_SERIALIZER._encoder_cls, separators=(",", ":"), ensure_ascii=False)
    except TypeError as exc:
        raise WorkflowFailed(f"workflow data cannot be stored: {exc}") from None
    finally:
        _REGISTRY._encoder_mode = False
    # Restoring the text here as well would prove it loads, at the price of a whole restore per
    # step (about a tenth of a lifecycle): what makes a restore fail is refused instead, by name
    # (reserved names above; values the serializer cannot write or read back: scripting.datacheck).
    return text


def _refuse_reserved_names(dct: dict) -> None:
    """Raise WorkflowFailed naming a variable whose name SpiffWorkflow's restore takes for its own.

    The data SpiffWorkflow restores as dicts: the workflow's, each task's (the root task's
    whole, the others' changes against their parent), in the top workflow and its called ones.
    """
    for workflow in (dct, *dct.get("subprocesses", {}).values()):
        places = [("the workflow", workflow.get("data") or {})]
        for task in workflow["tasks"].values():
            places.append((f"task {task['task_spec']!r}", task.get("data") or {}))
            places.append((f"task {task['task_spec']!r}", (task.get("delta") or {}).get("updates") or {}))
        for where, data in places:
            reserved = RESERVED_NAMES.intersection(data)
            if reserved:
                name = min(reserved)
                raise WorkflowFailed(f"{where} sets the variable {name!r}, a name SpiffWorkflow reserves for its "
                                     "own data: a case holding it could not be loaded again; nothing was saved",
                                     details={"variable": name})


def _parents_first(tasks: dict, root: str) -> dict:
    """Tasks ordered so each comes after its parent.

    SpiffWorkflow 3.2 stores a task's data as a delta against its parent and restores
    in dictionary order; a store that reorders keys (JSONB does) would rebuild tasks
    on top of parents not restored yet, silently losing data.
    """
    seen = set()
    for task_id, task in tasks.items():
        parent = task["parent"]
        if parent is not None and parent not in seen:
            break
        seen.add(task_id)
    else:
        return tasks
    ordered, queue = {}, [root]
    while queue:
        task_id = queue.pop()
        ordered[task_id] = tasks[task_id]
        queue.extend(reversed(tasks[task_id]["children"]))
    for task_id, task in tasks.items():  # orphans, should there be any, keep their place at the end
        ordered.setdefault(task_id, task)
    return ordered


def load(text: str, spec, subprocess_specs: dict, script_engine):
    """Restore a workflow from stored text onto cached spec objects, with the given script engine."""
    dct = json.loads(text)
    dct["tasks"] = _parents_first(dct["tasks"], dct["root"])
    for sub in dct.get("subprocesses", {}).values():
        sub["tasks"] = _parents_first(sub["tasks"], sub["root"])
    dct["spec"] = spec
    dct["subprocess_specs"] = subprocess_specs
    _SERIALIZER.migrate(dct)
    workflow = _SERIALIZER.from_dict(dct)
    # The script engine is not serialized; SpiffWorkflow would fall back to an unrestricted one.
    # Called processes read it from the top workflow.
    workflow.script_engine = script_engine
    return workflow
