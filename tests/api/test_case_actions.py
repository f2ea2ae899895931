"""Case actions through the staff API on the shipped petition workflow: transfer, extension, 補陳,
closing under art. 173, merging, and each refused to the wrong role, agency or step."""
from __future__ import annotations

import pytest

from api.app import create_app
from engine.settings import PROJECT_ROOT
from engine.workflow.definitions import read_bundle
from tests.api.conftest import ApiCity
from tests.unit.queries_city import build_city, taipei


@pytest.fixture
def city(runtime, clock) -> ApiCity:
    """The small city (工務局, 交通局, the commission) with the shipped workflows/ library deployed."""
    built = build_city(runtime, clock, read_bundle(PROJECT_ROOT / "workflows"))
    return ApiCity(built.runtime, built.clock, app=create_app(runtime=runtime))


def petition(city, category="road_pothole", at=None):
    """A web petition of 桃園; a pothole is routed by trusted rule straight to 工務局's reply draft."""
    city.clock.set(at or taipei(26))
    made = city.as_("dispatcher").post("/api/v1/cases", json={
        "case_type": "petition", "channel": "web", "category": category, "district": "桃園",
        "subject": "中正路路面坑洞"})
    assert made.status_code == 201, made.get_json()
    return made.get_json()["case_id"]


def case(city, case_id, who="admin"):
    return city.as_(who).get(f"/api/v1/cases/{case_id}").get_json()


def open_tasks(city, case_id):
    return sorted(w["task_spec"] for w in case(city, case_id)["open_work"])


def snapshot(city, case_id):
    """What a refused action must leave as it was: open work, due time, status, history."""
    seen = case(city, case_id)
    return sorted(w["task_spec"] for w in seen["open_work"]), seen["due_at"], seen["status"], len(seen["timeline"])


def events(city, case_id, kind, who="admin"):
    return [e["data"] for e in case(city, case_id, who)["timeline"] if e["kind"] == kind]


def inbox_cases(city, who):
    return {i["case_id"] for i in city.as_(who).get("/api/v1/inbox").get_json()["items"]}


def test_a_transfer_asked_by_the_caseworker_and_confirmed_moves_the_case_to_the_other_agency(city):
    case_id = petition(city)
    asked = city.as_("cw.roads").post(f"/api/v1/cases/{case_id}/transfer",
                                      json={"reason": "號誌桿屬交通局權責", "suggested_agency": "transport"})
    assert asked.status_code == 200 and asked.get_json()["task"] == "draft_reply"
    assert open_tasks(city, case_id) == ["confirm_transfer"]

    moved = city.as_("dispatcher").post(f"/api/v1/cases/{case_id}/transfer/decision",
                                        json={"approve": True, "agency_code": "transport", "note": "改分交通局"})
    assert moved.status_code == 200 and moved.get_json()["task"] == "confirm_transfer"
    assert case(city, case_id)["agency_id"] == city.agency_id("transport")
    assert case_id in inbox_cases(city, "cw.signals") and case_id not in inbox_cases(city, "cw.roads")
    assert city.as_("cw.roads").get(f"/api/v1/cases/{case_id}").status_code == 404
    assert events(city, case_id, "case_transferred")[-1]["reason"] == "號誌桿屬交通局權責"


def test_a_refused_transfer_leaves_the_case_with_its_agency(city):
    case_id = petition(city)
    city.as_("cw.roads").post(f"/api/v1/cases/{case_id}/transfer", json={"reason": "應屬區公所"})
    refused = city.as_("dispatcher").post(f"/api/v1/cases/{case_id}/transfer/decision",
                                          json={"approve": False, "note": "主要道路屬工務局養護"})
    assert refused.status_code == 200 and open_tasks(city, case_id) == ["draft_reply"]
    assert case(city, case_id, "cw.roads")["agency_id"] == city.agency_id("public_works")


def test_confirming_a_transfer_without_the_agency_is_the_form_s_422_naming_the_field(city):
    case_id = petition(city)
    city.as_("cw.roads").post(f"/api/v1/cases/{case_id}/transfer", json={"reason": "非本局權責"})
    before = snapshot(city, case_id)
    refused = city.as_("dispatcher").post(f"/api/v1/cases/{case_id}/transfer/decision", json={"approve": True})
    assert refused.status_code == 422 and list(refused.get_json()["errors"]["fields"]) == ["agency_code"]
    assert snapshot(city, case_id) == before


def test_an_approved_extension_moves_the_case_s_due_date(city):
    case_id = petition(city)
    assert case(city, case_id)["due_at"] == "2026-12-04T09:30:00+00:00"  # Friday 4 December 17:30 in Taipei
    asked = city.as_("cw.roads").post(f"/api/v1/cases/{case_id}/extension",
                                      json={"working_days": 5, "reason": "需會同台電現場確認"})
    assert asked.status_code == 200 and open_tasks(city, case_id) == ["approve_extension"]
    approved = city.as_("chief.roads").post(f"/api/v1/cases/{case_id}/extension/decision", json={"approve": True})
    assert approved.status_code == 200 and open_tasks(city, case_id) == ["draft_reply"]
    # Five working days on: Friday 11 December 17:30 in Taipei.
    assert case(city, case_id)["due_at"] == "2026-12-11T09:30:00+00:00"
    (extended,) = events(city, case_id, "deadline_extended")
    assert (extended["reason"], extended["amount"]) == ("需會同台電現場確認", 5)


