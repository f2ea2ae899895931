"""Every figure of the reports against the hand-built city (tests/reports/city.py), counted by hand.

November 2026, cases by letter (received, what happened; working days run from the receipt day to
the first reply, or to the close without one):
  A 11-02 web pothole 桃園 → 工務局, replied 11-03 by the roads unit (1 day), satisfied, closed 11-05
  B 11-03 web pothole 中壢 → 工務局, extended, replied 11-17 within the extension (10 days),
    unsatisfied, the reviewer closes it 11-19
  C 11-04 mail noise 中壢 → 環保局 (routing), transferred to 警察局 11-05, replied 11-16 (8 days)
    after its due time 11-12, satisfied
  D 11-06 email other 桃園, closed without processing the same morning (0 days), no agency
  E 11-09 web other 桃園, merged into A the same morning (0 days), no agency
  F, G 11-10 1999 calls: answered at 14:20, transferred at 22:05
  I 11-12 1999 dispatch pothole 中壢 → 工務局, open, overdue (due within hours)
  H 11-23 web pothole 桃園 → 工務局, A's petitioner again: a repeat; open, due 12-01: overdue on 12-10
December: J 12-01 web pothole 中壢 → 工務局, closed 12-02. The reports are read on 2026-12-10.
"""
from datetime import date

import pytest

from engine.accounts.identity import SYSTEM
from engine.errors import Forbidden, InvalidInput
from engine.queries.reports import Period, agency_report, calls_report, hotspot_report, median

from .city import build

NOVEMBER = Period.month(2026, 11)


@pytest.fixture
def city(library, clock):
    return build(library, clock)


def _report(library, principal=SYSTEM, period=NOVEMBER):
    with library.runtime.uow(read_only=True) as uow:
        return agency_report(uow, principal, period)


def _line(report, name):
    (found,) = [a for a in report.agencies if a.agency_name == name]
    return found


def test_the_november_figures_of_each_agency_are_the_hand_counted_ones(library, city):
    report = _report(library)
    assert [a.agency_name for a in report.agencies] == ["工務局", "環境保護局", "警察局", ""]
    works = _line(report, "工務局")
    assert (works.received, works.by_channel) == (4, {"1999": 1, "web": 3})
    assert (works.closed, works.closed_timed, works.closed_on_time, works.on_time_pct) == (2, 2, 2, 100.0)
    assert (works.close_days, works.average_days, works.median_days) == (11, 5.5, 5.5)
    assert (works.open_now, works.overdue_now, works.extensions) == (2, 2, 1)
    assert (works.transfers_in, works.transfers_out) == (0, 0)
    assert (works.surveys, works.satisfied, works.satisfied_pct) == (2, 1, 50.0)
    assert (works.reviews, works.sent_back, works.merged) == (1, 0, 0)

    env = _line(report, "環境保護局")
    assert (env.received, env.closed, env.transfers_out, env.transfers_in, env.open_now) == (0, 0, 1, 0, 0)

    police = _line(report, "警察局")
    assert (police.received, police.by_channel, police.closed, police.on_time_pct) == (1, {"mail": 1}, 1, 0.0)
    assert (police.average_days, police.median_days, police.transfers_in, police.satisfied_pct) == (8.0, 8.0, 1, 100.0)

    unrouted = _line(report, "")
    assert (unrouted.agency_id, unrouted.received, unrouted.by_channel) == (None, 2, {"email": 1, "web": 1})
    assert (unrouted.closed, unrouted.closed_on_time, unrouted.median_days, unrouted.merged) == (2, 2, 0.0, 1)


def test_the_city_line_adds_up_the_agencies_and_its_median_is_of_all_cases_closed(library, city):
    report = _report(library)
    c = report.city
    assert (c.received, c.by_channel) == (7, {"1999": 1, "email": 1, "mail": 1, "web": 4})
    assert (c.closed, c.closed_on_time, c.on_time_pct) == (5, 4, 80.0)
    assert (c.close_days, c.average_days, c.median_days) == (19, 3.8, 1.0)  # 0, 0, 1, 8, 10
    assert (c.open_now, c.overdue_now, c.extensions, c.transfers_in, c.transfers_out) == (2, 2, 1, 1, 1)
    assert (c.surveys, c.satisfied, c.satisfied_pct, c.reviews, c.sent_back, c.merged) == (3, 2, 66.7, 1, 0, 1)
    for measure in ("received", "closed", "closed_on_time", "close_days", "open_now", "overdue_now", "extensions",
                    "transfers_in", "transfers_out", "surveys", "satisfied", "reviews", "merged"):
        assert getattr(c, measure) == sum(getattr(a, measure) for a in report.agencies), measure
    assert report.pending == 0 and report.channels == ("1999", "email", "mail", "web")


