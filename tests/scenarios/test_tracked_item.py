"""The tracked item process (列管): plan, approval, report rounds, the agenda, special reports, closing."""
from datetime import date

import pytest
from sqlalchemy import select

from engine.errors import Conflict, Forbidden, InvalidInput
from engine.queries.tracked_items import list_tracked_items, meeting_agenda, tracked_item
from engine.services.tracked_items import (
    DecideClosure,
    RecordSiteVisit,
    RegisterTrackedItem,
    cancel_tracked_item,
    decide_closure,
    record_site_visit,
    register_tracked_item,
    release_tracked_item,
)
from engine.store.schema import timers
from tests.scenarios.tracked_helpers import Tracking, at

PLAN = [10, 25, 40, 60, 80, 100]  # 2026-11 .. 2027-04


@pytest.fixture
def tracking(library, clock):
    return Tracking(library, clock)


def detail(tracking, case_id):
    with tracking.library.runtime.uow() as uow:
        return tracked_item(uow, tracking.reviewer, case_id)


def agenda(tracking):
    with tracking.library.runtime.uow() as uow:
        return meeting_agenda(uow, tracking.reviewer)


def test_registering_a_major_project_asks_its_agency_for_a_plan_due_under_the_rule(tracking):
    # Given a major project registered by the commission on Thursday 2026-11-26
    item = tracking.register()
    # Then its agency's caseworkers are asked for the plan, due on the 5th working day (Wed 12-02)
    (plan,) = tracking.library.open_items(item.case_id)
    assert (plan.task_spec, plan.role) == ("plan_submit", "caseworker")
    assert plan.agency_id == tracking.library.agency_id("public_works")
    assert plan.due_at == at("2026-12-02 17:30")
    assert item.case_no.startswith("T20261126")
    shown = detail(tracking, item.case_id).item
    assert (shown.kind, shown.status, shown.plan_status, shown.cadence) == ("major_project", "planning", "none", "monthly")


def test_a_major_project_needs_ten_million_and_a_known_kind(tracking):
    with pytest.raises(InvalidInput, match="10,000,000"):
        tracking.register(budget=9_999_999)
    with pytest.raises(InvalidInput, match="kind must be one of"):
        tracking.register(kind="bridge")
    with pytest.raises(InvalidInput, match="last month"):
        tracking.register(start=date(2027, 1, 1), end=date(2026, 12, 1))
    with tracking.library.runtime.uow() as uow:
        assert list_tracked_items(uow, tracking.reviewer) == []


def test_only_the_commission_registers_tracked_items(tracking):
    with pytest.raises(Forbidden):
        tracking.call(register_tracked_item, RegisterTrackedItem(
            "mayor_policy", "市民卡整合", "public_works", date(2026, 11, 1), date(2027, 1, 1), tracking.caseworker))


def test_a_returned_plan_goes_back_to_the_agency_and_an_approved_one_starts_the_rounds(tracking):
    item = tracking.register()
    tracking.plan(item.case_id, [5, 10, 20, 40, 70, 100], approve=False)
    assert tracking.library.open_tasks(item.case_id) == ["plan_submit"]
    assert detail(tracking, item.case_id).item.plan_status == "none"
    tracking.plan(item.case_id, PLAN)
    shown = detail(tracking, item.case_id)
    assert (shown.item.status, shown.item.plan_status) == ("tracking", "approved")
    assert shown.plan[date(2027, 4, 1)] == 100 and len(shown.plan) == 6
    # The first round (November) opens on Tuesday 12-01 at 08:30; nothing is asked before
    assert tracking.library.open_tasks(item.case_id) == []
    assert tracking.next_round_at(item.case_id) == at("2026-12-01 08:30")


def test_a_plan_must_give_every_month_and_never_go_down(tracking):
    item = tracking.register()
    with pytest.raises(InvalidInput):
        tracking.plan(item.case_id, [10, 20])
    with pytest.raises(InvalidInput, match="cumulative"):
        tracking.plan(item.case_id, [10, 25, 20, 60, 80, 100])
    assert tracking.library.open_tasks(item.case_id) == ["plan_submit"]


def test_each_month_a_report_is_due_on_the_fifth_working_day_and_kept_in_its_own_table(tracking):
    item = tracking.register()
    tracking.plan(item.case_id, PLAN)
    tracking.open_round(item.case_id)
    (report,) = tracking.library.open_items(item.case_id)
    assert (report.task_spec, report.role) == ("progress_report", "caseworker")
    assert report.due_at == at("2026-12-07 17:30")  # Tue 1, Wed 2, Thu 3, Fri 4, Mon 7
    tracking.report(item.case_id, 12, note="基礎工程施作中")
    # December's round opens on New Year's Day, a day off: its five working days count from Monday 01-04
    assert tracking.next_round_at(item.case_id) == at("2027-01-01 08:30")
    tracking.open_round(item.case_id)
    (report,) = tracking.library.open_items(item.case_id)
    assert report.due_at == at("2027-01-08 17:30")  # Mon 4 .. Fri 8
    tracking.report(item.case_id, 25)
    shown = detail(tracking, item.case_id)
    assert [(r.period, r.planned_percent, r.actual_percent, r.gap_percent) for r in shown.reports] == [
        (date(2026, 11, 1), 10, 12, -2), (date(2026, 12, 1), 25, 25, 0)]
    assert shown.item.bucket == "on_or_ahead"
    # The workflow keeps no history of the reports
    assert tracking.library.state_size(item.case_id) < 16 * 1024


