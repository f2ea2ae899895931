"""Make SpiffWorkflow's timers read petiflow's clock instead of the system time.

SpiffWorkflow 3.2 computes and checks timer due times with `datetime.now(timezone.utc)`
inside its timer module. The engine services take time from an injectable clock (drills
"as of" a moment, tests on fixed dates), so that module's `datetime` is replaced with a
subclass whose now() asks the clock of the step being run, set per thread by `using()`.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from datetime import datetime, timezone

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _timer_module

_current_clock: contextvars.ContextVar = contextvars.ContextVar("petiflow_clock", default=None)


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


_timer_module.datetime = ClockedDatetime
