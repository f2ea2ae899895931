"""The dispatch process (縣容查報): routing to the repair unit, re-routing, rejection and late repairs."""
from datetime import datetime, timedelta

FIXED = {"repair_result": "fixed", "repair_note": "已完成坑洞修補", "photo_after_ref": "photos/after-001.jpg"}


def report(library, category="road_pothole", district="桃園", **data):
    return library.start("dispatch", channel="app", category=category, district=district,
                         subject="路面坑洞", data={"address": "桃園區中正路 100 號", "lat": 24.99, "lon": 121.31,
                                                   "photo_ref": "photos/report-001.jpg", **data})


def test_a_report_on_a_wide_road_goes_to_the_roads_unit_and_the_reporter_is_told(library):
    started = report(library, road_width_m=20)
    repair = library.item(started.case_id, "repair")
    assert (repair.role, repair.agency_id) == ("caseworker", library.agency_id("public_works"))
    done = library.complete(repair.id, FIXED)
    assert done.status == "completed" and library.case(started.case_id).status == "closed"
    data = library.data(started.case_id)
    assert data["outcome"] == "fixed" and started.case_no in data["reporter_notice"]


def test_a_narrow_road_goes_to_the_district_office(library):
    started = report(library, district="中壢", road_width_m=6)
    assert library.item(started.case_id, "repair").agency_id == library.agency_id("district_zhongli")


def test_an_unknown_road_width_asks_the_dispatcher_who_dispatches(library):
    started = report(library)
    confirm = library.item(started.case_id, "confirm_dispatch")
    assert (confirm.role, confirm.agency_id) == ("dispatcher", None)
    library.complete(confirm.id, {"dispatch_decision": "dispatch", "agency_code": "district_taoyuan",
                                  "unit_code": "works"})
    repair = library.item(started.case_id, "repair")
    assert repair.agency_id == library.agency_id("district_taoyuan")
    assert library.complete(repair.id, FIXED).status == "completed"


def test_not_our_job_goes_back_to_the_dispatcher_who_reroutes_it(library):
    started = report(library, category="streetlight", district="龜山")
    repair = library.item(started.case_id, "repair")
    assert repair.agency_id == library.agency_id("district_guishan")
    library.complete(repair.id, {"repair_result": "not_ours", "not_ours_reason": "台電電桿上的路燈",
                                 "suggested_agency": "public_works"})
    confirm = library.item(started.case_id, "confirm_dispatch")
    library.complete(confirm.id, {"dispatch_decision": "dispatch", "agency_code": "public_works",
                                  "unit_code": "roads"})
    repair = library.item(started.case_id, "repair")
    assert repair.agency_id == library.agency_id("public_works")
    library.complete(repair.id, FIXED)
    data = library.data(started.case_id)
    assert (data["outcome"], data["reroute_count"]) == ("fixed", 1)


def test_dispatcher_rejects_a_report_that_is_not_the_citys(library):
    started = report(library, category="unknown_thing")
    done = library.complete(library.item(started.case_id, "confirm_dispatch").id,
                            {"dispatch_decision": "reject", "reject_reason": "屬國道路段，已轉高公局"})
    assert done.status == "completed"
    data = library.data(started.case_id)
    assert data["outcome"] == "rejected" and "高公局" in data["reporter_notice"]


def test_repair_due_comes_from_the_deadline_rules_in_hours(library):
    started = report(library, road_width_m=12)
    data = library.data(started.case_id, library.item(started.case_id, "repair"))
    due = datetime.fromisoformat(data["repair_due"])
    assert due - datetime.fromisoformat(data["received_at"]) == timedelta(hours=4)


def test_a_late_repair_is_escalated_to_the_supervisor(library, clock):
    started = report(library, category="traffic_signal", district="八德")
    repair = library.item(started.case_id, "repair")
    assert repair.agency_id == library.agency_id("transport")
    clock.advance(hours=5)
    library.run(started.instance_id)
    chase = library.item(started.case_id, "chase_repair")
    assert (chase.role, chase.agency_id) == ("supervisor", library.agency_id("transport"))
    assert chase.due_at is None and library.item(started.case_id, "repair").due_at is not None
    assert library.open_tasks(started.case_id) == ["chase_repair", "repair"]
    done = library.complete(library.item(started.case_id, "repair").id, FIXED)
    assert done.status == "completed" and chase.id in done.cancelled


def test_a_repair_due_given_with_the_report_is_kept(library, clock):
    started = report(library, road_width_m=12, repair_due="2026-11-26T10:00:00+08:00")
    library.run(started.instance_id)
    assert library.open_tasks(started.case_id) == ["repair"]
    clock.advance(hours=2)
    library.run(started.instance_id)
    assert library.open_tasks(started.case_id) == ["chase_repair", "repair"]