def test_units_split_an_agency_by_the_unit_its_cases_were_routed_to(library, city):
    """The routing table sends potholes to 養護工程科: every pothole petition of 工務局 is that unit's."""
    works = _line(_report(library), "工務局")
    (roads,) = works.units
    assert (roads.unit_id, roads.unit_name, roads.received, roads.closed, roads.median_days) == \
        (city.roads_unit, "養護工程科", 4, 2, 5.5)
    assert (roads.open_now, roads.overdue_now) == (2, 2)
    assert roads.received == works.received


def test_december_counts_only_what_happened_in_december(library, city):
    works = _line(_report(library, period=Period.month(2026, 12)), "工務局")
    assert (works.received, works.closed, works.median_days, works.surveys, works.satisfied) == (1, 1, 1.0, 1, 1)
    assert (works.open_now, works.overdue_now) == (2, 2)  # open work is as of now, whatever the period


def test_a_quarter_holds_its_months(library, city):
    q4 = _report(library, period=Period.quarter(2026, 4))
    assert q4.period == Period(date(2026, 10, 1), date(2026, 12, 31)) and q4.period.label == "2026Q4"
    assert (q4.city.received, q4.city.closed, q4.city.median_days) == (8, 6, 1.0)  # J adds 1 day


def test_hot_spots_rank_categories_and_districts_month_by_month(library, city):
    with library.runtime.uow(read_only=True) as uow:
        spots = hotspot_report(uow, SYSTEM, Period.parse("2026-11-01..2026-12-31"))
    assert spots.months == (date(2026, 11, 1), date(2026, 12, 1))
    assert (spots.received, spots.repeated) == (8, 2)  # repeats: H (A's petitioner), E (merged)
    assert [(r.code, r.name, r.received, r.repeated, r.by_month) for r in spots.categories] == [
        ("road_pothole", "道路坑洞", 5, 1, (4, 1)), ("other", "其他", 2, 1, (2, 0)), ("noise", "噪音", 1, 0, (1, 0))]
    assert [(r.code, r.received, r.repeated, r.by_month) for r in spots.districts] == [
        ("中壢", 4, 0, (3, 1)), ("桃園", 4, 2, (4, 0))]
    assert (spots.dispatch_districts, spots.dispatch_matrix) == (("中壢",), (("road_pothole", "道路坑洞", (1,), 1),))


def test_1999_calls_by_outcome_and_hour(library, city):
    with library.runtime.uow(read_only=True) as uow:
        calls = calls_report(uow, SYSTEM, NOVEMBER)
    assert calls.total == 2
    assert calls.by_outcome == {"answered": 1, "transferred": 1, "opened_petition": 0, "opened_dispatch": 0, "": 0}
    assert calls.by_hour[14]["answered"] == 1 and calls.by_hour[22]["transferred"] == 1
    assert sum(sum(h.values()) for h in calls.by_hour) == 2


def test_an_agency_head_sees_only_the_agency_and_a_caseworker_no_report(library, city):
    head = library.staff("head.police", "agency_head", "police")
    reviewer = library.staff("rev", "reviewer", None)
    own = _report(library, head)
    assert [a.agency_name for a in own.agencies] == ["警察局"] and own.city.received == 1
    assert _report(library, reviewer).city.received == 7
    with pytest.raises(Forbidden):
        _report(library, city.cw_roads)
    with library.runtime.uow(read_only=True) as uow, pytest.raises(Forbidden):
        calls_report(uow, head, NOVEMBER)


@pytest.mark.parametrize("text, expected", [
    ("2026-03", (date(2026, 3, 1), date(2026, 3, 31))), ("2026Q1", (date(2026, 1, 1), date(2026, 3, 31))),
    ("2026", (date(2026, 1, 1), date(2026, 12, 31))), ("2026-01-05..2026-02-10", (date(2026, 1, 5), date(2026, 2, 10))),
    ("2025-11..2026Q1", (date(2025, 11, 1), date(2026, 3, 31)))])
def test_periods_are_read_as_months_quarters_years_and_ranges(text, expected):
    period = Period.parse(text)
    assert (period.start, period.end) == expected


@pytest.mark.parametrize("text", ["2026-13", "2026Q5", "march", "2026-02-10..2026-01-05", "2000-01-01..2026-01-01",
                                  "2026-01..2026-1-5", "..2026-01"])
def test_a_period_that_is_not_one_is_refused_by_name(text):
    with pytest.raises(InvalidInput):
        Period.parse(text)


def test_the_median_of_a_histogram():
    assert (median({}), median({3: 1}), median({0: 2, 1: 1, 8: 1, 10: 1}), median({1: 1, 10: 1})) == \
        (None, 3.0, 1.0, 5.5)


@pytest.mark.parametrize("text, label", [("2026-11", "2026-11"), ("2026Q4", "2026Q4"), ("2026", "2026"),
                                         ("2025-11..2026-10", "2025-11..2026-10"),
                                         ("2026-11-02..2026-11-30", "2026-11-02..2026-11-30")])
def test_a_period_is_labelled_as_it_would_be_asked_for(text, label):
    assert Period.parse(text).label == label and Period.parse(label) == Period.parse(text)
