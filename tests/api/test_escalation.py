"""The escalation queue and incidents through the API, each scoped to who reads it."""
from __future__ import annotations

from sqlalchemy import insert, update

from engine.store.schema import cases, incidents, timers, units, work_items
from tests.unit.queries_city import taipei


def late_item(api):
    """A form_reply case received on the 16th: due 6 working days on, overdue on the 26th."""
    started = api.open_case(taipei(16), process="form_reply")
    api.clock.set(taipei(26, 10))
    return started


def test_a_section_chief_sees_the_late_work_of_their_agency_with_how_late_it_is(api):
    started = late_item(api)
    queue = api.as_("chief.roads").get("/api/v1/escalation-queue").get_json()
    assert [item["work_item_id"] for item in queue["items"]] == started.work_item_ids
    item = queue["items"][0]
    assert item["state"] == "overdue" and item["working_days_late"] >= 1
    assert queue["counts"] == [{"agency_id": api.agency_id("public_works"), "agency_name": "工務局",
                                "level": item["escalation_level"], "state": "overdue", "count": 1}]


def test_another_agency_s_chief_sees_none_of_it_and_a_caseworker_reads_no_queue(api):
    late_item(api)
    assert api.as_("chief.signals").get("/api/v1/escalation-queue").get_json()["items"] == []
    assert api.as_("cw.roads").get("/api/v1/escalation-queue").status_code == 403
    theirs = api.as_("chief.signals").get("/api/v1/escalation-queue",
                                          query_string={"agency_id": api.agency_id("public_works")})
    assert theirs.status_code == 403


def test_the_commission_sees_every_agency_s_late_work(api):
    started = late_item(api)
    queue = api.as_("reviewer").get("/api/v1/escalation-queue").get_json()
    assert [item["work_item_id"] for item in queue["items"]] == started.work_item_ids
    [item] = queue["items"]
    assert (item["case_id"], item["case_no"], item["agency_name"]) == (started.case_id, started.case_no, "工務局")
    assert item["assignee"] is None  # open to the group
    assert queue["unit_counts"] == []  # the city's queue is counted per agency
    one = api.as_("reviewer").get("/api/v1/escalation-queue",
                                  query_string={"agency_id": api.agency_id("public_works")}).get_json()
    assert [(c["unit_name"], c["count"]) for c in one["unit_counts"]] == [(None, 1)]  # its case names no unit


def test_a_section_chief_s_queue_is_counted_per_unit_of_the_cases(api):
    started = late_item(api)
    works = api.agency_id("public_works")
    with api.runtime.db.begin() as conn:  # the case and its open work placed in a unit (科), as routing leaves them
        unit = conn.execute(insert(units).returning(units.c.id), {
            "agency_id": works, "code": "roads_late", "name": "養護工程科"}).scalar_one()
        conn.execute(update(cases).where(cases.c.id == started.case_id).values(unit_id=unit))
        conn.execute(update(work_items).where(work_items.c.case_id == started.case_id).values(unit_id=unit))
    queue = api.as_("chief.roads").get("/api/v1/escalation-queue").get_json()
    item = queue["items"][0]
    assert queue["unit_counts"] == [{"unit_id": unit, "unit_name": "養護工程科", "level": item["escalation_level"],
                                     "state": "overdue", "count": 1}]


def _incident(api, started):
    with api.runtime.db.begin() as conn:
        timer_id = conn.execute(insert(timers).returning(timers.c.id), {
            "kind": "reminder", "instance_id": started.instance_id, "case_id": started.case_id, "due_at": api.clock.now(), "status": "failed",
            "attempts": 5, "created_at": api.clock.now()}).scalar_one()
        return conn.execute(insert(incidents).returning(incidents.c.id), {
            "kind": "timer_failed", "subject_table": "timers", "subject_id": timer_id, "case_id": started.case_id,
            "message": "the mail server refused", "attempts": 5, "created_at": api.clock.now()}).scalar_one()


