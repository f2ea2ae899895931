"""Make SpiffWorkflow's timers read petiflow's clock and the city's zone instead of the host's.

SpiffWorkflow 3.2 computes and checks timer due times with `datetime.now(timezone.utc)`
inside its timer module. The engine services take time from an injectable clock (drills
"as of" a moment, tests on fixed dates), so that module's `datetime` is replaced with a
subclass whose now() asks the clock of the step being run, set per thread by `using()`.

The same module reads a timer date written without an offset in the zone of the host the
process started on. petiflow gives it the city's zone instead (settings.timezone), the zone
of the unit of work in progress (`enter_zone()`, called by every unit of work), which is
also what "today" means to a script.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _timer_module

from .settings import DEFAULT_TIMEZONE

_current_clock: contextvars.ContextVar = contextvars.ContextVar("petiflow_clock", default=None)
_current_zone: contextvars.ContextVar = contextvars.ContextVar("petiflow_zone", default=None)

#: The zone outside any unit of work (a workflow driven directly, as in the runner's tests).
DEFAULT_ZONE = ZoneInfo(DEFAULT_TIMEZONE)


class ClockedDatetime(datetime):
    """datetime whose now() is the clock of the current step (the system time outside one)."""

    @classmethod
    def now(cls, tz=None):
        clock = _current_clock.get()
        if clock is None:
            return datetime.now(tz)
        at = clock.now()
        return at.astimezone(tz) if tz is not None else at.astimezone(timezone.utc).replace(tzinfo=None)


@contextmanager
def using(clock):
    """Run the enclosed workflow steps on this clock."""
    token = _current_clock.set(clock)
    try:
        yield
    finally:
        _current_clock.reset(token)


def local_zone() -> ZoneInfo:
    """The city's zone: that of the unit of work in progress, else the default."""
    return _current_zone.get() or DEFAULT_ZONE


def enter_zone(zone: ZoneInfo) -> contextvars.Token:
    """Make `zone` the city's zone of this thread until leave_zone(token) (a unit of work's)."""
    return _current_zone.set(zone)


def leave_zone(token: contextvars.Token) -> None:
    _current_zone.reset(token)


class _CityZone(tzinfo):
    """The zone local_zone() names at the moment of asking, for SpiffWorkflow's module-level LOCALTZ.

    SpiffWorkflow takes a date without an offset in the zone of the host the process started
    on, fixed at import: a web process and a worker on hosts set to different zones would record
    and fire the same timer at different instants. Through this, both read the configured zone.
    """

    def utcoffset(self, dt):
        return local_zone().utcoffset(dt)

    def dst(self, dt):
        return local_zone().dst(dt)

    def tzname(self, dt):
        return local_zone().tzname(dt)


_timer_module.datetime = ClockedDatetime
_timer_module.LOCALTZ = _CityZone()
