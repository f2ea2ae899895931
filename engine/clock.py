"""Clocks: services take the current time from one of these, never from datetime.now()."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone


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