def test_an_extension_past_the_rule_s_caps_is_refused_and_changes_nothing(city):
    case_id = petition(city)
    city.as_("cw.roads").post(f"/api/v1/cases/{case_id}/extension", json={"working_days": 24, "reason": "待中央函釋"})
    before = snapshot(city, case_id)
    refused = city.as_("chief.roads").post(f"/api/v1/cases/{case_id}/extension/decision", json={"approve": True})
    assert refused.status_code == 422 and refused.get_json()["error"] == "workflow_failed"
    assert snapshot(city, case_id) == before


def test_a_supplement_request_stops_the_clock_and_the_supplement_restarts_it_with_the_time_left(city):
    case_id = petition(city)
    asked = city.as_("cw.roads").post(f"/api/v1/cases/{case_id}/supplement-request", json={
        "what": "請提供坑洞的確切位置或照片", "due_at": "2026-12-10T17:30:00+08:00"})
    assert asked.status_code == 200 and open_tasks(city, case_id) == ["wait_supplement"]
    assert case(city, case_id)["due_at"] is None
    assert events(city, case_id, "clock_paused") == [{"reason": "請提供坑洞的確切位置或照片"}]

    # Paused Thursday 26 November 09:00, resumed a week (five working days) later.
    city.clock.set(taipei(3, month=12))
    recorded = city.as_("cw.roads").post(f"/api/v1/cases/{case_id}/supplement", json={
        "text": "位於中正路 100 號前，附照片", "received_via": "email"})
    assert recorded.status_code == 200 and open_tasks(city, case_id) == ["draft_reply"]
    # The time that was left (Thursday 09:00 to Friday 4 December 17:30) counts on from the
    # resumption: due five working days later than before, Friday 11 December 17:30.
    assert case(city, case_id)["due_at"] == "2026-12-11T09:30:00+00:00"
    assert events(city, case_id, "clock_resumed") == [{"due_at": "2026-12-11T09:30:00+00:00"}]


def test_the_dispatcher_closes_a_case_under_article_173_naming_the_subsection(city):
    case_id = petition(city, category="other")
    assert open_tasks(city, case_id) == ["confirm_routing"]
    closed = city.as_("dispatcher").post(f"/api/v1/cases/{case_id}/close",
                                         json={"ground": "repeated_after_answer", "note": "同一事由第三次陳情"})
    assert closed.status_code == 200 and closed.get_json()["status"] == "completed"
    seen = case(city, case_id)
    assert seen["status"] == "closed" and seen["open_work"] == []
    assert events(city, case_id, "closed_without_processing") == [{"ground": "repeated_after_answer"}]
    assert events(city, case_id, "case_closed") == [{"outcome": "closed_without_processing"}]


def test_a_ground_that_is_not_a_subsection_of_article_173_is_refused_naming_it(city):
    case_id = petition(city, category="other")
    refused = city.as_("dispatcher").post(f"/api/v1/cases/{case_id}/close", json={"ground": "annoying"})
    assert refused.status_code == 422 and "ground" in refused.get_json()["errors"]["json"]
    assert open_tasks(city, case_id) == ["confirm_routing"]


def test_a_duplicate_merged_into_another_case_is_closed_and_both_timelines_link_them(city):
    earlier = petition(city, category="other")
    earlier_no = case(city, earlier)["case_no"]
    duplicate = petition(city, category="other")
    duplicate_no = case(city, duplicate)["case_no"]
    merged = city.as_("dispatcher").post(f"/api/v1/cases/{duplicate}/merge",
                                         json={"target_case_no": earlier_no, "note": "同一地點"})
    assert merged.status_code == 200
    assert case(city, duplicate)["status"] == "closed"
    assert events(city, duplicate, "merged") == [{"into": earlier_no}]
    assert events(city, duplicate, "case_closed") == [{"outcome": "merged"}]
    assert events(city, earlier, "duplicate_merged") == [{"case_no": duplicate_no, "duplicate_case_id": duplicate}]
    assert open_tasks(city, earlier) == ["confirm_routing"]


def test_a_case_is_not_merged_into_itself_nor_into_a_case_that_does_not_exist(city):
    case_id = petition(city, category="other")
    before = snapshot(city, case_id)
    for target in (case(city, case_id)["case_no"], "P20990101000001"):
        refused = city.as_("dispatcher").post(f"/api/v1/cases/{case_id}/merge", json={"target_case_no": target})
        assert refused.status_code == 400 and list(refused.get_json()["errors"]["fields"]) == ["target_case_no"]
    assert snapshot(city, case_id) == before


