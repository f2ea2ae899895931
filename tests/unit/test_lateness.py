"""How late many items are, counted in one walk, agrees with counting each alone."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from engine.deadlines.calendar import WorkingCalendar
from engine.queries.lateness import working_days_late, working_days_late_all

#: The 2027 Lunar New Year break: five days off in a row, then a make-up Saturday.
CAL = WorkingCalendar({date(2027, 2, d): False for d in range(4, 11)} | {date(2027, 2, 20): True})


def test_many_due_times_get_the_working_days_late_each_would_alone():
    now = datetime(2027, 2, 22, 2, 0, tzinfo=timezone.utc)
    due = [now - timedelta(hours=h) for h in (1, 5, 30, 200, 400, 401, 2000)] + [now + timedelta(days=1)]
    assert working_days_late_all(CAL, due, now) == {d: working_days_late(CAL, d, now) for d in due}
    assert working_days_late_all(CAL, due, now)[due[-1]] == 0


def test_no_due_times_is_no_walk():
    assert working_days_late_all(CAL, [], datetime(2027, 2, 22, tzinfo=timezone.utc)) == {}
