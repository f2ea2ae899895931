"""A per-process cache of reference data that rarely changes: calendars, deadline rules.

Each entry is trusted for a short time; a change made in this process clears the cache at
once, a change made by another process is seen within the time to live.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, TypeVar

T = TypeVar("T")

#: Seconds an entry is used before it is loaded again.
REFERENCE_TTL = 30.0


class ReferenceCache:
    """Values by key, each loaded on first use and reloaded after `ttl` seconds."""

    def __init__(self, ttl: float = REFERENCE_TTL):
        self._ttl = ttl
        self._entries: dict = {}
        self._lock = threading.Lock()

    def get(self, key, load: Callable[[], T]) -> T:
        """The cached value for key, loading it when missing or stale."""
        found = self._entries.get(key)
        now = time.monotonic()
        if found is not None and now - found[1] < self._ttl:
            return found[0]
        value = load()
        with self._lock:
            self._entries[key] = (value, now)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
