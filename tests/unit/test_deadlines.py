"""Deadlines on the real 2025/2026 calendar: rules, due times, reminders, escalation, extension, pause."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.deadlines.calendar import WorkingCalendar, calendar_for
from engine.deadlines.rules import (
    Deadline,
    DeadlineRule,
    compute_deadline,
    deadline_for,
    escalation_steps,
    extend,
    find_rule,
    pause,
    pick_rule,
    remaining,
    reminder_times,
    restart,
    resume,
    total_days,
    validate_rule,
)
from engine.errors import InvalidInput, NotFound
from engine.services.calendar_admin import (
    AddClosureDay,
    LoadDeadlineRules,
    LoadPublicHolidays,
    add_closure_day,
    load_deadline_rules,
    load_public_holidays,
)

TAIPEI = ZoneInfo("Asia/Taipei")


def taipei(y, m, d, h=10, mi=0) -> datetime:
    """An aware UTC datetime given as Taipei wall-clock time."""
    return datetime(y, m, d, h, mi, tzinfo=TAIPEI).astimezone(timezone.utc)


@pytest.fixture
def city(runtime):
    """A runtime with the 2025 and 2026 holidays and the default deadline rules loaded."""
    with runtime.uow() as uow:
        for year in (2025, 2026):
            load_public_holidays(LoadPublicHolidays(year), uow)
        load_deadline_rules(LoadDeadlineRules(), uow)
        uow.commit()
    return runtime


def due(runtime, case_type, received_at, **kw) -> Deadline:
    with runtime.uow() as uow:
        return deadline_for(uow, case_type, received_at, **kw)


def calendar(runtime, city="default") -> WorkingCalendar:
    with runtime.uow() as uow:
        return calendar_for(uow, city)


def test_petition_received_before_the_2026_lunar_new_year_break_is_due_after_the_whole_break(city):
    # Friday 2026-02-13 is the last working day before 春節 (02-14 to 02-22); 02-27 is 和平紀念日 補假.
    deadline = due(city, "petition", taipei(2026, 2, 13, 10))
    assert deadline.due_at == taipei(2026, 3, 3, 17, 30)
    assert deadline.rule_code == "petition.default" and deadline.rule_id is not None


def test_petition_received_the_friday_before_a_makeup_saturday_counts_that_saturday(city):
    # 2025-02-08 is 補行上班: Sat 8, Mon 10 ... Fri 14 are the six working days.
    assert due(city, "petition", taipei(2025, 2, 7, 10)).due_at == taipei(2025, 2, 14, 17, 30)


def test_a_typhoon_closure_day_moves_the_due_date(city):
    received = taipei(2026, 8, 3, 10)
    assert due(city, "petition", received).due_at == taipei(2026, 8, 11, 17, 30)
    with city.uow() as uow:
        add_closure_day(AddClosureDay(date(2026, 8, 6), "颱風停班", city="taoyuan"), uow)
        uow.commit()
    assert due(city, "petition", received, city="taoyuan").due_at == taipei(2026, 8, 12, 17, 30)
    assert due(city, "petition", received).due_at == taipei(2026, 8, 11, 17, 30)


@pytest.mark.parametrize(("received", "due_on"), [
    (taipei(2026, 3, 2, 17, 29), date(2026, 3, 10)),
    (taipei(2026, 3, 2, 18, 0), date(2026, 3, 11)),   # after hours: received Tuesday, counted from Wednesday
    (taipei(2026, 3, 7, 11, 0), date(2026, 3, 17)),   # Saturday: received Monday 03-09
])
def test_receipt_after_office_hours_or_on_a_day_off_counts_from_the_next_working_day(city, received, due_on):
    assert due(city, "petition", received).due_at == taipei(due_on.year, due_on.month, due_on.day, 17, 30)


def test_a_petition_shared_by_several_agencies_gets_ten_working_days(city):
    deadline = due(city, "petition", taipei(2026, 3, 2), multi_agency=True)
    assert (deadline.limit, deadline.due_at) == (10, taipei(2026, 3, 16, 17, 30))


def test_a_calendar_day_limit_ending_on_a_sunday_moves_to_monday():
    rule = DeadlineRule("test.ten_days", "council_item", 10, "calendar_days", first_day="next_day")
    deadline = compute_deadline(rule, taipei(2026, 3, 5), WorkingCalendar())
    assert deadline.nominal_due_at == taipei(2026, 3, 15, 17, 30)  # a Sunday
    assert deadline.due_at == taipei(2026, 3, 16, 17, 30)


def test_a_council_item_due_on_mid_autumn_festival_moves_past_teachers_day(city):
    # Day 7 after Friday 09-18 is Friday 09-25 (中秋節); Saturday, Sunday, then Monday 09-28 (教師節) are off.
    assert due(city, "council_item", taipei(2026, 9, 18, 15)).due_at == taipei(2026, 9, 29, 17, 30)


def test_a_pothole_is_due_four_elapsed_hours_later_even_on_a_saturday_night(city):
    deadline = due(city, "dispatch", taipei(2026, 3, 7, 22), category="road_pothole", channel="1999")
    assert (deadline.rule_code, deadline.due_at) == ("dispatch.road_pothole", taipei(2026, 3, 8, 2))
    assert due(city, "dispatch", taipei(2026, 3, 2), category="tree").rule_code == "dispatch.default"


def test_a_paused_clock_resumes_with_the_working_time_that_was_left(city):
    cal = calendar(city)
    deadline = due(city, "petition", taipei(2026, 3, 2))  # due Tuesday 03-10 17:30
    paused = pause(deadline, taipei(2026, 3, 5, 10))       # Thursday 10:00: Thu, Fri, Mon, Tue left
    left = remaining(paused, taipei(2026, 3, 20), cal)
    assert left == timedelta(hours=7.5 + 9 * 3)
    resumed = resume(paused, taipei(2026, 3, 11, 10), cal)  # the citizen answers the next Wednesday 10:00
    assert resumed.due_at == taipei(2026, 3, 16, 17, 30)
    assert remaining(resumed, taipei(2026, 3, 11, 10), cal) == left
    assert (resumed.paused_at, resumed.paused_days) == (None, 6)


def test_a_clock_resumed_in_the_afternoon_keeps_the_office_time_to_the_minute(city):
    cal = calendar(city)
    paused = pause(due(city, "petition", taipei(2026, 3, 2)), taipei(2026, 3, 5, 10))
    resumed = resume(paused, taipei(2026, 3, 11, 14), cal)
    assert resumed.due_at == taipei(2026, 3, 17, 12, 30)  # 34.5 office hours from Wednesday 14:00


def test_a_paused_calendar_day_clock_moves_by_the_days_paused():
    cal = WorkingCalendar()
    rule = DeadlineRule("test.week", "council_item", 7, "calendar_days", first_day="next_day")
    deadline = compute_deadline(rule, taipei(2026, 3, 2), cal)  # due Monday 03-09
    resumed = resume(pause(deadline, taipei(2026, 3, 4)), taipei(2026, 3, 7), cal)
    assert resumed.due_at == taipei(2026, 3, 12, 17, 30)


def test_pausing_twice_or_resuming_a_running_clock_is_refused(city):
    deadline = due(city, "petition", taipei(2026, 3, 2))
    with pytest.raises(InvalidInput, match="already paused"):
        pause(pause(deadline, taipei(2026, 3, 3)), taipei(2026, 3, 4))
    with pytest.raises(InvalidInput, match="not paused"):
        resume(deadline, taipei(2026, 3, 4), calendar(city))


def test_an_extension_beyond_the_30_day_cap_is_refused_naming_the_cap(city):
    cal = calendar(city)
    deadline = due(city, "petition", taipei(2026, 3, 2))
    once = extend(deadline, 10, cal)
    assert (once.due_at, once.extensions) == (taipei(2026, 3, 24, 17, 30), 1)
    with pytest.raises(InvalidInput, match="cap of 30 days") as refused:
        extend(once, 10, cal)  # 04-09: 38 days after receipt (04-03 and 04-06 are off)
    assert refused.value.details["max_total_days"] == 30 and "2026-04-01" in refused.value.message


def test_days_paused_for_the_citizen_do_not_count_against_the_cap(city):
    cal = calendar(city)
    deadline = due(city, "petition", taipei(2026, 3, 2))
    resumed = resume(pause(deadline, taipei(2026, 3, 3, 17)), taipei(2026, 3, 13, 17), cal)  # 10 days paused
    assert resumed.due_at == taipei(2026, 3, 20, 17, 30)
    extended = extend(resumed, 13, cal)
    assert (extended.due_at, total_days(extended, cal)) == (taipei(2026, 4, 10, 17, 30), 39 - 10)
    with pytest.raises(InvalidInput, match="39 calendar days"):
        extend(deadline, 21, cal)  # the same due date without the pause


def test_a_council_item_cannot_be_extended_and_a_third_petition_extension_is_refused(city):
    cal = calendar(city)
    with pytest.raises(InvalidInput, match="at most 0 extension"):
        extend(due(city, "council_item", taipei(2026, 3, 2)), 1, cal)
    twice = extend(extend(due(city, "petition", taipei(2026, 3, 2)), 1, cal), 1, cal)
    with pytest.raises(InvalidInput, match="at most 2 extension"):
        extend(twice, 1, cal)


def test_reminders_and_the_escalation_ladder_follow_the_rule(city):
    cal = calendar(city)
    deadline = due(city, "petition", taipei(2026, 3, 2))  # due Tuesday 03-10 17:30
    assert reminder_times(deadline, cal) == [taipei(2026, 3, 9, 17, 30)]
    steps = [(s.level, s.to, s.at) for s in escalation_steps(deadline, cal)]
    assert steps == [(1, "section_chief", taipei(2026, 3, 10, 17, 30)), (2, "agency_head", taipei(2026, 3, 12, 17, 30)),
                     (3, "commission", taipei(2026, 3, 17, 17, 30))]
    pothole = due(city, "dispatch", taipei(2026, 3, 6, 16), category="road_pothole")  # Friday 16:00
    assert reminder_times(pothole, cal) == [taipei(2026, 3, 6, 19)]
    assert [s.at for s in escalation_steps(pothole, cal)][1:] == [taipei(2026, 3, 7, 0), taipei(2026, 3, 9, 20)]


def test_the_most_specific_rule_wins_then_priority_then_the_newest():
    def rule(code, rule_id, **kw):
        return DeadlineRule(code, "petition", 6, "working_days", id=rule_id, **kw)
    rules = [rule("any", 1), rule("by_channel", 2, channel="1999"), rule("by_category", 3, category="noise"),
             rule("both", 4, channel="1999", category="noise"), rule("off", 9, channel="1999", active=False),
             rule("any_urgent", 5, priority=1)]
    assert pick_rule(rules, "petition", "1999", "noise").code == "both"
    assert pick_rule(rules, "petition", "web", "noise").code == "by_category"
    assert pick_rule(rules, "petition", "1999", "pothole").code == "by_channel"
    assert pick_rule(rules, "petition", "web", None).code == "any_urgent"
    assert pick_rule(rules + [rule("any_newer", 6, priority=1)], "petition").code == "any_newer"
    with pytest.raises(NotFound, match="hotline"):
        pick_rule(rules, "hotline")


def test_find_rule_reads_the_stored_rules_and_reports_a_case_type_without_one(city):
    with city.uow() as uow:
        assert find_rule(uow.conn, "dispatch", "web", "dirty_spot").limit_unit == "hours"
        assert find_rule(uow.conn, "hotline", "1999").limit_value == 1
        with pytest.raises(NotFound):
            find_rule(uow.conn, "unknown_type")


def test_a_deadline_survives_a_round_trip_through_json_task_data(city):
    import json
    deadline = pause(due(city, "petition", taipei(2026, 3, 2)), taipei(2026, 3, 4))
    assert Deadline.from_data(json.loads(json.dumps(deadline.to_data()))) == deadline


def test_a_new_round_counts_the_rules_limit_again_from_the_day_the_reply_is_sent_back(city):
    cal = calendar(city)
    first = extend(due(city, "petition", taipei(2026, 3, 2)), 10, cal)  # extended once, due 03-24
    again = restart(first, taipei(2026, 4, 7, 15), cal)  # sent back Tuesday 04-07 (after 清明 04-03 to 04-06)
    assert again == due(city, "petition", taipei(2026, 4, 7, 15))  # as a case received then
    assert (again.due_at, again.extensions, again.rule_code) == (taipei(2026, 4, 15, 17, 30), 0, "petition.default")
    assert extend(again, 10, cal).extensions == 1  # the cap counts from the new start


def test_a_new_round_keeps_the_terms_counting_even_if_the_rule_changed_since():
    rule = DeadlineRule("test.ten_days", "council_item", 10, "calendar_days", first_day="received")
    deadline = compute_deadline(rule, taipei(2026, 3, 5), WorkingCalendar())
    again = restart(deadline, taipei(2026, 3, 20), WorkingCalendar())
    assert again.due_at == taipei(2026, 3, 30, 17, 30)  # 03-20 is day 1, day 10 is Sunday 03-29
    with pytest.raises(InvalidInput, match="paused"):
        restart(pause(deadline, taipei(2026, 3, 6)), taipei(2026, 3, 20), WorkingCalendar())


def test_terms_stored_before_first_day_was_kept_or_by_a_newer_version_still_load(city):
    data = due(city, "petition", taipei(2026, 3, 2)).to_data()
    del data["first_day"]
    assert Deadline.from_data(data).first_day == "next_working_day"
    assert Deadline.from_data({**data, "kept_by_a_later_version": 1}).due_at == taipei(2026, 3, 10, 17, 30)


@pytest.mark.parametrize(("change", "field"), [
    ({"limit_unit": "weeks"}, "limit_unit"), ({"limit_value": 0}, "limit_value"),
    ({"first_day": "tomorrow"}, "first_day"), ({"reminders": ({"before": -1},)}, "reminders"),
    ({"escalations": ({"level": 1, "after": 0},)}, "escalations"),
])
def test_a_rule_that_cannot_be_applied_is_refused_naming_the_field(change, field):
    base = dict(code="bad", case_type="petition", limit_value=6, limit_unit="working_days")
    with pytest.raises(InvalidInput, match=f"'bad': {field}"):
        validate_rule(DeadlineRule(**{**base, **change}))
