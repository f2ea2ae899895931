"""Clocks: services take the current time from one of these, never from datetime.now()."""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

_step_clock: contextvars.ContextVar = contextvars.ContextVar("petiflow_step_clock", default=None)


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
