"""A caseworker's inbox through the API, and completing work: forms, versions, a second completion."""
from __future__ import annotations

from tests.unit.queries_city import taipei


def open_reply(api, **kw):
    """A form_reply case at public_works: its draft item open to the agency's caseworkers."""
    started = api.open_case(taipei(24), process="form_reply", **kw)
    return started.case_id, started.work_item_ids[0]


def test_my_inbox_lists_my_groups_work_in_due_order_with_its_due_state(api):
    first, later = open_reply(api), api.open_case(taipei(25), process="form_reply")
    api.clock.set(taipei(26))
    page = api.as_("cw.roads").get("/api/v1/inbox").get_json()
    assert [item["work_item_id"] for item in page["items"]] == [first[1], later.work_item_ids[0]]
    item = page["items"][0]
    assert item["case_no"].startswith("P2026112") and item["task_spec"] == "draft"
    assert item["due_state"] in {"on_time", "at_risk", "due_today", "overdue"} and page["next_cursor"] is None


def test_another_agency_s_caseworker_does_not_see_the_item(api):
    open_reply(api)
    assert api.as_("cw.signals").get("/api/v1/inbox").get_json()["items"] == []


def test_the_inbox_pages_with_a_cursor(api):
    ids = [api.open_case(taipei(20 + n), process="form_reply").work_item_ids[0] for n in range(3)]
    caller, seen, cursor = api.as_("cw.roads"), [], None
    while True:
        page = caller.get("/api/v1/inbox", query_string={"limit": 2, **({"cursor": cursor} if cursor else {})}).get_json()
        seen += [item["work_item_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


def test_the_badges_count_what_the_lists_show(api):
    open_reply(api)
    counts = api.as_("cw.roads").get("/api/v1/inbox/counts").get_json()
    assert counts["open_to_my_groups"] == 1 and counts["assigned_to_me"] == 0 and counts["supervised"] is None
    assert api.as_("chief.roads").get("/api/v1/inbox/counts").get_json()["supervised"] == 1


def test_bad_inbox_arguments_are_refused_naming_them(api):
    answer = api.as_("cw.roads").get("/api/v1/inbox", query_string={"view": "everything", "limit": 0,
                                                                   "due_before": "2026-11-30T00:00:00"})
    assert answer.status_code == 422
    assert set(answer.get_json()["errors"]["query"]) == {"view", "limit", "due_before"}
    assert api.as_("cw.roads").get("/api/v1/inbox", query_string={"cursor": "x"}).status_code == 400


def test_completing_with_data_that_fails_the_form_lists_every_field_and_changes_nothing(api):
    case_id, item = open_reply(api)
    answer = api.as_("cw.roads").post(f"/api/v1/work-items/{item}/complete",
                                      json={"data": {"draft_action": "request_extension", "extension_days": 99}})
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["error"] == "invalid_form"
    assert set(body["errors"]["fields"]) >= {"extension_days", "extension_reason"}
    assert api.as_("cw.roads").get("/api/v1/inbox").get_json()["items"][0]["work_item_id"] == item


def test_a_completion_moves_the_case_on_to_the_supervisor(api):
    case_id, item = open_reply(api)
    done = api.as_("cw.roads").post(f"/api/v1/work-items/{item}/complete",
                                    json={"data": {"draft_action": "submit_reply", "reply_text": "已修復"}})
    assert done.status_code == 200
    body = done.get_json()
    assert body["case_id"] == case_id and len(body["opened"]) == 1 and body["status"] == "waiting"
    chief = api.as_("chief.roads").get("/api/v1/inbox", query_string={"view": "groups"}).get_json()
    assert [i["work_item_id"] for i in chief["items"]] == body["opened"]


def test_a_second_completion_of_the_same_item_gets_409_and_changes_nothing(api):
    _, item = open_reply(api)
    data = {"data": {"draft_action": "submit_reply", "reply_text": "已修復"}}
    first = api.as_("cw.roads").post(f"/api/v1/work-items/{item}/complete", json=data)
    second = api.as_("cw.bridges").post(f"/api/v1/work-items/{item}/complete", json=data)
    assert first.status_code == 200 and second.status_code == 409
    assert second.get_json()["error"] == "conflict"
    assert len(api.as_("chief.roads").get("/api/v1/inbox", query_string={"view": "groups"}).get_json()["items"]) == 1


def test_a_completion_at_a_stale_version_gets_409(api):
    _, item = open_reply(api)
    data = {"data": {"draft_action": "submit_reply", "reply_text": "已修復"}}
    stale = api.as_("cw.roads").post(f"/api/v1/work-items/{item}/complete", json=data, headers={"If-Match": '"7"'})
    assert stale.status_code == 409 and stale.get_json()["errors"] == {"expected_version": 7, "version": 1}
    assert stale.get_json()["message"].startswith("the work item was changed by someone else")
    fresh = api.as_("cw.roads").post(f"/api/v1/work-items/{item}/complete", json=data, headers={"If-Match": '"1"'})
    assert fresh.status_code == 200


def test_if_match_must_be_an_etag(api):
    _, item = open_reply(api)
    answer = api.as_("cw.roads").post(f"/api/v1/work-items/{item}/complete", json={"data": {}},
                                      headers={"If-Match": "yesterday"})
    assert answer.status_code == 400 and "If-Match" in answer.get_json()["errors"]["headers"]


def test_another_agency_s_item_is_not_found_exactly_like_a_missing_one(api):
    _, item = open_reply(api)
    theirs = api.as_("cw.signals").post(f"/api/v1/work-items/{item}/complete", json={"data": {}})
    missing = api.as_("cw.signals").post("/api/v1/work-items/999999/complete", json={"data": {}})
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_json()["message"].replace(str(item), "N") == missing.get_json()["message"].replace("999999", "N")


def test_a_supervisor_who_sees_the_item_may_not_complete_a_caseworker_s_task(api):
    _, item = open_reply(api)
    answer = api.as_("chief.roads").post(f"/api/v1/work-items/{item}/complete", json={"data": {}})
    assert answer.status_code == 403 and answer.get_json()["error"] == "forbidden"
