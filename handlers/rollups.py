"""The report rollups' keeper: catches the rollups up with the cases marked since its last sweep.

Runs beside the timer scheduler (`petiflow scheduler`, and in-process with `petiflow serve`).
Several may run: one catch-up holds the lock at a time (engine.cases.rollups), the others find
nothing to do. A failed sweep is logged and tried again after a pause; marks stay until a
catch-up commits, so nothing is lost while the database is away.
"""
from __future__ import annotations

import logging
import threading

from engine.services.reports import CatchUpRollups, catch_up_rollups

from .outage import FailureStreak

log = logging.getLogger(__name__)

#: Seconds between sweeps that found nothing to do.
ROLLUP_INTERVAL = 1.0

#: The longest pause after failed sweeps.
MAX_RETRY_PAUSE = 5.0


def sweep(runtime, limit: int = 500) -> int:
    """One catch-up batch, committed; returns the cases caught up."""
    with runtime.uow() as uow:
        return catch_up_rollups(CatchUpRollups(limit), uow).cases


def run_forever(runtime, stop: threading.Event, interval: float = ROLLUP_INTERVAL) -> None:
    """Sweep until stopped: at once again after a full batch, else after `interval` seconds."""
    failures = FailureStreak(log, "report rollup catch-up")
    while not stop.is_set():
        try:
            done = sweep(runtime)
            failures.succeeded()
            pause = 0.0 if done else interval
        except Exception as exc:
            pause = min(MAX_RETRY_PAUSE, interval * 2 ** min(failures.count, 8))
            failures.failed(exc, pause)
        if pause > 0:
            stop.wait(pause)
