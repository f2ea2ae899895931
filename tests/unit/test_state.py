"""Stored workflow state: TEXT without the spec, robust to key reordering, restricted on load."""
import json
import random
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.workflow import runner, state
from tests.unit.workflow_helpers import SCRIPT_ENGINE, parsed, ready


def _advanced():
    definition = parsed("approval", "approval.bpmn")
    wf = runner.start(definition, {"case_no": "P1", "petitioner": {"name": "王小明"}}, SCRIPT_ENGINE)
    runner.complete(wf, ready(wf)["confirm"].task_id, {"agency": "工務局"})
    runner.complete(wf, ready(wf)["draft"].task_id, {"reply": "已派員修復"})
    return definition, wf


def _data_by_spec(wf):
    """Data of the tasks still in play (finished history is compacted away on save)."""
    from SpiffWorkflow.util.task import TaskState
    return {str(t.id): t.data for t in wf.get_tasks() if not t.has_state(TaskState.FINISHED_MASK)}


def test_stored_state_has_no_spec_and_is_text():
    _, wf = _advanced()
    text = state.dump(wf)
    stored = json.loads(text)
    assert "spec" not in stored and "subprocess_specs" not in stored
    assert "已派員修復" in text  # stored as readable UTF-8, not escaped


def test_state_survives_reordered_task_keys_as_jsonb_would_store_them():
    definition, wf = _advanced()
    stored = json.loads(state.dump(wf))
    items = list(stored["tasks"].items())
    random.Random(7).shuffle(items)
    items.sort(key=lambda kv: kv[0])  # JSONB orders keys by length then bytes; any order must do
    stored["tasks"] = dict(items)
    restored = state.load(json.dumps(stored), definition.spec, definition.subprocess_specs, SCRIPT_ENGINE)
    assert _data_by_spec(restored) == _data_by_spec(wf)
    assert ready(restored)["approve"].name == "Approve the reply"
    approve = restored.get_task_from_id(UUID(ready(restored)["approve"].task_id))
    assert approve.data["reply"] == "已派員修復" and approve.data["agency"] == "工務局"


def test_plain_spiffworkflow_loses_data_on_reordered_keys():
    """Why the serializer re-sorts: the library alone restores wrong data (guards the workaround)."""
    definition, wf = _advanced()
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    stored = json.loads(serializer.serialize_json(wf))
    stored["tasks"] = dict(sorted(stored["tasks"].items(), key=lambda kv: kv[0], reverse=True))
    restored = serializer.deserialize_json(json.dumps(stored))
    assert _data_by_spec(restored) != _data_by_spec(wf)


def test_restored_workflow_runs_scripts_with_the_restricted_engine():
    definition, wf = _advanced()
    restored = state.load(state.dump(wf), definition.spec, definition.subprocess_specs, SCRIPT_ENGINE)
    assert restored.script_engine is SCRIPT_ENGINE


def test_restore_reuses_the_cached_spec_objects():
    definition, wf = _advanced()
    restored = state.load(state.dump(wf), definition.spec, definition.subprocess_specs, SCRIPT_ENGINE)
    assert restored.spec is definition.spec


def test_dump_and_load_round_trip_keeps_every_task_and_its_data():
    definition, wf = _advanced()
    once = state.load(state.dump(wf), definition.spec, definition.subprocess_specs, SCRIPT_ENGINE)
    twice = state.load(state.dump(once), definition.spec, definition.subprocess_specs, SCRIPT_ENGINE)
    shape = lambda w: {str(t.id): (t.task_spec.name, t.state, t.data) for t in w.get_tasks()}  # noqa: E731
    assert shape(twice) == shape(once)
