"""Deploying BPMN/DMN bundles: versions, content hashes, and refusal of broken diagrams."""
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.errors import InvalidDefinition
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.store.schema import process_definitions
from tests.conftest import bundle


def _miwg_folder() -> Path | None:
    """The BPMN MIWG diagrams (material from other tools, kept outside the repository): under
    $PETIFLOW_TEST_MATERIAL, or in shared/test-material beside the checkout or above it."""
    if os.environ.get("PETIFLOW_TEST_MATERIAL"):
        return Path(os.environ["PETIFLOW_TEST_MATERIAL"]) / "bpmn-miwg"
    for folder in Path(__file__).resolve().parents[2:]:
        found = folder / "shared" / "test-material" / "bpmn-miwg"
        if found.is_dir():
            return found
    return None


@pytest.fixture
def miwg() -> Path:
    folder = _miwg_folder()
    if folder is None or not folder.is_dir():
        pytest.skip("the BPMN MIWG test material is not beside this checkout (../shared/test-material); "
                    "set PETIFLOW_TEST_MATERIAL to its folder")
    return folder


def deploy(runtime, sources):
    with runtime.uow() as uow:
        result = deploy_bundle(DeployBundle(sources), uow)
        uow.commit()
    return {r.process_key: r for r in result}


def versions(runtime, key):
    with runtime.db.connect() as conn:
        return conn.execute(select(process_definitions.c.version).where(
            process_definitions.c.process_key == key).order_by(process_definitions.c.version)).scalars().all()


def test_first_deploy_creates_version_one_of_each_process(runtime):
    result = deploy(runtime, bundle("simple.bpmn", "approval.bpmn"))
    assert {(k, r.version, r.created) for k, r in result.items()} == {("simple", 1, True), ("approval", 1, True)}


def test_deploying_unchanged_files_creates_no_new_version(runtime):
    deploy(runtime, bundle("simple.bpmn", "approval.bpmn"))
    again = deploy(runtime, bundle("simple.bpmn", "approval.bpmn"))
    assert not any(r.created for r in again.values())
    assert versions(runtime, "simple") == [1]


def test_changing_one_file_versions_only_its_process_and_keeps_the_old(runtime):
    sources = bundle("simple.bpmn", "approval.bpmn")
    deploy(runtime, sources)
    sources["simple.bpmn"] = sources["simple.bpmn"].replace('name="Draft the reply"', 'name="Write the reply"')
    result = deploy(runtime, sources)
    assert (result["simple"].version, result["simple"].created) == (2, True)
    assert result["approval"].created is False
    assert versions(runtime, "simple") == [1, 2]


def test_running_cases_stay_on_the_version_they_started_with(runtime):
    sources = bundle("simple.bpmn")
    first = deploy(runtime, sources)["simple"]
    with runtime.uow() as uow:
        started = start_case(StartCase("petition", process_key="simple", channel="web"), uow)
        uow.commit()
    sources["simple.bpmn"] = sources["simple.bpmn"].replace('name="Draft the reply"', 'name="Write the reply"')
    deploy(runtime, sources)
    with runtime.db.connect() as conn:
        used = conn.execute(select(func.max(process_definitions.c.id))).scalar()
        from engine.store.schema import workflow_instances
        on = conn.execute(select(workflow_instances.c.definition_id).where(
            workflow_instances.c.id == started.instance_id)).scalar_one()
    assert on == first.definition_id != used


def test_reverting_to_earlier_content_creates_a_new_version(runtime):
    sources = bundle("simple.bpmn")
    deploy(runtime, sources)
    changed = {**sources, "simple.bpmn": sources["simple.bpmn"].replace("Draft the reply", "Write it")}
    deploy(runtime, changed)
    assert deploy(runtime, sources)["simple"].version == 3


def test_broken_diagram_is_refused_with_file_line_and_element_and_nothing_changes(runtime):
    deploy(runtime, bundle("simple.bpmn"))
    sources = bundle("simple.bpmn", "approval.bpmn")
    # A flow that points at a task that does not exist.
    sources["approval.bpmn"] = sources["approval.bpmn"].replace(
        '<bpmn:sequenceFlow id="f4" sourceRef="draft" targetRef="approve" />',
        '<bpmn:sequenceFlow id="f4" sourceRef="draft" targetRef="no_such_task" />')
    with pytest.raises(InvalidDefinition) as caught:
        deploy(runtime, sources)
    err = caught.value
    assert err.file == "approval.bpmn"
    assert err.line is not None and err.line > 1
    assert "approval.bpmn" in str(err)
    assert versions(runtime, "approval") == []
    assert versions(runtime, "simple") == [1]


