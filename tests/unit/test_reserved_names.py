"""A variable named as SpiffWorkflow's serializer reserves (`typename`) would make a case unloadable
for good: it is refused at the step, wherever it comes from, nothing is saved, the case still loads."""
import pytest
from sqlalchemy import func, select

from engine.accounts.identity import SYSTEM
from engine.errors import InvalidInput, WorkflowFailed
from engine.scripting.datacheck import RESERVED_NAMES
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.steps import RunInstance, run_instance
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.store.schema import case_events, cases, work_items, workflow_instances
from engine.workflow import state

#: Values that each break the restore differently: the wrong converter (KeyError: 'spec', a
#: TypeError), none at all (TypeError), a converter missing its keys (KeyError: 'value').
VALUES = ["BpmnWorkflow", "Task", 1, "datetime"]

#: Reply, then `then` (a script task or a service task), then check; `then` is what the case does
#: after the first work item is completed.
PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="reserved_definitions" targetNamespace="http://petiflow.example/test">
  <bpmn:process id="reserved" name="Reserved names" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_caseworker" name="Caseworker">
        <bpmn:flowNodeRef>reply</bpmn:flowNodeRef><bpmn:flowNodeRef>check</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="reply" name="Reply"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    {then}
    <bpmn:userTask id="check" name="Check"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="reply" />
    <bpmn:sequenceFlow id="f2" sourceRef="reply" targetRef="then" />
    <bpmn:sequenceFlow id="f3" sourceRef="then" targetRef="check" />
    <bpmn:sequenceFlow id="f4" sourceRef="check" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""

SCRIPT = ('<bpmn:scriptTask id="then" name="Set a variable"><bpmn:incoming>f2</bpmn:incoming>'
          '<bpmn:outgoing>f3</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>')

#: A service task whose result goes into a variable of that name: not a script, so only the
#: check made when the state is saved stands in the way.
SERVICE = ('<bpmn:serviceTask id="then" name="Record it"><bpmn:extensionElements>'
           '<spiffworkflow:serviceTaskOperator id="record_event" resultVariable="{name}"><spiffworkflow:parameters>'
           '<spiffworkflow:parameter id="kind" type="str" value="\'noted\'" /></spiffworkflow:parameters>'
           '</spiffworkflow:serviceTaskOperator></bpmn:extensionElements>'
           '<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:serviceTask>')


def deploy(runtime, then: str) -> None:
    with runtime.uow() as uow:
        deploy_bundle(DeployBundle({"reserved.bpmn": PROCESS.replace("{then}", then)}), uow)
        uow.commit()


def start(runtime, data=None):
    with runtime.uow() as uow:
        started = start_case(StartCase("petition", process_key="reserved", data=data or {}), uow)
        uow.commit()
    return started


def complete(runtime, item_id: int, data: dict):
    with runtime.uow() as uow:
        complete_work_item(CompleteWorkItem(item_id, data, SYSTEM), uow)
        uow.commit()


def stored(runtime) -> dict:
    """Everything a step writes, to compare before and after a refused one."""
    with runtime.db.connect() as conn:
        return {"instances": conn.execute(select(workflow_instances.c.id, workflow_instances.c.version,
                                                 workflow_instances.c.state)).all(),
                "items": conn.execute(select(work_items.c.task_spec, work_items.c.status)).all(),
                "events": conn.execute(select(func.count()).select_from(case_events)).scalar_one(),
                "cases": conn.execute(select(func.count()).select_from(cases)).scalar_one()}


def loads_and_runs(runtime, instance_id: int) -> None:
    """The stored state restores, and a step on it (what a timer firing does) runs."""
    with runtime.db.connect() as conn:
        row = conn.execute(select(workflow_instances).where(workflow_instances.c.id == instance_id)).one()
        definition = runtime.specs.get(conn, row.definition_id)
    state.load(row.state, definition.spec, definition.subprocess_specs, runtime.script_engine)
    with runtime.uow() as uow:
        run_instance(RunInstance(instance_id), uow)
        uow.commit()


NAMES = sorted(RESERVED_NAMES)


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("name", NAMES)
def test_a_script_that_sets_a_reserved_name_fails_its_step_naming_it_and_saves_nothing(runtime, name, value):
    deploy(runtime, SCRIPT.format(script=f"{name} = {value!r}"))
    started = start(runtime)
    before = stored(runtime)
    with pytest.raises(WorkflowFailed) as refused:
        complete(runtime, started.work_item_ids[0], {"reply": "done"})
    assert f"script set '{name}', a name SpiffWorkflow reserves" in refused.value.message
    assert refused.value.message.startswith("Set a variable: ")  # the task that did it
    assert stored(runtime) == before
    loads_and_runs(runtime, started.instance_id)


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("name", NAMES)
def test_a_form_field_with_a_reserved_name_is_refused_naming_it_and_saves_nothing(runtime, name, value):
    deploy(runtime, SCRIPT.format(script="checked = True"))
    started = start(runtime)
    before = stored(runtime)
    with pytest.raises(InvalidInput) as refused:
        complete(runtime, started.work_item_ids[0], {"reply": "done", name: value})
    assert repr(name) in refused.value.message
    assert refused.value.details["fields"] == {name: ["a name SpiffWorkflow reserves for its own data"]}
    assert stored(runtime) == before
    loads_and_runs(runtime, started.instance_id)


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("name", NAMES)
def test_a_start_datum_with_a_reserved_name_is_refused_naming_it_and_opens_no_case(runtime, name, value):
    deploy(runtime, SCRIPT.format(script="checked = True"))
    with pytest.raises(InvalidInput) as refused:
        start(runtime, {"subject": "x", name: value})
    assert repr(name) in refused.value.message
    assert stored(runtime) == {"instances": [], "items": [], "events": 0, "cases": 0}


@pytest.mark.parametrize("name", NAMES)
def test_any_other_way_a_reserved_name_reaches_the_data_is_refused_when_the_state_is_saved(runtime, name):
    deploy(runtime, SERVICE.format(name=name))
    started = start(runtime)
    before = stored(runtime)
    with pytest.raises(WorkflowFailed) as refused:
        complete(runtime, started.work_item_ids[0], {"reply": "done"})
    assert refused.value.message.startswith(f"task 'then' sets the variable {name!r}, a name SpiffWorkflow reserves")
    assert refused.value.details["variable"] == name
    assert stored(runtime) == before
    loads_and_runs(runtime, started.instance_id)
