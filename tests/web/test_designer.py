"""The process designer's pages: designers only, validation naming the element, deployment as a new version."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.store.schema import process_definitions, workflow_instances
from tests.web.conftest import text_of

PETITION = "/designer/petition"


def _diagram(staff, version: int = 1) -> str:
    answer = staff.get(f"{PETITION}/versions/{version}/diagram.bpmn")
    assert answer.status_code == 200
    assert answer.mimetype == "application/xml"
    return answer.get_data(as_text=True)


def _send(staff, action: str, body, *, csrf: bool = True, **kw):
    headers = {"X-CSRF-Token": staff.csrf} if csrf else {}
    return staff.client.post(f"{PETITION}/{action}", json=body, headers=headers, **kw)


def _with_broken_script(xml: str) -> str:
    """The petition diagram with a script task whose script is not Python, next to the first one."""
    task = ('<bpmn:scriptTask id="broken_script" name="壞掉的腳本"><bpmn:script>outcome = (</bpmn:script>'
            '</bpmn:scriptTask>')
    changed = xml.replace('<bpmn:laneSet id="petition_lanes">', task + '<bpmn:laneSet id="petition_lanes">', 1)
    assert changed != xml
    return changed


def _renamed(xml: str) -> str:
    """The petition diagram with one task renamed: a real change that passes every check."""
    changed = xml.replace('name="確認分文"', 'name="確認分文（新版）"', 1)
    assert changed != xml
    return changed


def _versions(web) -> dict:
    runtime = web.extensions["petiflow"]
    with runtime.uow(read_only=True) as uow:
        return {row.version: row.id for row in uow.conn.execute(
            select(process_definitions.c.version, process_definitions.c.id)
            .where(process_definitions.c.process_key == "petition"))}


def test_the_designer_sees_processes_decision_tables_versions_and_running_cases(sign_in):
    designer = sign_in("designer")
    page = designer.get("/designer")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    text = text_of(html)
    assert "人民陳情 Petition" in text and "routing.dmn" in text and "dispatch_routing.dmn" in text
    # The demo's three open petitions run on version 1.
    row = re.search(r'<caption id="p-petition">.*?</table>', html, re.S).group(0)
    assert re.search(r'<td class="n running">3</td>', row)
    assert 'href="/designer/petition/edit"' in html
    # The menu offers the designer's pages to designers.
    assert 'href="/designer"' in designer.get("/").get_data(as_text=True)


@pytest.mark.parametrize("username", ["cw.roads", "dispatcher", "chief.roads", "auditor"])
def test_others_get_the_403_page_and_no_menu_link(sign_in, username):
    staff = sign_in(username)
    for path in ("/designer", f"{PETITION}/edit", f"{PETITION}/versions/1", f"{PETITION}/versions/1/diagram.bpmn"):
        answer = staff.get(path)
        assert answer.status_code == 403, path
    assert "process designers" in text_of(staff.get("/designer").get_data(as_text=True))
    refused = _send(staff, "validate", {"base_version": 1, "xml": "<x/>"})
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    assert _send(staff, "deploy", {"base_version": 1, "xml": "<x/>"}).status_code == 403
    assert 'href="/designer"' not in staff.get("/").get_data(as_text=True)


def test_an_administrator_may_design(sign_in):
    assert sign_in("admin").get(f"{PETITION}/edit").status_code == 200


def test_signed_out_goes_to_sign_in_and_json_gets_401(web):
    client = web.test_client()
    page = client.get("/designer")
    assert page.status_code == 302 and "/sign-in" in page.headers["Location"]
    assert client.post(f"{PETITION}/validate", json={"base_version": 1, "xml": "<x/>"}).status_code == 401


def test_the_modeler_page_loads_its_bundle_and_other_pages_do_not(sign_in):
    designer = sign_in("designer")
    edit = designer.get(f"{PETITION}/edit").get_data(as_text=True)
    assert 'src="/static/build/designer.js"' in edit and 'href="/static/build/designer.css"' in edit
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', edit)
    assert "<script>" not in edit and " style=" not in edit  # nothing inline: the CSP allows none
    for path in ("/", "/inbox", "/designer"):
        assert "designer.js" not in designer.get(path).get_data(as_text=True), path
    view = designer.get(f"{PETITION}/versions/1").get_data(as_text=True)
    assert "designer.js" in view and 'id="deploy"' not in view  # the viewer: read-only


def test_validate_names_the_element_of_a_broken_diagram_and_deploys_nothing(sign_in, web):
    designer = sign_in("designer")
    answer = _send(designer, "validate", {"base_version": 1, "xml": _with_broken_script(_diagram(designer))})
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["error"] == "invalid_definition"
    assert body["errors"]["element_id"] == "broken_script"
    assert body["errors"]["file"] == "petition.bpmn"
    assert "outcome = (" in body["message"]
    assert _versions(web).keys() == {1}


def test_validate_accepts_a_good_change_and_says_it_would_be_new(sign_in):
    designer = sign_in("designer")
    answer = _send(designer, "validate", {"base_version": 1, "xml": _renamed(_diagram(designer))})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["valid"] is True and body["latest_version"] == 1
    assert body["processes"] == [{"process_key": "petition", "changed": True}]


def test_deploy_makes_version_2_and_running_cases_stay_on_version_1(sign_in, web):
    designer = sign_in("designer")
    runtime = web.extensions["petiflow"]
    before = _versions(web)
    with runtime.uow(read_only=True) as uow:
        running = uow.conn.execute(select(workflow_instances.c.id, workflow_instances.c.definition_id)
                                   .where(workflow_instances.c.definition_id == before[1])).all()
    assert len(running) == 3

    answer = _send(designer, "deploy", {"base_version": 1, "xml": _renamed(_diagram(designer))})
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["version"] == 2 and answer.get_json()["created"] is True

    after = _versions(web)
    assert after.keys() == {1, 2}
    with runtime.uow(read_only=True) as uow:
        row = uow.conn.execute(select(process_definitions.c.deployed_by)
                               .where(process_definitions.c.id == after[2])).one()
        still = uow.conn.execute(select(workflow_instances.c.id, workflow_instances.c.definition_id)
                                 .where(workflow_instances.c.id.in_([r.id for r in running]))).all()
    assert row.deployed_by == "designer"
    assert {r.definition_id for r in still} == {after[1]}
    assert "確認分文（新版）" in _diagram(designer, 2)
    assert "確認分文（新版）" not in _diagram(designer, 1)

    listing = designer.get("/designer").get_data(as_text=True)
    table = re.search(r'<caption id="p-petition">.*?</table>', listing, re.S).group(0)
    assert re.search(r'<tr data-version="2">.*?<td class="n running">0</td>', table, re.S)
    assert re.search(r'<tr data-version="1">.*?<td class="n running">3</td>', table, re.S)

    # Version 1 is now read-only and cannot be deployed over: the designer must start from version 2.
    stale = _send(designer, "deploy", {"base_version": 1, "xml": _renamed(_diagram(designer))})
    assert stale.status_code == 409
    assert "version 2" in stale.get_json()["message"]
    assert "An earlier version cannot be changed" in text_of(
        designer.get(f"{PETITION}/versions/1", headers={"Accept-Language": "en"}).get_data(as_text=True)) or \
        "較早的版本不能修改" in text_of(designer.get(f"{PETITION}/versions/1").get_data(as_text=True))


def test_deploying_the_same_diagram_twice_makes_one_version(sign_in, web):
    designer = sign_in("designer")
    xml = _renamed(_diagram(designer))
    assert _send(designer, "deploy", {"base_version": 1, "xml": xml}).status_code == 201
    again = _send(designer, "deploy", {"base_version": 2, "xml": xml})
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert _versions(web).keys() == {1, 2}


def test_a_change_without_the_csrf_token_is_refused(sign_in, web):
    designer = sign_in("designer")
    xml = _renamed(_diagram(designer))
    for action in ("validate", "deploy"):
        answer = _send(designer, action, {"base_version": 1, "xml": xml}, csrf=False)
        assert answer.status_code == 403, action
        assert "CSRF" in answer.get_json()["message"]
        wrong = designer.client.post(f"{PETITION}/{action}", json={"base_version": 1, "xml": xml},
                                     headers={"X-CSRF-Token": "not-the-token"})
        assert wrong.status_code == 403
    assert _versions(web).keys() == {1}


@pytest.mark.parametrize("body, status", [
    (None, 400),
    ("not an object", 400),
    ({"xml": "<x/>"}, 400),
    ({"base_version": "1", "xml": "<x/>"}, 400),
    ({"base_version": True, "xml": "<x/>"}, 400),
    ({"base_version": 1}, 400),
    ({"base_version": 1, "xml": 5}, 400),
    ({"base_version": 1, "xml": "   "}, 400),
    ({"base_version": 99, "xml": "<x/>"}, 404),
    ({"base_version": 1, "xml": "<not xml"}, 422),
    ({"base_version": 1, "xml": "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e 'x'>]><x>&e;</x>"}, 422),
    ({"base_version": 1, "xml": "<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'/>"}, 422),
    ({"base_version": 1, "xml": "<a>" + "x" * 2_000_001 + "</a>"}, 400),
    ({"base_version": 1, "xml": "<a>\x00</a>"}, 400),
])
def test_bad_input_is_a_clear_4xx(sign_in, body, status):
    designer = sign_in("designer")
    for action in ("validate", "deploy"):
        answer = _send(designer, action, body)
        assert answer.status_code == status, (action, answer.get_json())
        assert answer.get_json()["message"]


def test_a_diagram_that_drops_its_process_or_adds_another_is_refused(sign_in):
    designer = sign_in("designer")
    xml = _diagram(designer)
    dropped = xml.replace('<bpmn:process id="petition"', '<bpmn:process id="petition_renamed"', 1)
    dropped = dropped.replace('processRef="petition"', 'processRef="petition_renamed"', 1)
    answer = _send(designer, "validate", {"base_version": 1, "xml": dropped})
    assert answer.status_code == 422
    assert "no longer defines" in answer.get_json()["message"]


def test_unknown_processes_and_versions_are_404(sign_in):
    designer = sign_in("designer")
    assert designer.get("/designer/nothing/edit").status_code == 404
    assert designer.get(f"{PETITION}/versions/7").status_code == 404
    assert designer.get(f"{PETITION}/versions/7/diagram.bpmn").status_code == 404
    assert designer.client.post("/designer/nothing/validate", json={"base_version": 1, "xml": "<x/>"},
                                headers={"X-CSRF-Token": designer.csrf}).status_code == 404
    assert designer.post(f"{PETITION}/deploy", {"xml": "<x/>"}).status_code == 400  # a form post, not JSON
