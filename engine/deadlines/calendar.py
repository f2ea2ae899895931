"""The working-day calendar: which local dates are working days, office hours, working time.

The engine keeps aware UTC datetimes; day arithmetic happens on local dates in the city's zone
(settings.timezone, which a calendar gets from the unit of work that loads it).
A date is a working day when a `calendar_days` row says so, else when it is Monday to Friday:
holidays and a city's closure days (颱風停班) are rows saying "off", make-up Saturdays (補行上班)
rows saying "working" (行政程序法 art. 48; 法務部 法律字第0999004718號).

A calendar is built from one query and then answers from memory, so computing a due date never
queries per day. `calendar_for(uow)` loads it once per unit of work; the services that change
calendar rows call `invalidate(uow)`.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Mapping
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.clock import DEFAULT_ZONE  # the zone of a calendar built without one
from engine.store.schema import calendar_days

#: Office hours of Taiwan's government agencies (08:30-17:30, the lunch hour included).
OFFICE_OPENS = time(8, 30)
OFFICE_CLOSES = time(17, 30)

#: 行政程序法 art. 48 para. 4: "期間之末日為星期六者，以其次星期一上午為期間末日": a calendar-day
#: period whose last day is a Saturday off ends on the next Monday at noon.
SATURDAY_PERIOD_ENDS = time(12, 0)

#: The city whose rows (national holidays, make-up days) apply to every city.
DEFAULT_CITY = "default"

#: A calendar that finds no working day within ten years is broken, not slow.
_MAX_SCAN_DAYS = 3660


class WorkingCalendar:
    """Working days and office hours of one city, answered from memory."""

    def __init__(self, overrides: Mapping[date, bool] | None = None, *, city: str = DEFAULT_CITY,
                 tz: ZoneInfo = DEFAULT_ZONE, opens: time = OFFICE_OPENS, closes: time = OFFICE_CLOSES):
        self.city = city
        self.tz, self.opens, self.closes = tz, opens, closes
        self._overrides = dict(overrides or {})
        #: The years for which some rows exist; a year missing here knows only weekends.
        self.years = frozenset(d.year for d in self._overrides)

    # --- days ----------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """True if the local date is a working day for this city."""
        found = self._overrides.get(day)
        return day.weekday() < 5 if found is None else found

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        return self.working_day_on_or_after(day + timedelta(days=1))

    def working_day_on_or_after(self, day: date) -> date:
        """`day` itself if it is a working day, else the next one (art. 48's roll forward)."""
        for _ in range(_MAX_SCAN_DAYS):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError(f"no working day within {_MAX_SCAN_DAYS} days of {day}: the calendar is broken")

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before `day`."""
        for _ in range(_MAX_SCAN_DAYS):
            day -= timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError(f"no working day within {_MAX_SCAN_DAYS} days before {day}: the calendar is broken")

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day` (not counting `day`); n < 0 goes back, n == 0 is `day`."""
        step = self.next_working_day if n >= 0 else self.previous_working_day
        for _ in range(abs(n)):
            day = step(day)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days lie in (start, end]; negative if end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(1 for k in range(1, (end - start).days + 1) if self.is_working_day(start + timedelta(days=k)))

    def period_end(self, last: date) -> datetime:
        """When a calendar-day period whose last day is `last` ends (行政程序法 art. 48 para. 4).

        A working day: at closing time. A Saturday off: the next Monday at noon (12:00 local),
        when that Monday is a working day; a make-up Saturday (補行上班日) is a working day and
        does not roll (法務部 99.02.03 法律字第0999004718號). Any other day off, or a Saturday
        whose Monday is off: closing time of the next working day.
        """
        if self.is_working_day(last):
            return self.closing(last)
        if last.weekday() == 5:
            monday = last + timedelta(days=2)
            if self.is_working_day(monday):
                return self.at_local(monday, SATURDAY_PERIOD_ENDS)
        return self.closing(self.working_day_on_or_after(last))

    # --- moments -------------------------------------------------------------------------

    def local_date(self, at: datetime) -> date:
        """The local date of an aware datetime."""
        return _aware(at).astimezone(self.tz).date()

    def at_local(self, day: date, at: time) -> datetime:
        """The aware UTC datetime of a local date and wall-clock time."""
        return datetime.combine(day, at, self.tz).astimezone(timezone.utc)

    def opening(self, day: date) -> datetime:
        """When the offices open on a local date (UTC)."""
        return self.at_local(day, self.opens)

    def closing(self, day: date) -> datetime:
        """When the offices close on a local date (UTC): where working-day deadlines fall."""
        return self.at_local(day, self.closes)

    def is_open(self, at: datetime) -> bool:
        """True during office hours of a working day."""
        day = self.local_date(at)
        return self.is_working_day(day) and self.opening(day) <= at < self.closing(day)

    def receipt_day(self, at: datetime) -> date:
        """The working day something received at `at` counts as received on.

        Received on a working day before closing time counts that day (early-morning mail is
        read when the office opens); after closing or on a day off, the next working day.
        """
        day = self.local_date(at)
        if self.is_working_day(day) and at < self.closing(day):
            return day
        return self.next_working_day(day)

    def clock_start(self, at: datetime) -> datetime:
        """When a working-time clock started for something received at `at`."""
        day = self.receipt_day(at)
        return max(_aware(at), self.opening(day))

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Office time of working days between two moments; zero if end is not after start."""
        total = timedelta(0)
        cursor = self.clock_start(start)
        while cursor < end:
            day = self.local_date(cursor)
            total += min(end, self.closing(day)) - cursor
            cursor = self.opening(self.next_working_day(day))
        return total

    def subtract_working_time(self, end: datetime, amount: timedelta) -> datetime:
        """The moment `amount` of office time before `end` (a reminder before an office-hours limit)."""
        cursor, remaining = _aware(end), amount
        while True:
            day = self.local_date(cursor)
            if self.is_working_day(day):
                top, bottom = min(cursor, self.closing(day)), self.opening(day)
                if top > bottom:
                    if remaining <= top - bottom:
                        return top - remaining
                    remaining -= top - bottom
            cursor = self.closing(self.previous_working_day(day))

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The moment `amount` of office time after `start` (counting from the next opening if closed)."""
        cursor = self.clock_start(start)
        remaining = amount
        while True:
            day = self.local_date(cursor)
            available = self.closing(day) - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
            cursor = self.opening(self.next_working_day(day))


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: the engine works in aware UTC datetimes")
    return at


def load_calendar(conn, city: str = DEFAULT_CITY, tz: ZoneInfo = DEFAULT_ZONE) -> WorkingCalendar:
    """Build a city's calendar in its zone from its rows and the default rows, in one query."""
    rows = conn.execute(
        select(calendar_days.c.city, calendar_days.c.day, calendar_days.c.is_working_day)
        .where(calendar_days.c.city.in_({DEFAULT_CITY, city}))
    ).all()
    overrides: dict[date, bool] = {}
    # The city's own rows (closures) win over the default rows on the same date.
    for row in sorted(rows, key=lambda r: r.city != DEFAULT_CITY):
        overrides[row.day] = bool(row.is_working_day)
    return WorkingCalendar(overrides, city=city, tz=tz)


#: Calendars loaded by each open unit of work: (its connection, {city: calendar}); gone with it.
_loaded: WeakKeyDictionary = WeakKeyDictionary()


def calendar_for(uow, city: str = DEFAULT_CITY) -> WorkingCalendar:
    """The city's calendar, in the unit of work's zone: from the runtime's reference cache, else
    loaded once per unit of work."""
    cache = getattr(uow, "cache", None)
    if cache is not None:
        return cache.get(("calendar", city, uow.zone.key), lambda: load_calendar(uow.conn, city, uow.zone))
    conn, per_city = _loaded.get(uow, (None, None))
    if conn is not uow.conn:  # a unit of work object entered again: a new transaction, reload
        per_city = {}
        _loaded[uow] = (uow.conn, per_city)
    if city not in per_city:
        per_city[city] = load_calendar(uow.conn, city, uow.zone)
    return per_city[city]


def invalidate(uow) -> None:
    """Forget cached calendars and rules (call after changing calendar or rule rows)."""
    _loaded.pop(uow, None)
    cache = getattr(uow, "cache", None)
    if cache is not None:
        cache.clear()
        uow.after_commit(cache.clear)  # a reader may have cached the old rows meanwhile
