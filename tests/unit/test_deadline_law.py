"""行政程序法 art. 48 word for word, office hours and task rules, on the real 2025-2027 calendars.

Art. 48 para. 4: "期間之末日為星期六者，以其次星期一上午為期間末日" (a calendar-day period whose
last day is a Saturday ends on the next Monday at noon); a make-up Saturday (補行上班日) is a
working day and does not roll (法務部 99.02.03 法律字第0999004718號); the first day of a rule
means what it says.
"""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.deadlines.calendar import calendar_for
from engine.deadlines.rules import (
    DeadlineRule,
    compute_deadline,
    deadline_for,
    escalation_steps,
    extend,
    find_rule,
    pause,
    reminder_times,
    restart,
    resume,
    task_deadline,
    task_rules,
    validate_rule,
)
from engine.errors import InvalidInput
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
    return datetime(y, m, d, h, mi, tzinfo=TAIPEI).astimezone(timezone.utc)


@pytest.fixture
def city(runtime):
    """The 2025, 2026 and 2027 holidays (2025-02-08 a make-up Saturday) and the shipped rules."""
    with runtime.uow() as uow:
        for year in (2025, 2026, 2027):
            load_public_holidays(LoadPublicHolidays(year), uow)
        load_deadline_rules(LoadDeadlineRules(), uow)
        uow.commit()
    return runtime


def cal(runtime, city="default"):
    with runtime.uow() as uow:
        return calendar_for(uow, city)


def due(runtime, case_type, received_at, **kw):
    with runtime.uow() as uow:
        return deadline_for(uow, case_type, received_at, **kw)


def five_days(first_day: str) -> DeadlineRule:
    return DeadlineRule("test.five_days", "council_item", 5, "calendar_days", first_day=first_day)


# --- the first day -----------------------------------------------------------------------

def test_five_calendar_days_from_a_saturday_receipt_count_from_sunday_and_end_thursday(city):
    # Received Saturday 2026-12-12: day 1 is Sunday 12-13, day 5 Thursday 12-17 (it ended Monday 12-21 before).
    deadline = compute_deadline(five_days("next_day"), taipei(2026, 12, 12, 10), cal(city))
    assert deadline.due_at == deadline.nominal_due_at == taipei(2026, 12, 17, 17, 30)


def test_the_day_received_as_day_one_counts_from_the_saturday_itself(city):
    assert compute_deadline(five_days("received"), taipei(2026, 12, 12, 10), cal(city)).due_at == \
        taipei(2026, 12, 16, 17, 30)


def test_moving_receipt_to_the_next_working_day_is_its_own_option(city):
    # Receipt moves to Monday 12-14, counting starts Tuesday 12-15; day 5 is Saturday 12-19: Monday noon.
    deadline = compute_deadline(five_days("next_working_day"), taipei(2026, 12, 12, 10), cal(city))
    assert deadline.nominal_due_at == taipei(2026, 12, 19, 17, 30)
    assert deadline.due_at == taipei(2026, 12, 21, 12, 0)


def test_a_council_question_delivered_on_a_saturday_is_counted_from_sunday(city):
    # council_item.default: 7 calendar days from the day after receipt; Sunday 12-06 to Saturday 12-12.
    deadline = due(city, "council_item", taipei(2026, 12, 5, 10))
    assert deadline.rule_code == "council_item.default"
    assert deadline.due_at == taipei(2026, 12, 14, 12, 0)


def test_received_after_closing_time_still_counts_from_the_next_calendar_day(city):
    # Thursday 2026-12-10 at 20:00: day 1 is Friday 12-11, day 7 Thursday 12-17.
    assert due(city, "council_item", taipei(2026, 12, 10, 20)).due_at == taipei(2026, 12, 17, 17, 30)


# --- a last day that is a Saturday ---------------------------------------------------------

def test_a_period_ending_on_a_saturday_ends_the_next_monday_at_noon(city):
    deadline = due(city, "council_item", taipei(2026, 3, 7, 10))  # days 1-7: Sunday 03-08 to Saturday 03-14
    assert deadline.nominal_due_at == taipei(2026, 3, 14, 17, 30)
    assert deadline.due_at == taipei(2026, 3, 16, 12, 0)