def test_schema_violation_names_the_line(runtime):
    sources = bundle("simple.bpmn")
    sources["simple.bpmn"] = sources["simple.bpmn"].replace(
        '<bpmn:endEvent id="end">', '<bpmn:endEvent id="end" bogus="1"><bpmn:nonsense/>')
    line = sources["simple.bpmn"].splitlines().index('    <bpmn:endEvent id="end" bogus="1"><bpmn:nonsense/>') + 1
    with pytest.raises(InvalidDefinition) as caught:
        deploy(runtime, sources)
    assert caught.value.file == "simple.bpmn" and caught.value.line == line


def test_malformed_xml_is_refused_with_its_line(runtime):
    with pytest.raises(InvalidDefinition) as caught:
        deploy(runtime, {"bad.bpmn": '<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">\n<oops></bpmn:definitions>'})
    assert caught.value.file == "bad.bpmn" and caught.value.line == 3


def test_entity_declarations_are_refused(runtime):
    xml = ('<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
           '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">&x;</bpmn:definitions>')
    with pytest.raises(InvalidDefinition) as caught:
        deploy(runtime, {"evil.bpmn": xml})
    assert "root:" not in str(caught.value)


def test_missing_decision_table_is_named(runtime):
    xml = (Path(__file__).parents[1] / "data" / "simple.bpmn").read_text()
    xml = xml.replace('<bpmn:scriptTask id="prepare" name="Prepare">',
                      '<bpmn:businessRuleTask id="prepare" name="Route"><bpmn:extensionElements>'
                      '<spiffworkflow:calledDecisionId>routing</spiffworkflow:calledDecisionId>'
                      '</bpmn:extensionElements>').replace(
        '<bpmn:script>priority = "high" if channel == "1999" else "normal"</bpmn:script>\n    </bpmn:scriptTask>',
        '</bpmn:businessRuleTask>')
    with pytest.raises(InvalidDefinition) as caught:
        deploy(runtime, {"simple.bpmn": xml})
    assert caught.value.file == "simple.bpmn"
    assert "routing" in str(caught.value)


@pytest.mark.parametrize("name", ["C.9.0.bpmn", "C.9.2.bpmn", "C.6.0.bpmn", "B.1.0.bpmn"])
def test_diagrams_from_other_tools_that_spiff_cannot_run_are_refused_clearly(runtime, miwg, name):
    sources = {name: (miwg / name).read_text(encoding="utf-8")}
    with pytest.raises(InvalidDefinition) as caught:
        deploy(runtime, sources)
    assert caught.value.file == name
    assert caught.value.message


def test_executable_diagram_from_another_tool_deploys(runtime, miwg):
    result = deploy(runtime, {"C.9.1.bpmn": (miwg / "C.9.1.bpmn").read_text(encoding="utf-8")})
    assert result and all(r.version == 1 for r in result.values())


@pytest.mark.parametrize("name, value", [("deadline", "soon"), ("escalate", "no"), ("assignTo", "performer:nowhere"),
                                         ("assignTo", "reply"), ("assigneeVariable", "the assignee"),
                                         ("agencyVariable", "_agency")])
def test_a_task_property_with_a_value_petiflow_does_not_know_is_refused_naming_the_task(runtime, name, value):
    text = _with_property(name, value)
    with runtime.uow() as uow:
        with pytest.raises(InvalidDefinition) as refused:
            deploy_bundle(DeployBundle({"simple.bpmn": text}), uow)
    assert refused.value.details["element_id"] == "reply" and refused.value.details["file"] == "simple.bpmn"
    assert repr(value) in refused.value.message and refused.value.details["line"]


def _with_property(name, value, *, namespace="spiffworkflow"):
    start_tag = '<bpmn:userTask id="reply" name="Draft the reply">'
    text = bundle("simple.bpmn")["simple.bpmn"]
    if namespace == "spiffworkflow":
        extra = (f'<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="{name}" '
                 f'value="{value}" /></spiffworkflow:properties></bpmn:extensionElements>')
        return text.replace(start_tag, start_tag + extra, 1)
    # A BPMN data property of the task (it has no value), after the task's flows as the schema wants.
    at = text.index("</bpmn:userTask>", text.index(start_tag))
    return text[:at] + f'<bpmn:property id="p_{name}" name="{name}" />' + text[at:]


@pytest.mark.parametrize("name, value", [("assignTo", "performer:reply"), ("assigneeVariable", "assignee")])
def test_a_task_naming_whom_its_work_goes_to_deploys(runtime, name, value):
    with runtime.uow() as uow:
        (deployed,) = deploy_bundle(DeployBundle({"simple.bpmn": _with_property(name, value)}), uow)
    assert deployed.created