def test_incidents_are_listed_retried_and_resolved_by_the_agency_s_chief_only(api):
    started = late_item(api)
    first, second = _incident(api, started), _incident(api, started)
    chief, other = api.as_("chief.roads"), api.as_("chief.signals")
    assert [i["id"] for i in chief.get("/api/v1/incidents").get_json()] == [first, second]
    assert other.get("/api/v1/incidents").get_json() == []
    assert other.post(f"/api/v1/incidents/{first}/retry").status_code == 404
    retried = chief.post(f"/api/v1/incidents/{first}/retry")
    assert retried.status_code == 200 and retried.get_json()["status"] == "retried"
    assert retried.get_json()["resolved_by"] == "chief.roads"
    assert chief.post(f"/api/v1/incidents/{first}/retry").status_code == 409
    resolved = chief.post(f"/api/v1/incidents/{second}/resolve", json={"resolution": "寄送成功（人工補寄）"})
    assert resolved.get_json()["status"] == "resolved"
    assert chief.get("/api/v1/incidents").get_json() == []
    assert [i["id"] for i in chief.get("/api/v1/incidents", query_string={"status": "retried"}).get_json()] == [first]
    assert api.as_("cw.roads").get("/api/v1/incidents").status_code == 403


def test_a_chief_reminds_the_holders_of_late_work_now_and_the_case_remembers(api):
    started = late_item(api)
    item = started.work_item_ids[0]
    answer = api.as_("chief.roads").post("/api/v1/escalation-queue/remind", json={"work_item_ids": [item]})
    assert answer.status_code == 200 and answer.get_json() == {"reminded": 1}
    timeline = api.as_("chief.roads").get(f"/api/v1/cases/{started.case_id}").get_json()["timeline"]
    assert [(e["kind"], e["actor"], e["work_item_id"]) for e in timeline][-1] == ("reminded_by_supervisor",
                                                                                 "chief.roads", item)


def test_reminding_work_that_is_not_mine_to_supervise_does_nothing_and_names_the_item(api):
    started = late_item(api)
    item = started.work_item_ids[0]
    answer = api.as_("chief.signals").post("/api/v1/escalation-queue/remind", json={"work_item_ids": [item]})
    assert answer.status_code == 400 and list(answer.get_json()["errors"]["fields"]["work_item_ids"]) == [str(item)]
    timeline = api.as_("chief.roads").get(f"/api/v1/cases/{started.case_id}").get_json()["timeline"]
    assert "reminded_by_supervisor" not in [e["kind"] for e in timeline]


def test_a_chief_acknowledges_a_late_item_with_a_note(api):
    started = late_item(api)
    item = started.work_item_ids[0]
    chief = api.as_("chief.roads")
    assert chief.post(f"/api/v1/escalation-queue/{item}/acknowledge", json={"note": "已電話催辦，週五前答復"}).status_code == 204
    last = chief.get(f"/api/v1/cases/{started.case_id}").get_json()["timeline"][-1]
    assert (last["kind"], last["data"]) == ("escalation_acknowledged", {"note": "已電話催辦，週五前答復"})
    assert api.as_("chief.signals").post(f"/api/v1/escalation-queue/{item}/acknowledge",
                                         json={"note": "x"}).status_code == 404
    assert chief.post(f"/api/v1/escalation-queue/{item}/acknowledge", json={"note": ""}).status_code == 422


def test_the_queue_says_who_holds_each_item_and_since_when(api):
    started = late_item(api)
    api.assign(started.work_item_ids[0], "cw.roads")
    [item] = api.as_("chief.roads").get("/api/v1/escalation-queue").get_json()["items"]
    assert item["assignee"] == "cw.roads" and item["since"].startswith("2026-11-16")


def test_by_default_the_queue_looks_as_far_ahead_as_the_inbox_and_the_page_and_further_when_asked(api):
    # A reply due at the close of Tuesday the 24th; on Friday the 20th that is two working days away
    started = api.open_case(taipei(16), process="form_reply")
    api.clock.set(taipei(20, 10))
    chief = api.as_("chief.roads")
    assert chief.get("/api/v1/escalation-queue").get_json()["items"] == []
    assert api.as_("cw.roads").get("/api/v1/inbox/counts").get_json()["at_risk"] == 0
    further = chief.get("/api/v1/escalation-queue", query_string={"at_risk_days": 2}).get_json()
    assert [(i["work_item_id"], i["state"]) for i in further["items"]] == [(started.work_item_ids[0], "at_risk")]
    # On Monday the 23rd it is due on the next working day: at risk by default
    api.clock.set(taipei(23, 10))
    assert [i["work_item_id"] for i in chief.get("/api/v1/escalation-queue").get_json()["items"]] == \
        started.work_item_ids
