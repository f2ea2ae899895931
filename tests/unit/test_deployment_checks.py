"""Deployment refuses what SpiffWorkflow would only notice when a case reaches it.

A script that does not compile, a condition that is not Python, a script the policy refuses, a
timer or parameter expression with a typo, a form or engine action that does not exist, a DMN
cell that cannot be evaluated, a flow to nowhere: each is refused at deployment with the file,
the line and the element, and nothing already deployed changes.
"""
import pytest
from sqlalchemy import func, select

from engine.errors import InvalidDefinition
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.settings import PROJECT_ROOT
from engine.store.schema import process_definitions
from engine.workflow.definitions import read_bundle

SHIPPED = read_bundle(PROJECT_ROOT / "workflows")

# (what, file, text in the shipped file, replacement, element named, words the message holds)
FAULTS = [
    ("script syntax", "hotline.bpmn", '<bpmn:script>outcome = "answered"</bpmn:script>',
     '<bpmn:script>outcome = = "answered" (</bpmn:script>', "mark_answered", ["SyntaxError"]),
    ("script refused by the policy", "hotline.bpmn", '<bpmn:script>outcome = "answered"</bpmn:script>',
     '<bpmn:script>outcome = "answered"\nx = ().__class__</bpmn:script>', "mark_answered", ["__class__"]),
    ("import in a script", "hotline.bpmn", '<bpmn:script>outcome = "answered"</bpmn:script>',
     '<bpmn:script>import os\noutcome = os.getcwd()</bpmn:script>', "mark_answered", ["import"]),
    ("condition syntax", "hotline.bpmn", 'call_outcome == "transferred"',
     'call_outcome === "transferred"', "f_transferred", ["SyntaxError", "==="]),
    ("post-script", "council_item.bpmn", "reply_round = reply_round + 1", "reply_round = reply_round +",
     "next_round", ["SyntaxError"]),
    ("timer expression", "petition.bpmn", '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">',
     '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">)(', "reply_overdue_timer", ["unmatched"]),
    ("service task parameter", "council_item.bpmn", 'value="bureaus[0]"', 'value="bureaus[0"',
     "assign_lead", ["never closed"]),
    ("unknown engine action", "council_item.bpmn", '<spiffworkflow:serviceTaskOperator id="transfer_case"',
     '<spiffworkflow:serviceTaskOperator id="transfer_cse"', "assign_lead", ["transfer_cse", "transfer_case"]),
    ("missing form", "hotline.bpmn", '"hotline_callback.json"', '"no_such_form.json"', "call_back",
     ["no_such_form.json", "does not exist"]),
    ("flow to nowhere", "hotline.bpmn", 'targetRef="', 'targetRef="no_such_element" data-x="', "f_start",
     ["no_such_element", "targetRef"]),
    ("blank service task parameter", "council_item.bpmn", 'value="bureaus[0]"', 'value="  "', "assign_lead",
     ["has no value"]),
    ("blank gateway condition", "hotline.bpmn",
     '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">call_outcome == "transferred"<',
     '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">   <', "f_transferred", ["empty"]),
    ("DMN input entry", "routing.dmn", '<text>? in ("streetlight", "fallen_tree")</text>',
     '<text>? in ("streetlight", "fallen_tree"</text>', "petition_routing_rule_1_in_0", ["streetlight"]),
]


def versions(runtime) -> int:
    with runtime.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(process_definitions)).scalar_one()


def test_the_shipped_library_passes_every_check(runtime):
    with runtime.uow() as uow:
        deployed = deploy_bundle(DeployBundle(SHIPPED), uow)
        uow.commit()
    assert {d.process_key for d in deployed} >= {"petition", "hotline", "dispatch", "site_inspection", "council_item"}


@pytest.mark.parametrize("what,file,old,new,element,words", FAULTS, ids=[f[0] for f in FAULTS])
def test_a_fault_is_refused_at_deployment_naming_file_line_and_element(runtime, what, file, old, new,
                                                                       element, words):
    with runtime.uow() as uow:
        deploy_bundle(DeployBundle(SHIPPED), uow)
        uow.commit()
    before = versions(runtime)
    assert old in SHIPPED[file], f"the shipped {file} no longer holds {old!r}"
    broken = {**SHIPPED, file: SHIPPED[file].replace(old, new, 1)}
    with runtime.uow() as uow:
        with pytest.raises(InvalidDefinition) as caught:
            deploy_bundle(DeployBundle(broken), uow)
    err = caught.value
    assert (err.file, err.element_id) == (file, element), err.message
    lines = broken[file].splitlines()
    # The line named is the element's, or a line inside it (a script's faulty line).
    start = next(i for i, text in enumerate(lines, 1) if f'id="{element}"' in text)
    assert start <= err.line <= start + 40, (err.line, start)
    for word in words:
        assert word in err.message, err.message
    assert versions(runtime) == before  # nothing deployed changed