#: action -> (path, body) for the refusals below.
ACTIONS = {
    "transfer": ("transfer", {"reason": "非本局權責"}),
    "extension": ("extension", {"working_days": 3, "reason": "需現場會勘"}),
    "supplement request": ("supplement-request", {"what": "請提供地址", "due_at": "2026-12-10T17:30:00+08:00"}),
    "close": ("close", {"ground": "no_content_or_identity"}),
    "merge": ("merge", {"target_case_no": "P20261120000042"}),
    "transfer decision": ("transfer/decision", {"approve": True, "agency_code": "transport"}),
    "extension decision": ("extension/decision", {"approve": True}),
    "supplement": ("supplement", {"text": "補件", "received_via": "web"}),
}


@pytest.mark.parametrize(("who", "action"), [("dispatcher", "transfer"), ("chief.roads", "extension"),
                                             ("reviewer", "supplement request"), ("head.works", "transfer")])
def test_a_role_that_does_not_draft_replies_may_not_act_at_the_draft(city, who, action):
    case_id = petition(city)
    before = snapshot(city, case_id)
    path, body = ACTIONS[action]
    refused = city.as_(who).post(f"/api/v1/cases/{case_id}/{path}", json=body)
    assert refused.status_code == 403, refused.get_json()
    assert snapshot(city, case_id) == before


def test_a_caseworker_may_not_decide_their_own_extension(city):
    case_id = petition(city)
    city.as_("cw.roads").post(f"/api/v1/cases/{case_id}/extension", json={"working_days": 3, "reason": "需會勘"})
    before = snapshot(city, case_id)
    assert city.as_("cw.roads").post(f"/api/v1/cases/{case_id}/extension/decision",
                                     json={"approve": True}).status_code == 403
    assert snapshot(city, case_id) == before


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_another_agency_s_case_is_not_found_exactly_like_a_missing_one(city, action):
    case_id = petition(city)
    before = snapshot(city, case_id)
    path, body = ACTIONS[action]
    theirs = city.as_("cw.signals").post(f"/api/v1/cases/{case_id}/{path}", json=body)
    missing = city.as_("cw.signals").post(f"/api/v1/cases/999999/{path}", json=body)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_json() == {**missing.get_json(), "message": missing.get_json()["message"].replace(
        "999999", str(case_id))}
    assert snapshot(city, case_id) == before


@pytest.mark.parametrize(("who", "action"), [("dispatcher", "close"), ("dispatcher", "merge"),
                                             ("dispatcher", "transfer decision"), ("chief.roads", "extension decision"),
                                             ("cw.roads", "supplement")])
def test_an_action_on_a_case_not_at_its_step_is_a_conflict_naming_the_open_tasks(city, who, action):
    case_id = petition(city)
    before = snapshot(city, case_id)
    path, body = ACTIONS[action]
    refused = city.as_(who).post(f"/api/v1/cases/{case_id}/{path}", json=body)
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["message"].endswith("open now: draft_reply")
    assert refused.get_json()["errors"]["open_tasks"] == ["draft_reply"]
    assert snapshot(city, case_id) == before


def test_a_closed_case_has_no_step_for_any_action(city):
    case_id = petition(city, category="other")
    city.as_("dispatcher").post(f"/api/v1/cases/{case_id}/close", json={"ground": "no_content_or_identity"})
    refused = city.as_("dispatcher").post(f"/api/v1/cases/{case_id}/close", json={"ground": "no_content_or_identity"})
    assert refused.status_code == 409 and refused.get_json()["message"].endswith("open now: nothing")


def test_a_street_report_that_is_not_the_unit_s_goes_back_to_the_dispatcher_through_the_same_transfer(city):
    made = city.as_("dispatcher").post("/api/v1/cases", json={
        "case_type": "dispatch", "channel": "app", "category": "road_pothole", "district": "桃園",
        "subject": "中正路坑洞", "data": {"road_width_m": 20}})
    case_id = made.get_json()["case_id"]
    assert open_tasks(city, case_id) == ["repair"]
    sent_back = city.as_("cw.roads").post(f"/api/v1/cases/{case_id}/transfer",
                                          json={"reason": "國道路段，非本局養護", "suggested_agency": "transport"})
    assert sent_back.status_code == 200 and sent_back.get_json()["task"] == "repair"
    assert open_tasks(city, case_id) == ["confirm_dispatch"]


@pytest.mark.parametrize(("who", "action"), [("reviewer", "close"), ("chief.petitions", "merge"),
                                             ("reviewer", "merge")])
def test_only_dispatchers_close_or_merge_at_routing(city, who, action):
    earlier = petition(city, category="other")
    case_id = petition(city, category="other")
    before = snapshot(city, case_id)
    path, body = ACTIONS[action]
    body = {**body, "target_case_no": case(city, earlier)["case_no"]} if action == "merge" else body
    refused = city.as_(who).post(f"/api/v1/cases/{case_id}/{path}", json=body)
    assert refused.status_code == 403, refused.get_json()
    assert snapshot(city, case_id) == before and events(city, earlier, "duplicate_merged") == []
