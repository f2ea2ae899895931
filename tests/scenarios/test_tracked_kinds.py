"""Tracked items of every kind: monthly and quarterly rounds, a study's follow-up, a building's year-end inspection."""
from datetime import date

import pytest

from engine.cases.tracking import KINDS
from engine.queries.tracked_items import tracked_item
from engine.services.tracked_items import DecideClosure, cancel_tracked_item, release_tracked_item
from tests.scenarios.tracked_helpers import Tracking, at


@pytest.fixture
def tracking(library, clock):
    return Tracking(library, clock)


def detail(tracking, case_id):
    with tracking.library.runtime.uow() as uow:
        return tracked_item(uow, tracking.reviewer, case_id)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_registered_planned_and_reported_on_its_cadence(tracking, kind):
    # Given an item of the kind running from 2026-10 to 2027-03 (a major project with its budget)
    budget = 120_000_000 if kind == "major_project" else None
    item = tracking.register(kind, start=date(2026, 10, 1), end=date(2027, 3, 1), budget=budget,
                             policy="幸福城市政策" if kind == "mayor_policy" else None)
    tracking.plan(item.case_id, [10, 20, 40, 60, 80, 100])
    quarterly = kind in ("commissioned_study", "low_use_building")
    # Then the first round asks for October at once (its round opened on 11-01, before the item was
    # registered; due on the 5th working day), or for the fourth quarter from New Year's Day (due on
    # the 10th working day counted from Monday 01-04); the next round a month or a quarter later
    opened = tracking.open_round(item.case_id)
    assert opened == (at("2027-01-01 08:30") if quarterly else at("2026-11-26 09:00"))
    (report,) = tracking.library.open_items(item.case_id)
    assert report.due_at == (at("2027-01-15 17:30") if quarterly else at("2026-12-02 17:30"))
    tracking.report(item.case_id, 10)
    shown = detail(tracking, item.case_id)
    assert shown.item.cadence == ("quarterly" if quarterly else "monthly")
    assert shown.reports[0].period == (date(2026, 12, 1) if quarterly else date(2026, 10, 1))
    if kind == "low_use_building":  # its fourth-quarter report brings the year-end inspection first
        assert tracking.library.open_tasks(item.case_id) == ["year_end_inspection"]
    else:
        assert tracking.next_round_at(item.case_id) == (at("2027-04-01 08:30") if quarterly
                                                        else at("2026-12-01 08:30"))


def test_a_released_study_is_followed_up_six_months_later(tracking):
    item = tracking.register("commissioned_study", start=date(2026, 4, 1), end=date(2026, 11, 1), budget=1_200_000,
                             title="桃園市公共運輸發展策略委託研究")
    tracking.plan(item.case_id, [10, 20, 35, 50, 65, 80, 90, 100])
    tracking.round_and_report(item.case_id, 100, closure_request="release", closure_reason="研究報告已驗收結案")
    tracking.call(release_tracked_item, DecideClosure(item.case_id, True, tracking.reviewer))
    assert detail(tracking, item.case_id).item.status == "released"
    # The case stays open for the follow-up, due six months after closing (2027-05-26 08:30)
    assert tracking.library.open_tasks(item.case_id) == []
    assert tracking.next_round_at(item.case_id) == at("2027-05-26 08:30")
    tracking.open_round(item.case_id)
    follow_up = tracking.library.item(item.case_id, "study_follow_up")
    assert (follow_up.role, follow_up.due_at) == ("reviewer", None)
    tracking.library.complete(follow_up.id, {"follow_up_result": "partly_adopted", "follow_up_note": "部分建議納入施政"},
                              tracking.reviewer)
    assert detail(tracking, item.case_id).item.follow_up == "partly_adopted"
    assert tracking.library.instance(item.case_id).status == "completed"
    assert tracking.library.data(item.case_id)["outcome"] == "released"


def test_a_low_use_building_reports_every_quarter_and_is_inspected_at_year_end(tracking):
    item = tracking.register("low_use_building", start=date(2026, 1, 1), end=date(2026, 12, 1), budget=None,
                             title="原楊梅國中報廢宿舍A棟", agency="social")
    tracking.caseworker = tracking.library.staff("cw.social", "caseworker", "social")
    tracking.plan(item.case_id, [5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90])
    tracking.round_and_report(item.case_id, 60)  # the third quarter: no inspection
    assert tracking.library.open_tasks(item.case_id) == []
    tracking.round_and_report(item.case_id, 85)  # the fourth quarter: the commission inspects
    inspection = tracking.library.item(item.case_id, "year_end_inspection")
    assert inspection.role == "reviewer"
    tracking.library.complete(inspection.id, {"visited_on": "2027-01-20", "findings": "使用率提升，建議續辦藝文活動",
                                              "score": 82}, tracking.reviewer)
    (visit,) = detail(tracking, item.case_id).visits
    assert (visit.visit_kind, visit.visited_on, visit.score) == ("year_end_inspection", date(2027, 1, 20), 82)
    assert tracking.next_round_at(item.case_id) == at("2027-04-01 08:30")  # the first quarter of 2027
    shown = detail(tracking, item.case_id)
    assert [(r.period, r.gap_percent) for r in shown.reports] == [(date(2026, 9, 1), 0), (date(2026, 12, 1), 5)]


def test_a_cancelled_study_is_not_followed_up(tracking):
    item = tracking.register("commissioned_study", start=date(2026, 4, 1), end=date(2026, 11, 1), budget=800_000,
                             title="觀光發展策略委託研究")
    tracking.plan(item.case_id, [10, 20, 35, 50, 65, 80, 90, 100])
    tracking.round_and_report(item.case_id, 20, closure_request="cancel", closure_reason="委託案解約")
    tracking.call(cancel_tracked_item, DecideClosure(item.case_id, True, tracking.reviewer))
    assert tracking.library.instance(item.case_id).status == "completed"
    assert tracking.next_round_at(item.case_id) is None
    shown = detail(tracking, item.case_id).item
    assert (shown.status, shown.follow_up) == ("cancelled", None)