def test_a_saturday_last_day_whose_monday_is_off_rolls_to_the_next_working_day(city):
    # Saturday 2026-04-04 (兒童節), Monday 04-06 (清明節 補假) off: Tuesday 04-07 at closing.
    assert due(city, "council_item", taipei(2026, 3, 28, 10)).due_at == taipei(2026, 4, 7, 17, 30)


def test_a_saturday_last_day_in_the_2027_lunar_new_year_rolls_past_the_whole_break(city):
    # Saturday 2027-02-06 (春節); Monday 02-08 to Wednesday 02-10 off: Thursday 02-11 at closing.
    assert due(city, "council_item", taipei(2027, 1, 30, 10)).due_at == taipei(2027, 2, 11, 17, 30)


def test_a_make_up_saturday_is_a_working_day_and_does_not_roll(city):
    # 2025-02-08 is 補行上班: a period whose last day it is ends there, at closing.
    assert cal(city).is_working_day(date(2025, 2, 8))
    deadline = due(city, "council_item", taipei(2025, 2, 1, 10))  # Saturday in the 2025 break
    assert deadline.due_at == deadline.nominal_due_at == taipei(2025, 2, 8, 17, 30)


def test_a_typhoon_closure_on_that_monday_rolls_to_tuesday_in_the_closed_city_only(city):
    with city.uow() as uow:
        add_closure_day(AddClosureDay(date(2026, 3, 16), "颱風停班", city="taoyuan"), uow)
        uow.commit()
    assert due(city, "council_item", taipei(2026, 3, 7, 10), city="taoyuan").due_at == taipei(2026, 3, 17, 17, 30)
    assert due(city, "council_item", taipei(2026, 3, 7, 10)).due_at == taipei(2026, 3, 16, 12, 0)


def test_a_sunday_or_holiday_last_day_ends_the_next_working_day_at_closing(city):
    # Days 1-7 from Saturday 2026-10-03 end Friday 10-09 (國慶日 補假); 10-10 Sat, 10-11 Sun: Monday 10-12, 17:30.
    assert due(city, "council_item", taipei(2026, 10, 2, 10)).due_at == taipei(2026, 10, 12, 17, 30)


def test_a_resumed_calendar_day_clock_landing_on_a_saturday_ends_monday_noon(city):
    rule = DeadlineRule("test.week", "council_item", 7, "calendar_days", first_day="next_day")
    calendar = cal(city)
    deadline = compute_deadline(rule, taipei(2026, 12, 2, 10), calendar)  # Wednesday: due Wednesday 12-09
    assert deadline.due_at == taipei(2026, 12, 9, 17, 30)
    resumed = resume(pause(deadline, taipei(2026, 12, 4, 10)), taipei(2026, 12, 7, 10), calendar)
    assert resumed.nominal_due_at == taipei(2026, 12, 12, 17, 30)  # three days later: a Saturday
    assert resumed.due_at == taipei(2026, 12, 14, 12, 0)


def test_a_new_round_started_on_a_saturday_counts_from_sunday_and_ends_monday_noon(city):
    first = due(city, "council_item", taipei(2026, 12, 1, 10))
    again = restart(first, taipei(2026, 12, 12, 11), cal(city))  # sent back on Saturday 12-12
    assert again.due_at == taipei(2026, 12, 21, 12, 0)  # Sunday 12-13 .. Saturday 12-19


def test_a_calendar_day_extension_ending_on_a_saturday_ends_monday_noon(city):
    # site_inspection.follow_up: 14 calendar days from Thursday 2026-12-03 to Wednesday 12-16.
    deadline = due(city, "site_inspection", taipei(2026, 12, 2, 10))
    assert deadline.due_at == taipei(2026, 12, 16, 17, 30)
    extended = extend(deadline, 3, cal(city), unit="calendar_days")  # the last day becomes Saturday 12-19
    assert (extended.nominal_due_at, extended.due_at) == (taipei(2026, 12, 19, 17, 30), taipei(2026, 12, 21, 12, 0))


