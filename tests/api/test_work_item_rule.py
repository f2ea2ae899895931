"""Through the API: a work item another agency's staff may not see is a 404 as a missing one to its page and every
command; one they see but may not act on is a 403 saying why; neither changes or records anything."""
from __future__ import annotations

import pytest

from api.app import create_app
from engine.settings import PROJECT_ROOT
from engine.workflow.definitions import read_bundle
from tests.api.conftest import ApiCity
from tests.unit.queries_city import build_city
from tests.unit.work_item_scenes import OPINION, REPLY, add_staff, co_handled, pothole, transferred

#: An item id no row has.
MISSING = 987654


@pytest.fixture
def api(runtime, clock) -> ApiCity:
    """The small city with the shipped process library, served by the web app."""
    city = build_city(runtime, clock, read_bundle(PROJECT_ROOT / "workflows"))
    return ApiCity(city.runtime, city.clock, app=create_app(runtime=runtime))


def calls(caller, item: int) -> dict:
    """Each endpoint of an item: its status and error body, the item's id written N."""
    base = f"/api/v1/work-items/{item}"
    answers = {
        "page": caller.get(base),
        "claim": caller.post(f"{base}/claim"),
        "unclaim": caller.post(f"{base}/unclaim"),
        "assign": caller.post(f"{base}/assign", json={"assignee_id": None}),
        "draft": caller.put(f"{base}/draft", json={"data": {"reply_text": "草稿"}}),
        "discard": caller.delete(f"{base}/draft"),
        "complete": caller.post(f"{base}/complete", json={"data": REPLY}),
    }
    return {name: (r.status_code, r.get_json()["message"].replace(str(item), "N") if r.status_code >= 400 else None)
            for name, r in answers.items()}


def history(api, case_id: int) -> list:
    return [(e["kind"], e["work_item_id"]) for e in api.as_("admin").get(f"/api/v1/cases/{case_id}").get_json()["timeline"]]


def test_a_colleague_gets_404_for_the_completed_item_of_a_case_moved_away_and_its_completer_409(api):
    case_id, draft = transferred(api)
    before = history(api, case_id)
    hidden = calls(api.as_("cw.bridges"), draft)
    assert hidden == calls(api.as_("cw.bridges"), MISSING)
    assert set(hidden.values()) == {(404, "work item N does not exist")}
    mine = calls(api.as_("cw.roads"), draft)
    assert (mine.pop("page"), mine.pop("discard")) == ((200, None), (204, None))
    assert set(mine.values()) == {(409, "work item N is already completed")}
    assert history(api, case_id) == before


def test_a_co_handling_agency_sees_the_opinion_it_was_asked_for_and_only_its_liaisons_may_give_it(api):
    add_staff(api, "liaison.lights", "agency_liaison", "transport")
    asked = co_handled(api)
    before = history(api, asked.case_id)
    seen = calls(api.as_("cw.signals"), asked.opinion)
    why = "it is for the role agency_liaison of its agency, which you do not hold"
    assert seen["page"] == (200, None) and api.as_("cw.signals").get(
        f"/api/v1/work-items/{asked.opinion}").get_json()["may_complete"] is False
    assert seen["complete"] == (403, f"you may not complete work item N: {why}")
    assert seen["draft"] == (403, f"you may not keep a draft of work item N: {why}")
    assert seen["claim"][0] == seen["assign"][0] == 403
    assert history(api, asked.case_id) == before
    # Once given, the opinion is the past of another agency's case to any other liaison.
    api.complete(asked.opinion, "liaison.signals", OPINION)
    assert set(calls(api.as_("liaison.lights"), asked.opinion).values()) == {(404, "work item N does not exist")}


def test_a_section_chief_is_told_whose_item_it_is_and_another_agencys_caseworker_is_told_of_none(api):
    started = pothole(api)
    (draft,) = started.work_item_ids
    assert api.as_("cw.roads").post(f"/api/v1/work-items/{draft}/claim").status_code == 200
    before = history(api, started.case_id)
    chief = api.as_("chief.roads")
    answer = chief.post(f"/api/v1/work-items/{draft}/complete", json={"data": REPLY})
    assert answer.status_code == 403 and answer.get_json()["message"] == (
        f"you may not complete work item {draft}: it is assigned to cw.roads, and only they may work on it")
    assert chief.put(f"/api/v1/work-items/{draft}/draft", json={"data": {}}).status_code == 403
    stranger = calls(api.as_("cw.signals"), draft)
    assert stranger == calls(api.as_("cw.signals"), MISSING)
    assert set(stranger.values()) == {(404, "work item N does not exist")}
    assert history(api, started.case_id) == before