def test_the_line_of_a_script_fault_is_the_faulty_line_of_the_script(runtime):
    old = '<bpmn:script>outcome = "answered"</bpmn:script>'
    broken = SHIPPED["hotline.bpmn"].replace(old, '<bpmn:script>outcome = "answered"\nnote = "ok"\nx = (</bpmn:script>')
    with runtime.uow() as uow:
        with pytest.raises(InvalidDefinition) as caught:
            deploy_bundle(DeployBundle({**SHIPPED, "hotline.bpmn": broken}), uow)
    assert broken.splitlines()[caught.value.line - 1] == "x = (</bpmn:script>"


def test_forms_are_looked_up_in_the_configured_workflows_folder(settings, clock, tmp_path):
    """A city keeping its diagrams in its own folder (PETIFLOW_WORKFLOWS_DIR) keeps its forms there too."""
    import shutil

    from engine.bootstrap import bootstrap
    from tests.conftest import _truncate_all
    rt = bootstrap(settings.but(workflows_dir=tmp_path), clock=clock)
    try:
        if not settings.is_sqlite:
            _truncate_all(rt.db)
        hotline = {"hotline.bpmn": SHIPPED["hotline.bpmn"]}
        with rt.uow() as uow:
            with pytest.raises(InvalidDefinition) as caught:
                deploy_bundle(DeployBundle(hotline), uow)
        assert str(tmp_path / "forms") in caught.value.message
        shutil.copytree(PROJECT_ROOT / "workflows" / "forms", tmp_path / "forms")
        with rt.uow() as uow:
            (deployed,) = deploy_bundle(DeployBundle(hotline), uow)
            uow.commit()
        assert deployed.created
    finally:
        rt.close()


ACCEPTED = [
    # SpiffWorkflow never reads a default flow's condition, nor one on a flow out of a task.
    ("condition on a default flow", "hotline.bpmn",
     '<bpmn:sequenceFlow id="f_answered" name="當場答復" sourceRef="call_outcome_gw" targetRef="mark_answered" />',
     '<bpmn:sequenceFlow id="f_answered" name="當場答復" sourceRef="call_outcome_gw" targetRef="mark_answered">'
     '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${otherwise}</bpmn:conditionExpression>'
     '</bpmn:sequenceFlow>'),
    ("condition on a flow out of a task", "hotline.bpmn",
     '<bpmn:sequenceFlow id="f_transferred_logged" sourceRef="mark_transferred" targetRef="call_logged" />',
     '<bpmn:sequenceFlow id="f_transferred_logged" sourceRef="mark_transferred" targetRef="call_logged">'
     '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${always}</bpmn:conditionExpression>'
     '</bpmn:sequenceFlow>'),
    # A `?` inside quoted text is text, not the input (as SpiffWorkflow reads it).
    ("question mark inside quotes in a DMN entry", "routing.dmn", '<text>? in ("streetlight", "fallen_tree")</text>',
     '<text>? in ("streetlight?", "fallen_tree")</text>'),
    ("a DMN entry with a question mark only in quotes", "routing.dmn",
     '<text>? in ("streetlight", "fallen_tree")</text>', '<text>"Why?"</text>'),
    # An empty form key: the task has no form.
    ("empty form key", "hotline.bpmn", '"hotline_callback.json"', '""'),
]


@pytest.mark.parametrize("what,file,old,new", ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_what_spiffworkflow_runs_is_not_refused(runtime, what, file, old, new):
    assert old in SHIPPED[file], f"the shipped {file} no longer holds {old!r}"
    changed = {**SHIPPED, file: SHIPPED[file].replace(old, new, 1)}
    with runtime.uow() as uow:
        deployed = deploy_bundle(DeployBundle(changed), uow)
        uow.commit()
    assert any(d.created for d in deployed)
