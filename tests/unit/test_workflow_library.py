"""The shipped process library in workflows/: it parses, validates, and keeps the library's conventions."""
import json
import re

import pytest
from jsonschema import Draft202012Validator
from lxml import etree

from engine.actions import ACTIONS
from engine.cases.lanes import role_for_lane
from engine.settings import PROJECT_ROOT
from engine.workflow.definitions import lanes_of, parse_process, read_bundle, split_bundle

WORKFLOWS = PROJECT_ROOT / "workflows"
FORMS = WORKFLOWS / "forms"
PROCESSES = {"petition", "hotline", "dispatch", "site_inspection", "council_item", "tracked_item"}

#: Roles a lane may name: those the organisation grants, and agency_liaison (each agency's contact
#: for work another case's owner sends it: co-handling, council replies).
KNOWN_ROLES = {"dispatcher", "caseworker", "supervisor", "reviewer", "operator", "council_liaison",
               "agency_liaison"}

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
BPMN_FILES = sorted(WORKFLOWS.glob("*.bpmn"))
DMN_FILES = sorted(WORKFLOWS.glob("*.dmn"))
FORM_FILES = sorted(FORMS.glob("*.json"))


def xml(path):
    return etree.parse(str(path)).getroot()


def user_tasks():
    for path in BPMN_FILES:
        for task in xml(path).iterfind(".//bpmn:userTask", NS):
            yield path.name, task


def form_of(task) -> str | None:
    prop = task.find(".//spiffworkflow:property[@name='formJsonSchemaFilename']", NS)
    return None if prop is None else prop.get("value")


def test_every_diagram_parses_and_validates_into_the_six_processes():
    bundles = {b.process_key: b for b in split_bundle(read_bundle(WORKFLOWS), actions=ACTIONS)}
    assert set(bundles) == PROCESSES
    assert set(bundles["petition"].sources) == {"petition.bpmn", "routing.dmn"}
    assert set(bundles["dispatch"].sources) == {"dispatch.bpmn", "dispatch_routing.dmn"}


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_every_process_is_executable_and_drawn(path):
    root = xml(path)
    (process,) = root.iterfind("bpmn:process", NS)
    assert process.get("isExecutable") == "true" and process.get("id") == path.stem
    drawn = {shape.get("bpmnElement") for shape in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {edge.get("bpmnElement") for edge in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    nodes = {el.get("id") for el in process if el.get("id") and etree.QName(el).localname not in (
        "sequenceFlow", "laneSet", "documentation")}
    flows = {el.get("id") for el in process.iterfind("bpmn:sequenceFlow", NS)}
    assert nodes - drawn == set() and flows - edges == set()


@pytest.mark.parametrize("process_key", sorted(PROCESSES))
def test_every_lane_names_a_known_role(process_key):
    spec, subprocesses = parse_process(process_key, read_bundle(WORKFLOWS))
    roles = {role_for_lane(lane) for lane in lanes_of(spec, subprocesses)}
    assert roles and roles <= KNOWN_ROLES
    unlaned = [t.bpmn_id for t in spec.task_specs.values() if getattr(t, "manual", False) and not t.lane]
    assert unlaned == []


@pytest.mark.parametrize("file, task", list(user_tasks()), ids=lambda v: v if isinstance(v, str) else v.get("id"))
def test_every_user_task_names_a_form_that_exists(file, task):
    name = form_of(task)
    assert name, f"{file}: user task {task.get('id')} has no formJsonSchemaFilename"
    assert (FORMS / name).is_file(), f"{file}: user task {task.get('id')} names missing form {name}"


def test_every_form_is_used_by_some_user_task():
    used = {form_of(task) for _, task in user_tasks()}
    assert {p.name for p in FORM_FILES} - used == set()


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.name)
def test_every_form_is_a_closed_json_schema_with_chinese_titles(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert set(schema["required"]) <= set(schema["properties"])
    for name, prop in [("", schema), *schema["properties"].items()]:
        assert re.search(r"[\u4e00-\u9fff]", prop.get("title", "")), f"{path.name}: {name or 'form'} needs a Chinese title"
        if prop.get("type") == "string" and "enum" not in prop:
            assert prop.get("maxLength"), f"{path.name}: {name} needs a maxLength"
        if "enum" in prop and "x-enumTitles" in prop:
            assert len(prop["enum"]) == len(prop["x-enumTitles"])
    for rule in schema.get("allOf", []):
        assert set(rule["then"]["required"]) <= set(schema["properties"])


@pytest.mark.parametrize("path", DMN_FILES, ids=lambda p: p.name)
def test_every_decision_table_ends_with_a_catch_all_rule(path):
    root = xml(path)
    ns = {"dmn": root.nsmap[None]}
    (table,) = root.iterfind(".//dmn:decisionTable", ns)
    assert table.get("hitPolicy") == "UNIQUE"  # SpiffWorkflow: the first matching rule wins
    last = table.findall("dmn:rule", ns)[-1]
    entries = [(e.findtext("dmn:text", namespaces=ns) or "").strip() for e in last.iterfind("dmn:inputEntry", ns)]
    assert entries and all(text in ("", "-") for text in entries)


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_timers_take_their_due_time_from_task_data(path):
    # DESIGN decision 8: durations are data (deadline rules), never written into a diagram.
    for timer in xml(path).iterfind(".//bpmn:timerEventDefinition", NS):
        (expression,) = [el.text.strip() for el in timer]
        assert expression.isidentifier(), f"{path.name}: timer {timer.get('id')} uses {expression!r}"


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_service_tasks_call_engine_actions(path):
    operators = [op.get("id") for op in xml(path).iterfind(".//spiffworkflow:serviceTaskOperator", NS)]
    assert set(operators) <= set(ACTIONS)


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_no_element_shares_its_id_with_an_engine_action(path):
    # SpiffWorkflow finds elements by id anywhere in the file: a task named like the operator it
    # calls is read as the operator element and refused ("no support implemented for this task type").
    ids = {el.get("id") for el in xml(path).iter() if etree.QName(el).namespace == NS["bpmn"]}
    assert ids & set(ACTIONS) == set()