def test_a_late_report_is_reminded_escalated_and_chased(tracking):
    item = tracking.register()
    tracking.plan(item.case_id, PLAN)
    tracking.open_round(item.case_id)
    tracking.clock.set(at("2026-12-07 17:31"))
    tracking.library.run(tracking.library.instance(item.case_id).id)
    assert tracking.library.open_tasks(item.case_id) == ["progress_report", "report_chase"]
    chase = tracking.library.item(item.case_id, "report_chase")
    assert (chase.role, chase.due_at) == ("reviewer", None)
    with tracking.library.runtime.db.connect() as conn:
        kinds = conn.execute(select(timers.c.kind, timers.c.due_at).where(
            timers.c.work_item_id == tracking.library.item(item.case_id, "progress_report").id)).all()
    # Reminded the working day before, escalated to the section chief at the due time, and up the ladder
    assert sorted((k.kind, k.due_at) for k in kinds)[:2] == [("escalation", at("2026-12-07 17:30")),
                                                            ("escalation", at("2026-12-09 17:30"))]
    assert ("reminder", at("2026-12-04 17:30")) in {(k.kind, k.due_at) for k in kinds}
    # The report comes in three weeks late (12-28): the chase stays with the commission until it is
    # recorded, and December's round still opens on its day (01-01)
    tracking.clock.set(at("2026-12-28 10:00"))
    tracking.report(item.case_id, 10)
    assert tracking.library.open_tasks(item.case_id) == ["report_chase"]
    tracking.library.complete(tracking.library.item(item.case_id, "report_chase").id,
                              {"chase_action": "reminded", "chase_note": "電話催辦"}, tracking.reviewer)
    assert tracking.library.open_tasks(item.case_id) == []
    assert tracking.next_round_at(item.case_id) == at("2027-01-01 08:30")


def test_a_report_in_after_the_next_round_should_have_opened_opens_that_round_at_once(tracking):
    item = tracking.register()
    tracking.plan(item.case_id, PLAN)
    tracking.open_round(item.case_id)  # November's round, 12-01
    tracking.clock.set(at("2027-01-05 10:00"))  # reported only in January
    tracking.report(item.case_id, 10)
    assert tracking.next_round_at(item.case_id) == at("2027-01-05 10:00")  # December's: at once
    tracking.open_round(item.case_id)
    (report,) = tracking.library.open_items(item.case_id)
    assert report.due_at == at("2027-01-11 17:30")  # five working days from 01-05
    tracking.report(item.case_id, 25)
    assert [r.period for r in detail(tracking, item.case_id).reports] == [date(2026, 11, 1), date(2026, 12, 1)]


def test_behind_by_ten_percent_puts_the_item_on_the_meeting_agenda(tracking):
    item = tracking.register()
    other = tracking.register(title="龜山區道路拓寬工程")
    for case_id in (item.case_id, other.case_id):
        tracking.plan(case_id, PLAN)
    tracking.round_and_report(item.case_id, 0)  # planned 10: behind by exactly 10
    tracking.round_and_report(other.case_id, 1)  # behind by 9
    assert [(a.case_no, a.gap_percent) for a in agenda(tracking)] == [(item.case_no, 10)]
    assert detail(tracking, other.case_id).item.bucket == "behind_under_10"


def test_behind_by_twenty_percent_twice_in_a_row_calls_for_a_special_report(tracking):
    item = tracking.register()
    tracking.plan(item.case_id, PLAN)
    tracking.round_and_report(item.case_id, 0)  # Nov: 10 behind
    tracking.round_and_report(item.case_id, 5)  # Dec: 20 behind (once)
    assert tracking.library.open_tasks(item.case_id) == []
    tracking.round_and_report(item.case_id, 15)  # Jan: 25 behind (twice in a row)
    special = tracking.library.item(item.case_id, "special_report")
    assert (special.role, special.agency_id) == ("caseworker", tracking.library.agency_id("public_works"))
    assert agenda(tracking)[0].special_report_due
    remedy = {"delay_causes": "土地取得延宕", "remedy_plan": "協調地主完成協議", "recovery_month": "2027-06"}
    tracking.library.complete(special.id, remedy, tracking.caseworker)
    review = tracking.library.item(item.case_id, "special_review")
    tracking.library.complete(review.id, {"special_decision": "send_back", "special_comment": "請補充管線遷移"},
                              tracking.reviewer)
    again = tracking.library.item(item.case_id, "special_report")
    tracking.library.complete(again.id, remedy, tracking.caseworker)
    tracking.library.complete(tracking.library.item(item.case_id, "special_review").id,
                              {"special_decision": "accept", "special_comment": ""}, tracking.reviewer)
    assert tracking.next_round_at(item.case_id) == at("2027-03-01 08:30")  # February's round
    # Catching up resets the streak
    tracking.round_and_report(item.case_id, 60)
    assert not detail(tracking, item.case_id).item.special_report_due
    assert agenda(tracking) == []