def test_a_bpmn_data_property_that_happens_to_be_called_deadline_is_not_taken_for_ours(runtime):
    with runtime.uow() as uow:
        (deployed,) = deploy_bundle(DeployBundle({"simple.bpmn": _with_property("deadline", None, namespace="bpmn")}),
                                    uow)
        uow.commit()
    assert deployed.created


def test_a_version_already_deployed_keeps_loading_even_if_its_properties_would_be_refused_now(runtime):
    """Running cases stay on their version: the deployment-time checks do not apply to loading it."""
    from engine.workflow.definitions import content_hash
    sources = {"simple.bpmn": _with_property("escalate", "no")}
    with runtime.uow() as uow:
        uow.conn.execute(process_definitions.insert().values(
            process_key="simple", version=1, name="Simple", content_hash=content_hash(sources), sources=sources,
            deployed_at=runtime.clock.now()))
        started = start_case(StartCase("petition", process_key="simple"), uow)
        uow.commit()
    assert started.status == "waiting" and len(started.work_item_ids) == 1


def _simple_with(marker: str, *replacements) -> tuple[dict, int]:
    """simple.bpmn with text replaced, and the line where `marker` now stands."""
    xml = bundle("simple.bpmn")["simple.bpmn"]
    for old, new in replacements:
        assert old in xml
        xml = xml.replace(old, new)
    (line,) = [i for i, text in enumerate(xml.splitlines(), 1) if marker in text]
    return {"simple.bpmn": xml}, line


_START = "</bpmn:startEvent>"
_WIRED_GATEWAY = (
    ('<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare" />',
     '<bpmn:complexGateway id="choose" name="Choose"><bpmn:incoming>f1</bpmn:incoming>'
     '<bpmn:outgoing>f0</bpmn:outgoing></bpmn:complexGateway>\n'
     '    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="choose" />'
     '<bpmn:sequenceFlow id="f0" sourceRef="choose" targetRef="prepare" />'),
)


@pytest.mark.parametrize(("marker", "replacements", "message"), [
    pytest.param("<bpmn:usertask", [(_START, _START + '\n    <bpmn:usertask id="ask" />')],
                 "bpmn:usertask is not allowed in a bpmn:process; did you mean bpmn:userTask?", id="misspelt"),
    pytest.param("<bpmn:complexGateway", _WIRED_GATEWAY, "bpmn:complexGateway is not supported; use bpmn:eventBasedGateway, "
                 "bpmn:exclusiveGateway, bpmn:inclusiveGateway, bpmn:parallelGateway", id="complexGateway"),
    pytest.param("<bpmn:frobnicate", [('<bpmn:incoming>f2</bpmn:incoming>', '<bpmn:frobnicate /><bpmn:incoming>f2</bpmn:incoming>')],
                 "bpmn:frobnicate is not allowed here; allowed: bpmn:documentation, bpmn:extensionElements, "
                 "bpmn:auditing, bpmn:monitoring, bpmn:categoryValueRef, bpmn:incoming, bpmn:outgoing, "
                 "bpmn:ioSpecification and 2 more", id="inside-a-task"),
])
def test_an_element_petiflow_cannot_run_is_named_with_its_line_and_what_is_allowed(runtime, marker, replacements,
                                                                                   message):
    sources, line = _simple_with(marker, *replacements)
    with pytest.raises(InvalidDefinition) as caught:
        deploy(runtime, sources)
    where = f"simple.bpmn, line {line}" + (", element 'choose'" if "complexGateway" in message else "")
    assert str(caught.value) == f"{where}: {message}"
    assert (caught.value.file, caught.value.line) == ("simple.bpmn", line)
    assert versions(runtime, "simple") == []


def test_an_unknown_element_among_the_flow_elements_is_told_which_elements_a_process_holds(runtime):
    sources, line = _simple_with("<bpmn:frobnicate", (_START, _START + '\n    <bpmn:frobnicate id="x" />'))
    with pytest.raises(InvalidDefinition) as caught:
        deploy(runtime, sources)
    refused = str(caught.value)
    assert refused.startswith(f"simple.bpmn, line {line}: bpmn:frobnicate is not allowed in a bpmn:process; "
                              "allowed: {businessRule,manual,receive,script,send,service,user}Task, ")
    for allowed in ("{boundary,end,intermediateCatch,intermediateThrow,start}Event",
                    "{eventBased,exclusive,inclusive,parallel}Gateway", "callActivity", "subProcess", "sequenceFlow"):
        assert allowed in refused
    # One line a person reads, not the schema's list of every namespace (once about 700 characters).
    assert "\n" not in refused and "{http" not in refused and len(refused) < 400
