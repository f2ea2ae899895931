"""Clocks: services take the current time from one of these, never from datetime.now()."""
from __future__ import annotations

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
