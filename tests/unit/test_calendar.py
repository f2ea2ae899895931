"""The working-day calendar: default week, make-up Saturdays, office hours, holidays.TW, closures."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from engine.deadlines.calendar import WorkingCalendar, calendar_for, load_calendar
from engine.errors import InvalidInput
from engine.queries.calendar import list_days
from engine.services.calendar_admin import AddClosureDay, LoadPublicHolidays, add_closure_day, load_public_holidays
from engine.store.schema import calendar_days

TAIPEI = ZoneInfo("Asia/Taipei")


def taipei(y, m, d, h=10, mi=0) -> datetime:
    """An aware UTC datetime given as Taipei wall-clock time."""
    return datetime(y, m, d, h, mi, tzinfo=TAIPEI).astimezone(timezone.utc)


def run(runtime, service, cmd):
    with runtime.uow() as uow:
        result = service(cmd, uow)
        uow.commit()
    return result


def rows(runtime, *where):
    with runtime.db.connect() as conn:
        return conn.execute(select(calendar_days).where(*where).order_by(calendar_days.c.day)).all()


#: 2025 as in the DGPA table around the Lunar New Year: 01-27 off, 02-08 (Saturday) a make-up workday.
LNY_2025 = WorkingCalendar({date(2025, 1, 27): False, date(2025, 1, 28): False, date(2025, 1, 29): False,
                            date(2025, 1, 30): False, date(2025, 1, 31): False, date(2025, 2, 8): True})


def test_weekdays_work_and_weekends_rest_when_no_row_says_otherwise():
    cal = WorkingCalendar()
    assert [cal.is_working_day(date(2026, 3, d)) for d in range(2, 9)] == [True] * 5 + [False] * 2
    assert cal.years == frozenset()


def test_a_makeup_saturday_row_makes_that_saturday_a_working_day():
    assert LNY_2025.is_working_day(date(2025, 2, 8))
    assert not LNY_2025.is_working_day(date(2025, 2, 1))
    assert LNY_2025.next_working_day(date(2025, 2, 7)) == date(2025, 2, 8)


def test_adding_working_days_skips_days_off_and_goes_back_for_negative_counts():
    assert LNY_2025.add_working_days(date(2025, 1, 24), 1) == date(2025, 2, 3)
    assert LNY_2025.add_working_days(date(2025, 2, 3), -1) == date(2025, 1, 24)
    assert LNY_2025.add_working_days(date(2025, 2, 7), 2) == date(2025, 2, 10)
    assert LNY_2025.add_working_days(date(2025, 2, 7), 0) == date(2025, 2, 7)
    assert LNY_2025.working_days_between(date(2025, 1, 24), date(2025, 2, 10)) == 7  # 2-3..2-8, 2-10


@pytest.mark.parametrize(("received", "counts_on", "clock_starts"), [
    (taipei(2026, 3, 2, 10), date(2026, 3, 2), taipei(2026, 3, 2, 10)),      # Monday, office hours
    (taipei(2026, 3, 2, 7), date(2026, 3, 2), taipei(2026, 3, 2, 8, 30)),    # before opening: that day
    (taipei(2026, 3, 2, 17, 30), date(2026, 3, 3), taipei(2026, 3, 3, 8, 30)),  # at closing: next day
    (taipei(2026, 3, 6, 23), date(2026, 3, 9), taipei(2026, 3, 9, 8, 30)),   # Friday night: Monday
    (taipei(2026, 3, 8, 12), date(2026, 3, 9), taipei(2026, 3, 9, 8, 30)),   # Sunday: Monday
])
def test_receipt_after_hours_or_on_a_day_off_counts_from_the_next_working_day(received, counts_on, clock_starts):
    cal = WorkingCalendar()
    assert cal.receipt_day(received) == counts_on
    assert cal.clock_start(received) == clock_starts


def test_working_time_counts_office_hours_of_working_days_only():
    cal = WorkingCalendar()
    # Friday 16:30 to Monday 09:30: one hour on Friday, one on Monday.
    assert cal.working_time_between(taipei(2026, 3, 6, 16, 30), taipei(2026, 3, 9, 9, 30)) == timedelta(hours=2)
    assert cal.add_working_time(taipei(2026, 3, 6, 16, 30), timedelta(hours=2)) == taipei(2026, 3, 9, 9, 30)
    assert cal.add_working_time(taipei(2026, 3, 6, 16, 30), timedelta(hours=1)) == taipei(2026, 3, 6, 17, 30)
    assert cal.working_time_between(taipei(2026, 3, 9), taipei(2026, 3, 6)) == timedelta(0)
    assert cal.is_open(taipei(2026, 3, 9, 8, 30)) and not cal.is_open(taipei(2026, 3, 7, 10))


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        WorkingCalendar().receipt_day(datetime(2026, 3, 2, 10))


def test_holidays_tw_gives_2025_its_makeup_saturday_and_the_monday_off_it_pays_for(runtime):
    loaded = run(runtime, load_public_holidays, LoadPublicHolidays(2025))
    assert (loaded.makeup_workdays, loaded.skipped) == (1, None)
    with runtime.uow() as uow:
        cal = calendar_for(uow)
    assert cal.is_working_day(date(2025, 2, 8))  # 補行上班
    assert not any(cal.is_working_day(date(2025, 1, d)) for d in (27, 28, 29, 30, 31))
    assert not cal.is_working_day(date(2025, 2, 28))  # 和平紀念日
    (makeup,) = rows(runtime, calendar_days.c.is_working_day.is_(True))
    assert (makeup.day, makeup.kind, makeup.source) == (date(2025, 2, 8), "makeup_workday", "holidays.TW")
    # 2014-12-27, which holidays.TW 0.109 lists for every year, is not written.
    assert all(r.day.year == 2025 for r in rows(runtime))


def test_commemorative_days_of_the_workday_category_stay_working_days(runtime):
    run(runtime, load_public_holidays, LoadPublicHolidays(2026))
    with runtime.uow() as uow:
        cal = calendar_for(uow)
    assert cal.is_working_day(date(2026, 3, 12))  # 植樹節, a Thursday: commemorated, not a day off
    assert not any(cal.is_working_day(date(2026, 2, d)) for d in range(14, 23))  # 春節 break
    assert not rows(runtime, calendar_days.c.is_working_day.is_(True))  # 2026 has no 補班


def test_loading_the_same_year_twice_leaves_the_same_rows(runtime):
    run(runtime, load_public_holidays, LoadPublicHolidays(2026))
    first = [(r.day, r.name) for r in rows(runtime)]
    again = run(runtime, load_public_holidays, LoadPublicHolidays(2026))
    assert [(r.day, r.name) for r in rows(runtime)] == first
    assert again.replaced == len(first) == 16


def test_a_year_outside_holidays_tw_is_refused(runtime):
    with pytest.raises(InvalidInput, match="1990"):
        run(runtime, load_public_holidays, LoadPublicHolidays(1990))


def test_a_closure_day_is_a_day_off_for_its_city_only(runtime):
    run(runtime, load_public_holidays, LoadPublicHolidays(2026))
    added = run(runtime, add_closure_day, AddClosureDay(date(2026, 8, 6), "颱風停班", city="taoyuan"))
    assert added.replaced is None
    with runtime.uow() as uow:
        taoyuan, default = calendar_for(uow, "taoyuan"), calendar_for(uow)
    assert not taoyuan.is_working_day(date(2026, 8, 6)) and default.is_working_day(date(2026, 8, 6))
    assert not taoyuan.is_working_day(date(2026, 2, 17))  # the national rows still apply


def test_a_closure_on_a_makeup_saturday_replaces_it_and_repeating_it_updates_the_reason(runtime):
    run(runtime, load_public_holidays, LoadPublicHolidays(2025))
    run(runtime, add_closure_day, AddClosureDay(date(2025, 2, 8), "颱風停班"))
    again = run(runtime, add_closure_day, AddClosureDay(date(2025, 2, 8), "颱風停班（更正）"))
    (row,) = rows(runtime, calendar_days.c.day == date(2025, 2, 8))
    assert (row.kind, row.is_working_day, row.name, again.replaced) == ("closure", False, "颱風停班（更正）", "closure")


def test_a_closure_without_a_reason_is_refused(runtime):
    with pytest.raises(InvalidInput, match="reason"):
        run(runtime, add_closure_day, AddClosureDay(date(2026, 8, 6), "  "))
    assert rows(runtime) == []


def test_the_calendar_is_one_query_per_unit_of_work_however_far_the_dates(runtime):
    run(runtime, load_public_holidays, LoadPublicHolidays(2026))
    statements = []
    event.listen(runtime.db, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with runtime.uow() as uow:
        cal = calendar_for(uow)
        assert calendar_for(uow) is cal
        cal.add_working_days(date(2026, 1, 1), 240)
        cal.working_time_between(taipei(2026, 1, 2), taipei(2026, 12, 31))
    assert sum("calendar_days" in s for s in statements) == 1


def test_a_closure_is_seen_at_once_by_the_unit_of_work_that_added_it(runtime):
    with runtime.uow() as uow:
        assert calendar_for(uow).is_working_day(date(2026, 8, 6))
        add_closure_day(AddClosureDay(date(2026, 8, 6), "颱風停班"), uow)
        assert not calendar_for(uow).is_working_day(date(2026, 8, 6))


def test_listing_days_says_why_each_counts_as_it_does(runtime):
    run(runtime, load_public_holidays, LoadPublicHolidays(2025))
    run(runtime, add_closure_day, AddClosureDay(date(2025, 2, 10), "颱風停班", city="taoyuan"))
    with runtime.uow() as uow:
        days = {d.day: d for d in list_days(uow, date(2025, 2, 7), date(2025, 2, 10), "taoyuan")}
        assert load_calendar(uow.conn, "taoyuan").years == {2025}
    assert (days[date(2025, 2, 8)].is_working_day, days[date(2025, 2, 8)].kind) == (True, "makeup_workday")
    assert (days[date(2025, 2, 9)].is_working_day, days[date(2025, 2, 9)].kind) == (False, None)
    assert (days[date(2025, 2, 10)].kind, days[date(2025, 2, 10)].city) == ("closure", "taoyuan")
