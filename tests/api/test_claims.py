"""A work item's page, claiming, giving back, assigning, drafts, and two people completing at once."""
from __future__ import annotations

import threading

from tests.unit.queries_city import taipei

REPLY = {"data": {"draft_action": "submit_reply", "reply_text": "已修復"}}


def open_reply(api):
    return api.open_case(taipei(24), process="form_reply").work_item_ids[0]


def test_the_item_s_page_has_its_form_and_an_etag(api):
    item = open_reply(api)
    answer = api.as_("cw.roads").get(f"/api/v1/work-items/{item}")
    page = answer.get_json()
    assert answer.status_code == 200 and answer.headers["ETag"] == f'"{page["version"]}"'
    assert page["form"]["title"] == "擬辦答復" and "draft_action" in page["form"]["properties"]
    assert page["may_complete"] is True and page["draft"] is None
    assert api.as_("cw.signals").get(f"/api/v1/work-items/{item}").status_code == 404


def test_claiming_makes_the_item_mine_and_a_second_claimant_is_told_who_holds_it(api):
    item = open_reply(api)
    claimed = api.as_("cw.roads").post(f"/api/v1/work-items/{item}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "cw.roads"
    refused = api.as_("cw.bridges").post(f"/api/v1/work-items/{item}/claim")
    assert refused.status_code == 409 and "cw.roads" in refused.get_json()["message"]
    mine = api.as_("cw.roads").get("/api/v1/inbox", query_string={"view": "mine"}).get_json()["items"]
    assert [i["work_item_id"] for i in mine] == [item]
    assert api.as_("cw.bridges").get("/api/v1/inbox").get_json()["items"] == []
    assert api.as_("cw.bridges").post(f"/api/v1/work-items/{item}/complete", json=REPLY).status_code == 403


def test_a_claim_at_a_stale_etag_is_refused(api):
    item = open_reply(api)
    etag = api.as_("cw.roads").get(f"/api/v1/work-items/{item}").headers["ETag"]
    api.as_("cw.roads").post(f"/api/v1/work-items/{item}/claim")
    api.as_("cw.roads").post(f"/api/v1/work-items/{item}/unclaim")
    stale = api.as_("cw.bridges").post(f"/api/v1/work-items/{item}/claim", headers={"If-Match": etag})
    assert stale.status_code == 409


def test_a_section_chief_assigns_to_a_caseworker_and_back_to_the_group(api):
    item = open_reply(api)
    chief = api.as_("chief.roads")
    given = chief.post(f"/api/v1/work-items/{item}/assign", json={"assignee_id": api.user_id("cw.bridges")})
    assert given.status_code == 200 and given.get_json()["assignee"] == "cw.bridges"
    wrong = chief.post(f"/api/v1/work-items/{item}/assign", json={"assignee_id": api.user_id("cw.signals")})
    assert wrong.status_code == 400 and "assignee_id" in wrong.get_json()["errors"]["fields"]
    back = chief.post(f"/api/v1/work-items/{item}/assign", json={"assignee_id": None})
    assert back.get_json()["assignee"] is None
    assert api.as_("cw.roads").post(f"/api/v1/work-items/{item}/assign",
                                    json={"assignee_id": api.user_id("cw.roads")}).status_code == 403


def test_a_chief_reassigns_many_late_items_at_once_or_none(api):
    items = [api.open_case(taipei(16), process="form_reply").work_item_ids[0] for _ in range(2)]
    theirs = api.open_case(taipei(16), process="form_reply", agency="transport").work_item_ids[0]
    api.clock.set(taipei(26, 10))
    chief = api.as_("chief.roads")
    refused = chief.post("/api/v1/escalation-queue/reassign",
                         json={"work_item_ids": [*items, theirs], "assignee_id": api.user_id("cw.bridges")})
    assert refused.status_code == 404 and list(refused.get_json()["errors"]["work_items"]) == [str(theirs)]
    assert {i["assignee"] for i in chief.get("/api/v1/escalation-queue").get_json()["items"]} == {None}
    done = chief.post("/api/v1/escalation-queue/reassign",
                      json={"work_item_ids": items, "assignee_id": api.user_id("cw.bridges")})
    assert done.status_code == 200 and done.get_json()["work_item_ids"] == items
    assert {i["assignee"] for i in chief.get("/api/v1/escalation-queue").get_json()["items"]} == {"cw.bridges"}


def test_my_draft_is_kept_and_shown_on_the_item_s_page_until_it_is_completed(api):
    item = open_reply(api)
    caller = api.as_("cw.roads")
    saved = caller.put(f"/api/v1/work-items/{item}/draft", json={"data": {"reply_text": "初稿"}})
    assert saved.status_code == 200
    assert caller.get(f"/api/v1/work-items/{item}").get_json()["draft"]["data"] == {"reply_text": "初稿"}
    assert api.as_("cw.bridges").get(f"/api/v1/work-items/{item}").get_json()["draft"] is None
    caller.post(f"/api/v1/work-items/{item}/complete", json=REPLY)
    assert caller.get(f"/api/v1/work-items/{item}").get_json()["draft"] is None


def test_i_throw_my_draft_away(api):
    item = open_reply(api)
    caller = api.as_("cw.roads")
    caller.put(f"/api/v1/work-items/{item}/draft", json={"data": {"reply_text": "初稿"}})
    assert caller.delete(f"/api/v1/work-items/{item}/draft").status_code == 204
    assert caller.get(f"/api/v1/work-items/{item}").get_json()["draft"] is None
    assert caller.delete(f"/api/v1/work-items/{item}/draft").status_code == 204
    assert api.as_("cw.signals").delete(f"/api/v1/work-items/{item}/draft").status_code == 404


def test_two_people_completing_the_same_item_at_once_get_one_200_and_one_409(api):
    item = open_reply(api)
    callers = [api.as_("cw.roads"), api.as_("cw.bridges")]
    answers, barrier = [], threading.Barrier(2)

    def complete(caller):
        barrier.wait()
        answers.append(caller.post(f"/api/v1/work-items/{item}/complete", json=REPLY).status_code)

    threads = [threading.Thread(target=complete, args=(c,)) for c in callers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200, 409]
    assert len(api.as_("chief.roads").get("/api/v1/inbox", query_string={"view": "groups"}).get_json()["items"]) == 1