# --- office hours --------------------------------------------------------------------------

def test_four_office_hours_from_a_friday_afternoon_end_monday_late_morning(city):
    rule = DeadlineRule("test.route", "petition", 4, "office_hours", task="confirm_routing")
    deadline = compute_deadline(rule, taipei(2026, 12, 11, 16, 30), cal(city))
    assert deadline.due_at == taipei(2026, 12, 14, 11, 30)


def test_office_hours_skip_the_2026_lunar_new_year_and_reminders_count_back_in_office_hours(city):
    with city.uow() as uow:
        (rule,) = [r for r in task_rules(uow, "petition") if r.task == "confirm_routing"]
    calendar = cal(city)
    deadline = compute_deadline(rule, taipei(2026, 2, 13, 16, 0), calendar)  # the last working day before 春節
    assert deadline.due_at == taipei(2026, 2, 23, 11, 0)  # 1.5 h on Friday, 2.5 h on Monday 02-23
    assert reminder_times(deadline, calendar) == [taipei(2026, 2, 23, 10, 0)]
    assert [(s.level, s.to, s.at) for s in escalation_steps(deadline, calendar)] == [
        (1, "section_chief", taipei(2026, 2, 23, 11, 0)), (2, "commission", taipei(2026, 2, 23, 15, 0))]


def test_a_reminder_an_office_hour_before_a_monday_morning_due_time_falls_on_friday(city):
    rule = DeadlineRule("test.route", "petition", 2, "office_hours",
                        reminders=({"before": 1, "unit": "office_hours"},))
    calendar = cal(city)
    deadline = compute_deadline(rule, taipei(2026, 12, 11, 16, 0), calendar)  # half an hour Friday
    assert deadline.due_at == taipei(2026, 12, 14, 9, 0)  # and half an hour Monday
    assert reminder_times(deadline, calendar) == [taipei(2026, 12, 11, 17, 0)]  # the night does not count
    later = compute_deadline(rule, taipei(2026, 12, 11, 18, 0), calendar)  # after hours: from Monday 08:30
    assert (later.due_at, reminder_times(later, calendar)) == (taipei(2026, 12, 14, 10, 30), [taipei(2026, 12, 14, 9, 30)])


# --- task rules ----------------------------------------------------------------------------

def task_due(runtime, task, opened_at):
    with runtime.uow() as uow:
        return task_deadline(task_rules(uow, "petition"), "petition", task, opened_at, calendar_for(uow),
                             channel="web", category="road_pothole")


def test_the_shipped_task_rules_limit_routing_re_routing_and_review(city):
    routing = task_due(city, "confirm_routing", taipei(2026, 11, 26, 9))  # Thursday 09:00: four office hours
    assert (routing.rule_code, routing.task, routing.due_at) == (
        "petition.task.confirm_routing", "confirm_routing", taipei(2026, 11, 26, 13, 0))
    # A misrouted case is re-routed by the next working day: sent back Friday 2026-02-13, due Monday 02-23.
    assert task_due(city, "confirm_transfer", taipei(2026, 2, 13, 11)).due_at == taipei(2026, 2, 23, 17, 30)
    # A reply submitted Thursday 2026-12-24 is reviewed within two working days: 12-25 (行憲紀念日) is off.
    assert task_due(city, "approve_reply", taipei(2026, 12, 24, 10)).due_at == taipei(2026, 12, 29, 17, 30)
    assert task_due(city, "draft_reply", taipei(2026, 12, 24, 10)) is None  # no rule: the case's due time


def test_task_rules_never_become_the_case_rule(city):
    assert due(city, "petition", taipei(2026, 11, 26, 9)).rule_code == "petition.default"
    with city.uow() as uow:
        assert find_rule(uow.conn, "petition", "web", "road_pothole").code == "petition.default"


def test_a_task_rule_naming_no_task_is_refused():
    with pytest.raises(InvalidInput) as refused:
        validate_rule(DeadlineRule("test.blank", "petition", 1, "working_days", task=" "))
    assert refused.value.details["fields"] == {"task": ["must be empty (the case) or the id of a task of the process"]}
