"""How late open work is, as of a moment: overdue, due today, at risk, working days late."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import and_

from engine.deadlines.calendar import WorkingCalendar, calendar_for

#: Work due within this many working days (by the close of the N-th working day after today)
#: is at risk: in the inbox's badges and filters and in the escalation queue alike.
AT_RISK_WORKING_DAYS = 1

#: The states of a due time, most urgent first; work with no due time has none.
STATES = ("overdue", "due_today", "at_risk", "on_time")


@dataclass(frozen=True)
class Horizon:
    """The moments that split due times into states, as of `now` (aware UTC datetimes).

    overdue: before now; due today: from now until local midnight; at risk: from now until the
    offices close on the N-th working day after today (so due today is also at risk).
    """

    now: datetime
    today_ends: datetime
    at_risk_until: datetime

    def state(self, due_at: datetime | None) -> str | None:
        """The most urgent state a due time is in; None for no due time."""
        if due_at is None:
            return None
        if due_at < self.now:
            return "overdue"
        if due_at < self.today_ends:
            return "due_today"
        return "at_risk" if due_at <= self.at_risk_until else "on_time"

    def overdue(self, due_at):
        """SQL: the due time has passed."""
        return due_at < self.now

    def due_today(self, due_at):
        """SQL: due later today (local date)."""
        return and_(due_at >= self.now, due_at < self.today_ends)

    def at_risk(self, due_at):
        """SQL: not yet overdue, due within the at-risk working days."""
        return and_(due_at >= self.now, due_at <= self.at_risk_until)

    def in_states(self, due_at, *, overdue: bool = False, due_today: bool = False, at_risk: bool = False):
        """SQL: due in any of the states asked for (at least one), as one range of due times.

        The states adjoin (overdue ends where the others begin), so their union is one range,
        which an index reads in due order, where an OR of ranges would be read and then sorted.
        """
        ends = [end for wanted, end in ((overdue, (self.now, False)), (due_today, (self.today_ends, False)),
                                        (at_risk, (self.at_risk_until, True))) if wanted]
        end, inclusive = max(ends)
        below = due_at <= end if inclusive else due_at < end
        return below if overdue else and_(due_at >= self.now, below)


def horizon_for(cal: WorkingCalendar, now: datetime, at_risk_days: int = AT_RISK_WORKING_DAYS) -> Horizon:
    """The horizon of a calendar as of now."""
    today = cal.local_date(now)
    return Horizon(now, cal.at_local(today + timedelta(days=1), time(0)),
                   cal.closing(cal.add_working_days(today, at_risk_days)))


def horizon(uow, at_risk_days: int = AT_RISK_WORKING_DAYS) -> Horizon:
    """The horizon as of the unit of work's clock, on the city's working-day calendar."""
    return horizon_for(calendar_for(uow), uow.clock.now(), at_risk_days)


def working_days_late(cal: WorkingCalendar, due_at: datetime, now: datetime) -> int:
    """Working days from the due date to today (local dates); 0 when not yet due."""
    if due_at >= now:
        return 0
    return max(cal.working_days_between(cal.local_date(due_at), cal.local_date(now)), 0)


def working_days_late_all(cal: WorkingCalendar, due_ats, now: datetime) -> dict:
    """working_days_late of many due times at once, by due time: one walk back from today over
    the calendar, however many items share or spread over the days."""
    today = cal.local_date(now)
    late_dates = {due_at: cal.local_date(due_at) for due_at in due_ats if due_at < now}
    by_date, count, day = {}, 0, today
    for due_date in sorted(set(late_dates.values()), reverse=True):
        while day > due_date:
            count += cal.is_working_day(day)
            day -= timedelta(days=1)
        by_date[due_date] = count
    return {due_at: by_date.get(late_dates.get(due_at), 0) for due_at in due_ats}


def working_days_left(cal: WorkingCalendar, due_at: datetime, now: datetime) -> int:
    """Working days from today to the due date (local dates): 0 when due today, negative when late
    (minus the working days late)."""
    if due_at < now:
        return -working_days_late(cal, due_at, now)
    return cal.working_days_between(cal.local_date(now), cal.local_date(due_at))


def working_days_left_by_due(uow, due_ats) -> dict:
    """working_days_left of many due times as of the unit of work's clock, by due time (None: no due time)."""
    cal, now = calendar_for(uow), uow.clock.now()
    return {due_at: working_days_left(cal, due_at, now) for due_at in set(due_ats) if due_at is not None}
