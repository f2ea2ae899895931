"""The scheduler: claims due timers from the database and hands their ids to the workers.

Several schedulers may run against one database: the claim leases rows with FOR UPDATE
SKIP LOCKED, so no two share a timer. A sweep claims one batch and sends the ids after the
claim commits; the scheduler then sleeps until the next pending timer falls due (at most
`interval`), so a timer is sent as it falls due rather than up to one interval late. A
failed sweep (database or Redis unavailable) is logged, one line per attempt naming what is
unavailable and one when it works again, and retried with a short backoff; the scheduler
never dies of it. Timers claimed but not sent are given back at once, still pending, and
the next sweep claims them again (if the database is away too, their lease expires instead).

Each timer's message is sent under the correlation id the timer keeps (the request that set it):
the broker's middleware puts it on the message, and the worker logs the firing under it.

When the workers fall behind (a backlog after an outage, a burst of deadlines), the scheduler
stops claiming while more than `max_backlog` fire-timer messages wait in their queue, and
claims again as they catch up. Without this, timers still queued when their lease expires
would be claimed and sent again, and a slow backlog would keep growing on itself.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from engine import correlation
from engine.queries.timers import next_due_at
from engine.services.timers import (
    DEFAULT_LEASE,
    ClaimDueTimers,
    ReleaseTimers,
    claim_due_timers_correlated,
    release_timers,
)

from .outage import FailureStreak, send_or_give_back

log = logging.getLogger(__name__)

#: Seconds between sweeps when nothing is due sooner.
SWEEP_INTERVAL = 1.0

#: Timers claimed by one sweep; when a sweep fills it, the next sweep follows at once.
BATCH_SIZE = 100

#: The shortest pause after a sweep that claimed nothing (rows due but locked by another claimer).
MIN_PAUSE = 0.02

#: Fire-timer messages that may wait for the workers before the scheduler holds new claims.
#: Keep it well below what the workers fire within one lease (five minutes).
MAX_BACKLOG = 1_000

#: The longest pause between two attempts while the database or Redis is unavailable.
MAX_RETRY_PAUSE = 5.0


def scheduler_name() -> str:
    """A lease owner name that tells an operator which process holds a timer."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def sweep(runtime, send, *, owner: str | None = None, limit: int = BATCH_SIZE,
          lease: timedelta = DEFAULT_LEASE) -> int:
    """Claim one batch of due timers and send each id; returns how many were claimed.

    Sends happen after the claim commits, so a crash in between leaves the lease to
    expire and another sweep to claim the timer again; firing is idempotent. When a send
    fails (Redis unavailable), the leases of the ids not sent are given back at once.
    """
    owner = owner or scheduler_name()
    with runtime.uow() as uow:
        claimed = claim_due_timers_correlated(ClaimDueTimers(owner, limit, lease), uow)
        uow.commit()
    correlation_ids = {timer.timer_id: timer.correlation_id for timer in claimed}

    def send_correlated(timer_id: int) -> None:
        with correlation.bound(correlation_ids[timer_id]):
            send(timer_id)

    send_or_give_back(runtime, list(correlation_ids), send_correlated,
                      lambda uow, unsent: release_timers(ReleaseTimers(tuple(unsent), owner), uow), "timers")
    return len(claimed)


def pause_after_sweep(runtime, interval: float) -> float:
    """Seconds until the earliest unleased pending timer falls due, between MIN_PAUSE and interval."""
    with runtime.uow(read_only=True) as uow:
        due = next_due_at(uow)
        now = uow.clock.now()
    if due is None:
        return interval
    return min(interval, max(MIN_PAUSE, (due - now).total_seconds()))


def run_forever(runtime, send, stop: threading.Event, interval: float = SWEEP_INTERVAL, *,
                limit: int = BATCH_SIZE, lease: timedelta = DEFAULT_LEASE, backlog=None,
                max_backlog: int = MAX_BACKLOG) -> None:
    """Sweep until stopped; a failed sweep is logged and retried after a short backoff.

    `backlog`, if given, returns how many sent timers wait for a worker; no more are claimed
    while it is at `max_backlog` or above.
    """
    owner = scheduler_name()
    failures, holding = FailureStreak(log, "timer sweep", broker_url=runtime.settings.redis_url), False
    while not stop.is_set():
        try:
            waiting = 0 if backlog is None else backlog()
            room = min(limit, max_backlog - waiting)
            if room <= 0:
                if not holding:
                    log.warning("%d timers wait for the workers; no new timers are claimed until they "
                                "catch up", waiting)
                holding, pause = True, interval
            else:
                if holding:
                    log.warning("the workers have caught up; claiming due timers again")
                holding = False
                claimed = sweep(runtime, send, owner=owner, limit=room, lease=lease)
                pause = 0.0 if claimed >= room else pause_after_sweep(runtime, interval)
            failures.succeeded()
        except Exception as exc:
            pause = min(MAX_RETRY_PAUSE, interval * 2 ** min(failures.count, 8))
            failures.failed(exc, pause)
        if pause > 0:
            stop.wait(pause)
