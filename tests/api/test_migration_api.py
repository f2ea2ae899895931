"""The staff API of moving running cases to a later version: GET the dry run, POST a bounded batch."""
from __future__ import annotations

import pytest

from api.app import create_app
from engine.services.deployment import DeployBundle, deploy_bundle
from tests.api.conftest import ApiCity
from tests.conftest import bundle
from tests.unit.queries_city import build_city, taipei

URL = "/api/v1/processes/revise/migration"


@pytest.fixture
def api(runtime, clock) -> ApiCity:
    """The small city with version 1 of `revise` deployed, served by the web app."""
    city = build_city(runtime, clock, bundle("migrate_v1.bpmn"))
    return ApiCity(city.runtime, city.clock, app=create_app(runtime=runtime))


def deploy(api, name: str) -> None:
    with api.runtime.uow() as uow:
        deploy_bundle(DeployBundle({"revise.bpmn": bundle(name)[name]}, deployed_by="designer"), uow)
        uow.commit()


def cases(api, at_draft: int, at_confirm: int):
    """Cases waiting at draft, then cases waiting at confirm."""
    started = []
    for n in range(at_draft + at_confirm):
        case = api.open_case(taipei(23, 9, n), process="revise")
        if n < at_draft:
            api.complete(case.work_item_ids[0])
        started.append(case)
    return started


def test_a_designer_reads_the_dry_run(api):
    draft, confirm = cases(api, 1, 1)
    deploy(api, "migrate_v2_removed.bpmn")

    answer = api.as_("designer").get(URL, query_string={"from_version": 1, "to_version": 2})

    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["running_cases"], body["next_after"], body["not_found"]) == (2, None, [])
    assert body["changes"]["removed"] == ["Chase the late reply (chase)", "Reply overdue (draft_overdue)", "chased",
                                          "擬辦答復 (draft)"]
    checks = {c["case_no"]: c for c in body["cases"]}
    assert checks[confirm.case_no]["can_move"] and checks[confirm.case_no]["reasons"] == []
    assert checks[draft.case_no]["can_move"] is False
    assert checks[draft.case_no]["reasons"][0] == "waiting at 擬辦答復 (draft), which version 2 removes"
    assert checks[draft.case_no]["waiting_at"] == ["擬辦答復 (draft)", "Reply overdue (draft_overdue)"]


def test_the_dry_run_pages(api):
    started = cases(api, 0, 3)
    deploy(api, "migrate_v2_added.bpmn")
    caller = api.as_("designer")
    first = caller.get(URL, query_string={"from_version": 1, "to_version": 2, "limit": 2}).get_json()
    rest = caller.get(URL, query_string={"from_version": 1, "to_version": 2, "limit": 2,
                                         "after": first["next_after"]}).get_json()
    assert [c["case_no"] for c in first["cases"] + rest["cases"]] == [c.case_no for c in started]
    assert rest["next_after"] is None


def test_an_administrator_moves_a_batch_and_gets_each_cases_result(api):
    draft, confirm = cases(api, 1, 1)
    deploy(api, "migrate_v2_removed.bpmn")

    answer = api.as_("admin").post(URL, json={"from_version": 1, "to_version": 2})

    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["moved"], body["refused"], body["failed"]) == (1, 1, 0)
    results = {r["case_no"]: r for r in body["results"]}
    assert results[confirm.case_no]["result"] == "moved"
    assert results[draft.case_no]["result"] == "refused"
    assert "waiting at 擬辦答復 (draft), which version 2 removes" in results[draft.case_no]["reasons"]
    again = api.as_("designer").get(URL, query_string={"from_version": 1, "to_version": 2}).get_json()
    assert [c["case_no"] for c in again["cases"]] == [draft.case_no]  # the moved one left version 1


def test_a_batch_is_bounded_and_may_name_its_cases(api):
    started = cases(api, 0, 3)
    deploy(api, "migrate_v2_added.bpmn")
    caller = api.as_("designer")
    body = caller.post(URL, json={"from_version": 1, "to_version": 2, "limit": 1}).get_json()
    assert [(r["case_no"], r["result"]) for r in body["results"]] == [(started[0].case_no, "moved")]
    body = caller.post(URL, json={"from_version": 1, "to_version": 2,
                                  "case_nos": [started[2].case_no, "P20260101999"]}).get_json()
    assert [(r["case_no"], r["result"], r["reasons"]) for r in body["results"]] == [
        ("P20260101999", "refused", ["no such case"]), (started[2].case_no, "moved", [])]
    resynced = body["results"][1]["resynced"]
    assert resynced[0]["lane"] == ["Dispatcher", "Reviewer"]


@pytest.mark.parametrize("who", ["cw.roads", "dispatcher", "chief.roads", "auditor"])
def test_others_are_refused(api, who):
    [case] = cases(api, 0, 1)
    deploy(api, "migrate_v2_added.bpmn")
    caller = api.as_(who)
    assert caller.get(URL, query_string={"from_version": 1, "to_version": 2}).status_code == 403
    answer = caller.post(URL, json={"from_version": 1, "to_version": 2})
    assert answer.status_code == 403
    assert "process designers and administrators" in answer.get_json()["message"]
    assert api.as_(None).get(URL, query_string={"from_version": 1, "to_version": 2}).status_code == 401


@pytest.mark.parametrize("method, url, args, status, message", [
    ("get", URL, {"from_version": 2, "to_version": 1}, 400, "version 1 is not later than version 2"),
    ("post", URL, {"from_version": 2, "to_version": 2}, 400, "version 2 is not later than version 2"),
    ("get", URL, {"from_version": 1, "to_version": 3}, 404, "process 'revise' has no version 3 (deployed: 1, 2)"),
    ("post", "/api/v1/processes/nope/migration", {"from_version": 1, "to_version": 2}, 404,
     "no process 'nope' is deployed"),
    ("get", URL, {"to_version": 2}, 422, None),
    ("get", URL, {"from_version": 1, "to_version": 2, "limit": 0}, 422, None),
    ("post", URL, {"from_version": "one", "to_version": 2}, 422, None),
    ("post", URL, {"from_version": 1, "to_version": 2, "case_nos": []}, 422, None),
    ("post", URL, {"from_version": 1, "to_version": 2, "limit": 201}, 422, None),
])
def test_bad_input_is_a_4xx_naming_the_problem(api, method, url, args, status, message):
    deploy(api, "migrate_v2_added.bpmn")
    caller = api.as_("designer")
    answer = (caller.get(url, query_string=args) if method == "get" else caller.post(url, json=args))
    assert answer.status_code == status, answer.get_json()
    if message:
        assert message in answer.get_json()["message"]
