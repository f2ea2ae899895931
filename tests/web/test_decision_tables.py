"""The designer's decision tables: read-only versions, the dmn-js editor's check and deployment with
every process that carries the table; running cases keep the table they started with."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.queries.routing import suggest_routing
from engine.store.schema import process_definitions
from tests.web.conftest import text_of

ROUTING = "/designer/decisions/routing.dmn"
TAOYUAN_LIGHTS = '<text>"district_taoyuan"</text>'


def _table(staff, version: int = 1) -> str:
    answer = staff.get(f"{ROUTING}/versions/{version}/table.dmn")
    assert answer.status_code == 200
    assert answer.mimetype == "application/xml"
    return answer.get_data(as_text=True)


def _send(staff, action: str, body, *, csrf: bool = True):
    headers = {"X-CSRF-Token": staff.csrf} if csrf else {}
    return staff.client.post(f"{ROUTING}/{action}", json=body, headers=headers)


def _rerouted(xml: str) -> str:
    """The routing table with Taoyuan's streetlights sent to the public works bureau."""
    changed = xml.replace(TAOYUAN_LIGHTS, '<text>"public_works"</text>', 1)
    assert changed != xml
    return changed


def _versions(web, key: str = "petition") -> dict:
    with web.extensions["petiflow"].uow(read_only=True) as uow:
        return {row.version: row.deployed_by for row in uow.conn.execute(
            select(process_definitions.c.version, process_definitions.c.deployed_by)
            .where(process_definitions.c.process_key == key))}


def test_the_overview_links_each_table_to_its_versions_and_the_editor(sign_in):
    html = sign_in("designer").get("/designer").get_data(as_text=True)
    assert f'href="{ROUTING}/edit"' in html
    assert f'href="{ROUTING}/versions/1"' in html
    assert 'href="/designer/decisions/dispatch_routing.dmn/edit"' in html


def test_a_version_is_shown_read_only_and_the_newest_in_the_editor(sign_in):
    designer = sign_in("designer")
    view = designer.get(f"{ROUTING}/versions/1").get_data(as_text=True)
    assert 'src="/static/build/decisions.js"' in view and 'href="/static/build/decisions.css"' in view
    assert 'id="deploy"' not in view
    assert "petition v1" in text_of(view)
    assert f'href="{ROUTING}/edit"' in view  # the newest version may be edited
    edit = designer.get(f"{ROUTING}/edit").get_data(as_text=True)
    assert 'id="deploy"' in edit and 'id="validate"' in edit
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', edit)
    assert "<script>" not in edit and " style=" not in edit  # nothing inline: the CSP allows none
    assert "petition" in text_of(edit)  # deploying makes the next version of the petition process
    assert '<decision id="petition_routing"' in _table(designer)


@pytest.mark.parametrize("username", ["cw.roads", "dispatcher", "chief.roads", "auditor"])
def test_only_designers_see_or_change_tables(sign_in, username):
    staff = sign_in(username)
    for path in (f"{ROUTING}/edit", f"{ROUTING}/versions/1", f"{ROUTING}/versions/1/table.dmn"):
        assert staff.get(path).status_code == 403, path
    refused = _send(staff, "deploy", {"base_version": 1, "xml": "<x/>"})
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"


def test_unknown_tables_and_versions_are_404(sign_in):
    designer = sign_in("designer")
    assert designer.get("/designer/decisions/nothing.dmn/edit").status_code == 404
    assert designer.get(f"{ROUTING}/versions/2").status_code == 404
    assert designer.get(f"{ROUTING}/versions/0/table.dmn").status_code == 404
    assert _send(designer, "validate", {"base_version": 3, "xml": "<x/>"}).status_code == 404


def test_the_check_names_what_deployment_would_refuse_and_deploys_nothing(sign_in, web):
    designer = sign_in("designer")
    xml = _table(designer)
    cases = {
        "not DMN": ("<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'/>", "not a DMN"),
        "the called decision renamed": (xml.replace('<decision id="petition_routing"', '<decision id="other"', 1),
                                        "petition_routing"),
        "not XML": ("<definitions", "routing.dmn"),
    }
    for name, (broken, said) in cases.items():
        for action in ("validate", "deploy"):
            answer = _send(designer, action, {"base_version": 1, "xml": broken})
            assert answer.status_code == 422, (name, action, answer.get_json())
            assert said in answer.get_json()["message"], (name, answer.get_json())
    assert _versions(web).keys() == {1}


@pytest.mark.parametrize("body, status", [
    (None, 400),
    ({"xml": "<x/>"}, 400),
    ({"base_version": "1", "xml": "<x/>"}, 400),
    ({"base_version": 1, "xml": "  "}, 400),
    ({"base_version": 1, "xml": "<a>" + "x" * 2_000_001 + "</a>"}, 400),
])
def test_bad_requests_are_a_clear_4xx(sign_in, body, status):
    designer = sign_in("designer")
    for action in ("validate", "deploy"):
        answer = _send(designer, action, body)
        assert answer.status_code == status, (action, answer.get_json())
        assert answer.get_json()["message"]


def test_a_change_without_the_csrf_token_is_refused(sign_in, web):
    designer = sign_in("designer")
    answer = _send(designer, "deploy", {"base_version": 1, "xml": _rerouted(_table(designer))}, csrf=False)
    assert answer.status_code == 403
    assert _versions(web).keys() == {1}


def test_a_deployed_table_routes_new_cases_and_running_cases_keep_theirs(sign_in, web):
    designer = sign_in("designer")
    runtime = web.extensions["petiflow"]
    with runtime.uow(read_only=True) as uow:
        assert suggest_routing(uow, "petition", "streetlight", "桃園").agency_code == "district_taoyuan"
    changed = _rerouted(_table(designer))

    checked = _send(designer, "validate", {"base_version": 1, "xml": changed})
    assert checked.status_code == 200, checked.get_json()
    assert checked.get_json()["processes"] == [{"process_key": "petition", "changed": True}]
    assert _versions(web).keys() == {1}  # a check deploys nothing

    deployed = _send(designer, "deploy", {"base_version": 1, "xml": changed})
    assert deployed.status_code == 201, deployed.get_json()
    assert deployed.get_json()["deployed"] == [{"process_key": "petition", "version": 2, "created": True}]
    assert _versions(web)[2] == "designer"
    assert _versions(web, "dispatch").keys() == {1}  # dispatch has a table of its own

    with runtime.uow(read_only=True) as uow:
        assert suggest_routing(uow, "petition", "streetlight", "桃園").agency_code == "public_works"
    assert TAOYUAN_LIGHTS in _table(designer, 1) and TAOYUAN_LIGHTS not in _table(designer, 2)

    # The demo's three open petitions keep version 1 of the table; new cases take version 2.
    listing = designer.get("/designer").get_data(as_text=True)
    rows = [text_of(row) for row in re.findall(r"<tr>.*?</tr>", listing.split('<table class="items decisions">')[1],
                                               re.S) if "petition v" in row]
    v2, v1 = rows
    assert "petition v2" in v2 and v2.endswith(" 0")
    assert "petition v1" in v1 and v1.endswith(" 3")
    # Version 1 is read-only now; a change from it is refused, so no one's later change is lost.
    stale = _send(designer, "deploy", {"base_version": 1, "xml": changed})
    assert stale.status_code == 409 and "version 2" in stale.get_json()["message"]
    again = _send(designer, "deploy", {"base_version": 2, "xml": changed})
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert _versions(web).keys() == {1, 2}
