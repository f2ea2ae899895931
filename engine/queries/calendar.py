"""How each day counts for a city, and why: the working-day calendar as an administrator reads it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from engine.deadlines.calendar import DEFAULT_CITY, calendar_for
from engine.deadlines.rules import DeadlineRule, load_rules
from engine.errors import InvalidInput
from engine.store.schema import calendar_days, deadline_rules


@dataclass(frozen=True)
class CalendarDay:
    """How one local date counts for a city, and why."""

    day: date
    is_working_day: bool
    kind: str | None = None  # None: the default week decides
    name: str | None = None
    source: str | None = None
    city: str | None = None


def list_days(uow, start: date, end: date, city: str = DEFAULT_CITY) -> list[CalendarDay]:
    """Every date from start to end (inclusive) with how it counts for the city, and why."""
    if end < start or (end - start).days > 3660:
        raise InvalidInput("give a range of at most ten years, start before end")
    rows = uow.conn.execute(select(calendar_days).where(
        calendar_days.c.city.in_({DEFAULT_CITY, city}), calendar_days.c.day.between(start, end))).all()
    by_day = {}
    for row in sorted(rows, key=lambda r: r.city != DEFAULT_CITY):
        by_day[row.day] = row
    out = []
    for k in range((end - start).days + 1):
        day = start + timedelta(days=k)
        row = by_day.get(day)
        out.append(CalendarDay(day, day.weekday() < 5) if row is None else
                   CalendarDay(day, bool(row.is_working_day), row.kind, row.name, row.source, row.city))
    return out


def reference_data_counts(uow, year: int) -> tuple[int, int]:
    """How many deadline rules there are, and how many days of `year` the calendar holds."""
    rules = uow.conn.execute(select(func.count()).select_from(deadline_rules)).scalar_one()
    days = uow.conn.execute(select(func.count()).select_from(calendar_days).where(
        calendar_days.c.day.between(date(year, 1, 1), date(year, 12, 31)))).scalar_one()
    return rules, days


@dataclass(frozen=True)
class CalendarView:
    """The days from first to last as they count for a city, and the years its calendar holds."""

    first: date
    last: date
    days: tuple[CalendarDay, ...]
    years_known: frozenset[int]


def calendar_view(uow, start: date | None = None, end: date | None = None, city: str = DEFAULT_CITY,
                  span_days: int = 13) -> CalendarView:
    """Days from start (default: today in the city's zone) to end (default: `span_days` later)."""
    cal = calendar_for(uow, city)
    first = start or cal.local_date(uow.clock.now())
    last = end or first + timedelta(days=span_days)
    return CalendarView(first, last, tuple(list_days(uow, first, last, city)), frozenset(cal.years))


def deadline_rules_list(uow, *, active_only: bool = True) -> list[DeadlineRule]:
    """The deadline rules, by case type."""
    return load_rules(uow.conn, active_only=active_only)
