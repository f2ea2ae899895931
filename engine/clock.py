"""Clocks: services take the current time from one of these, never from datetime.now()."""
from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

#: The city's time zone when PETIFLOW_TIMEZONE is not set.
DEFAULT_TIMEZONE = "Asia/Taipei"

#: The zone outside any unit of work (a workflow driven directly, as in the runner's tests).
DEFAULT_ZONE = ZoneInfo(DEFAULT_TIMEZONE)

_step_clock: contextvars.ContextVar = contextvars.ContextVar("petiflow_step_clock", default=None)
_current_zone: contextvars.ContextVar = contextvars.ContextVar("petiflow_zone", default=None)


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return utcnow()


class FixedClock:
    """A clock that stands still until moved; for tests and drills ("as of")."""

    def __init__(self, at: datetime):
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(timezone.utc)

    def advance(self, **delta) -> datetime:
        self._at += timedelta(**delta)
        return self._at


class ClockedDatetime(datetime):
    """datetime whose now() is the clock of the current step (the system time outside one).

    What diagrams and SpiffWorkflow's timers read as "now" (engine.workflow.spiff_clock,
    engine.scripting): a step run "as of" a moment sees that moment.
    """

    @classmethod
    def now(cls, tz=None):
        clock = _step_clock.get()
        if clock is None:
            return datetime.now(tz)
        at = clock.now()
        return at.astimezone(tz) if tz is not None else at.astimezone(timezone.utc).replace(tzinfo=None)


@contextmanager
def step_clock(clock):
    """Run the enclosed workflow step on this clock (None: the system time)."""
    token = _step_clock.set(clock)
    try:
        yield
    finally:
        _step_clock.reset(token)
class RunningClock:
    """A clock set to a moment that then runs at the real pace; for tests and drills in real time.

    It stood at `at` when `time.monotonic()` read `origin` (now, if not given). The monotonic
    clock is the machine's, so processes given the same two values agree on the time: a test
    can run worker processes on a date of its choosing while timers still fall due in seconds.
    """

    def __init__(self, at: datetime, origin: float | None = None):
        if at.tzinfo is None:
            raise ValueError("RunningClock needs an aware datetime")
        self._at = at.astimezone(timezone.utc)
        self._origin = time.monotonic() if origin is None else origin

    def now(self) -> datetime:
        return self._at + timedelta(seconds=time.monotonic() - self._origin)

    def __str__(self) -> str:
        """`<ISO moment> <monotonic origin>`, what `parse` reads back (to hand the clock to a process)."""
        return f"{self._at.isoformat()} {self._origin!r}"

    @classmethod
    def parse(cls, text: str) -> "RunningClock":
        """The clock `str(clock)` describes; raises ValueError for anything else."""
        at, origin = text.split()
        return cls(datetime.fromisoformat(at), float(origin))


def local_zone() -> ZoneInfo:
    """The city's zone: that of the unit of work in progress, else the default."""
    return _current_zone.get() or DEFAULT_ZONE


def enter_zone(zone: ZoneInfo) -> contextvars.Token:
    """Make `zone` the city's zone of this thread until leave_zone(token) (a unit of work's)."""
    return _current_zone.set(zone)


def leave_zone(token: contextvars.Token) -> None:
    _current_zone.reset(token)


class CityZone(tzinfo):
    """The zone local_zone() names at the moment of asking (for a library's module-level zone)."""

    def utcoffset(self, dt):
        return local_zone().utcoffset(dt)

    def dst(self, dt):
        return local_zone().dst(dt)

    def tzname(self, dt):
        return local_zone().tzname(dt)