def test_release_is_asked_by_the_agency_and_approved_by_the_commission(tracking):
    item = tracking.register()
    tracking.plan(item.case_id, PLAN)
    tracking.round_and_report(item.case_id, 100, closure_request="release", closure_reason="工程提前完工並驗收")
    assert tracking.library.open_tasks(item.case_id) == ["closure_review"]
    with pytest.raises(Conflict, match="release"):
        tracking.call(cancel_tracked_item, DecideClosure(item.case_id, True, tracking.reviewer))
    tracking.call(release_tracked_item, DecideClosure(item.case_id, True, tracking.reviewer, "同意解除列管"))
    assert tracking.library.instance(item.case_id).status == "completed"
    assert tracking.library.case(item.case_id).status == "closed"
    shown = detail(tracking, item.case_id).item
    assert (shown.status, shown.bucket, shown.closure_request) == ("released", None, None)
    assert tracking.library.data(item.case_id)["outcome"] == "released"


def test_a_rejected_request_keeps_the_item_tracked_and_a_cancellation_closes_it(tracking):
    item = tracking.register()
    tracking.plan(item.case_id, PLAN)
    tracking.round_and_report(item.case_id, 10, closure_request="cancel", closure_reason="計畫經費刪除")
    tracking.call(decide_closure, DecideClosure(item.case_id, False, tracking.reviewer, "仍有預算"))
    assert tracking.library.open_tasks(item.case_id) == []
    assert detail(tracking, item.case_id).item.closure_request is None
    assert tracking.next_round_at(item.case_id) == at("2027-01-01 08:30")
    tracking.round_and_report(item.case_id, 25, closure_request="cancel", closure_reason="議會刪除預算")
    tracking.call(cancel_tracked_item, DecideClosure(item.case_id, True, tracking.reviewer))
    assert detail(tracking, item.case_id).item.status == "cancelled"
    assert tracking.library.data(item.case_id)["outcome"] == "cancelled"


def test_a_report_or_a_decision_nobody_waits_for_is_refused(tracking):
    item = tracking.register()
    with pytest.raises(Conflict, match="progress_report"):
        tracking.report(item.case_id, 10)
    with pytest.raises(Conflict, match="closure_review"):
        tracking.call(release_tracked_item, DecideClosure(item.case_id, True, tracking.reviewer))


def test_a_site_visit_is_recorded_with_its_findings(tracking):
    item = tracking.register()
    tracking.call(record_site_visit, RecordSiteVisit(item.case_id, date(2026, 11, 25), "鋼筋綁紮不符圖說，請改善",
                                                     tracking.reviewer))
    with pytest.raises(Forbidden):
        tracking.call(record_site_visit, RecordSiteVisit(item.case_id, date(2026, 11, 25), "x", tracking.caseworker))
    (visit,) = detail(tracking, item.case_id).visits
    assert (visit.visit_kind, visit.findings) == ("verification", "鋼筋綁紮不符圖說，請改善")
    assert tracking.library.events(item.case_id, "tracked_visit_recorded")[0]["visited_on"] == "2026-11-25"


def test_agencies_see_only_their_own_tracked_items(tracking, library):
    mine = tracking.register()
    tracking.register(title="中壢區排水改善", agency="water")
    with library.runtime.uow() as uow:
        seen = list_tracked_items(uow, tracking.caseworker)
        everything = list_tracked_items(uow, tracking.reviewer)
    assert [i.case_no for i in seen] == [mine.case_no]
    assert len(everything) == 2


def test_two_years_of_monthly_reports_stay_in_their_table_and_the_state_stays_small(tracking):
    item = tracking.register(start=date(2026, 11, 1), end=date(2028, 10, 1))
    tracking.plan(item.case_id, [round(100 * (i + 1) / 24, 2) for i in range(24)])
    sizes = []
    for month in range(24):
        tracking.round_and_report(item.case_id, round(100 * (month + 1) / 24, 2), note="依進度施工" * 40)
        sizes.append(tracking.library.state_size(item.case_id))
    shown = detail(tracking, item.case_id)
    assert len(shown.reports) == 24 and shown.reports[-1].period == date(2028, 10, 1)
    assert all(r.gap_percent == 0 for r in shown.reports)
    # The 24th report leaves the state no larger than the 2nd did: nothing accumulates
    assert max(sizes) < 16 * 1024 and sizes[-1] <= sizes[1] + 256, sizes
