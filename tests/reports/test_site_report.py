"""Site inspections per half-year, per councillor's office and per agency, against inspections counted by hand.

  S1 asked by 王議員服務處, inspected 2026-12-03 with 水務局 and 工務局 invited; follow-ups: 水務局 (done),
     工務局 (done), 大溪區公所 (open)
  S2 asked by 王議員服務處, inspected 2026-12-10 with 工務局; no follow-up
  S3 asked by 李議員服務處, declined (asked 2026-11-20)
  S4 asked by 工務局 itself (no office), inspected 2026-06-15 with 工務局; follow-up 工務局 (open)
"""
import pytest

from engine.accounts.identity import SYSTEM
from engine.queries.tracking_reports import site_report
from engine.services.reports import CheckRollups, check_rollups

from .city import at, catch_up


def _request(library, clock, moment, requester):
    clock.set(moment)
    started = library.start("site_inspection", channel="council_referral", district="大溪", subject="排水改善會勘",
                            data={"requested_by": "councillor_office", "requester": requester})
    return started.case_id


def _schedule(library, case_id, when, invited, office):
    library.complete(library.item(case_id, "schedule_inspection").id, {
        "schedule_decision": "schedule", "inspection_at": when, "meeting_place": "現場",
        "invited_agencies": invited, **({"councillor_office": office} if office else {})})


def _minutes(library, case_id, follow_ups):
    library.complete(library.item(case_id, "record_minutes").id, {
        "minutes": "會勘結論", "attendees": [], "follow_up_items": [{"item": f"事項 {n}", "agency_code": code}
                                                                 for n, code in enumerate(follow_ups)]})


@pytest.fixture
def inspections(library, clock):
    s4 = _request(library, clock, at(6, 1, 9), "工務局")
    _schedule(library, s4, "2026-06-15T14:00:00+08:00", ["public_works"], None)
    _minutes(library, s4, ["public_works"])
    s1 = _request(library, clock, at(11, 20, 9), "王議員服務處")
    _schedule(library, s1, "2026-12-03T14:00:00+08:00", ["water", "public_works"], "王議員服務處")
    s2 = _request(library, clock, at(11, 20, 10), "王議員服務處")
    _schedule(library, s2, "2026-12-10T10:00:00+08:00", ["public_works"], "王議員服務處")
    s3 = _request(library, clock, at(11, 20, 11), "李議員服務處")
    library.complete(library.item(s3, "schedule_inspection").id, {"schedule_decision": "decline",
                                                                  "decline_reason": "已列管", "councillor_office": "李議員服務處"})
    clock.set(at(12, 3, 17))
    _minutes(library, s1, ["water", "public_works", "district_daxi"])
    tracked = library.items(s1, "track_follow_up")
    for item in tracked[:2]:
        library.complete(item.id, {"done_on": "2026-12-08", "result_note": "已完成"})
    clock.set(at(12, 10, 12))
    _minutes(library, s2, [])
    catch_up(library)
    return {"S1": s1, "S2": s2, "S3": s3, "S4": s4}


def test_each_half_year_counts_inspections_per_office_and_follow_ups_per_agency(library, inspections):
    with library.runtime.uow(read_only=True) as uow:
        first, second = site_report(uow, SYSTEM, 2026).halves
    assert (first.half, first.inspections, first.declined) == ("2026H1", 1, 0)
    assert [(o.office, o.inspections) for o in first.offices] == [("", 1)]
    assert [(a.agency_name, a.invited, a.follow_ups, a.follow_ups_done, a.follow_ups_open) for a in first.agencies] == [
        ("工務局", 1, 1, 0, 1)]
    assert (second.half, second.inspections, second.declined) == ("2026H2", 2, 1)
    assert [(o.office, o.inspections, o.declined) for o in second.offices] == [("王議員服務處", 2, 0), ("李議員服務處", 0, 1)]
    assert [(a.agency_name, a.invited, a.follow_ups, a.follow_ups_done) for a in second.agencies] == [
        ("工務局", 2, 1, 1), ("水務局", 1, 1, 1), ("大溪區公所", 0, 1, 0)]


def test_an_agency_head_sees_the_agency_lines_only(library, inspections):
    head = library.staff("head.water", "agency_head", "water")
    with library.runtime.uow(read_only=True) as uow:
        halves = site_report(uow, head, 2026).halves
    assert [(h.half, h.offices, [(a.agency_name, a.follow_ups_done) for a in h.agencies]) for h in halves] == [
        ("2026H1", (), []), ("2026H2", (), [("水務局", 1)])]


def test_the_site_rollups_agree_with_the_records(library, inspections):
    with library.runtime.uow(read_only=True) as uow:
        assert check_rollups(CheckRollups(), uow).agree
