"""The scheduler: claims due timers from the database and hands their ids to the workers."""
from __future__ import annotations

import logging
import os
import socket
import threading

from engine.services.timers import ClaimDueTimers, claim_due_timers

log = logging.getLogger(__name__)

#: Seconds between sweeps when nothing was due.
SWEEP_INTERVAL = 1.0


def scheduler_name() -> str:
    """A lease owner name that tells an operator which process holds a timer."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def sweep(runtime, send, *, owner: str | None = None, limit: int = 100) -> int:
    """Claim one batch of due timers and send each id; returns how many were sent.

    Sends happen after the claim commits, so a crash in between leaves the lease to
    expire and another sweep to claim the timer again; firing is idempotent.
    """
    with runtime.uow() as uow:
        ids = claim_due_timers(ClaimDueTimers(owner or scheduler_name(), limit), uow)
        uow.commit()
    for timer_id in ids:
        send(timer_id)
    return len(ids)


def run_forever(runtime, send, stop: threading.Event, interval: float = SWEEP_INTERVAL) -> None:
    """Sweep until stopped; a failed sweep is logged and retried on the next tick."""
    owner = scheduler_name()
    while not stop.is_set():
        try:
            sent = sweep(runtime, send, owner=owner)
        except Exception:
            log.exception("timer sweep failed; retrying")
            sent = 0
        if sent == 0:
            stop.wait(interval)
