"""The outbox relay: sends again what was committed but never reached a worker.

After commit, a unit of work hands its outbox ids to the broker at once. If the process dies
in between, or Redis loses its queues, the rows stay pending in the database; this sweep
claims pending rows older than a grace period, with a lease so concurrent relays do not
share them, and sends their ids again. Delivery is idempotent, so a duplicate does nothing.
"""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

from engine.services.notifications import DEFAULT_RELAY_LEASE, ClaimUnsent, ReleaseUnsent, claim_unsent, release_unsent

from .outage import FailureStreak, send_or_give_back

log = logging.getLogger(__name__)

#: A pending row younger than this is presumed on its way through the after-commit send.
RELAY_AFTER = timedelta(seconds=30)

#: Seconds between sweeps when nothing was found.
RELAY_INTERVAL = 5.0

#: Notifications that may wait for the workers while the relay still sweeps (see run_forever).
MAX_BACKLOG = 100


def sweep(runtime, send, *, older_than: timedelta = RELAY_AFTER, lease: timedelta = DEFAULT_RELAY_LEASE,
          limit: int = 100) -> int:
    """Claim one batch of unsent outbox rows and send each id; returns how many were sent.

    The ids are sent after the claim commits: a crash in between leaves the lease to expire
    and a later sweep to claim the rows again; a send that fails (Redis unavailable) gives
    the leases of the ids not sent back at once.
    """
    with runtime.uow() as uow:
        ids = claim_unsent(ClaimUnsent(older_than, limit, lease), uow)
        uow.commit()
    send_or_give_back(runtime, ids, send, lambda uow, unsent: release_unsent(ReleaseUnsent(tuple(unsent)), uow),
                      "notifications")
    return len(ids)


def run_forever(runtime, send, stop: threading.Event, interval: float = RELAY_INTERVAL, *,
                backlog=None, max_backlog: int = MAX_BACKLOG) -> None:
    """Sweep until stopped; a failed sweep is logged and tried again on the next tick.

    `backlog`, if given, returns how many notifications wait for a worker: while it is at
    `max_backlog` or above, rows older than the grace period are most likely still queued,
    not lost, so the relay waits for the workers rather than queue them a second time.
    """
    failures = FailureStreak(log, "outbox relay sweep", broker_url=runtime.settings.redis_url)
    while not stop.is_set():
        try:
            sent = 0 if backlog is not None and backlog() >= max_backlog else sweep(runtime, send)
            failures.succeeded()
        except Exception as exc:
            failures.failed(exc, interval)
            sent = 0
        if sent == 0:
            stop.wait(interval)
