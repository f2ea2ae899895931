"""Dramatiq actors: an id in, one engine service in one unit of work, idempotent.

Import only after handlers.broker.install_broker(); the worker entry point does that.
"""
from __future__ import annotations

import dramatiq

from engine.errors import NotFound
from engine.services.timers import FireTimer, fire_timer as fire_timer_service

from .runtime import get_runtime

#: A designer's script may loop; a worker thread is given back after this long.
STEP_TIME_LIMIT_MS = 60_000


@dramatiq.actor(queue_name="timers", max_retries=10, min_backoff=1_000, max_backoff=300_000,
                time_limit=STEP_TIME_LIMIT_MS, throws=(NotFound,))
def fire_timer(timer_id: int) -> None:
    """Fire a due timer; does nothing if it already fired or was cancelled."""
    runtime = get_runtime()
    with runtime.uow() as uow:
        if fire_timer_service(FireTimer(timer_id), uow):
            uow.commit()


#: Every actor of this module, for binding to a broker created after import.
ALL_ACTORS = (fire_timer,)


def bind_to(broker) -> None:
    """Move the actors to a broker created after this module was imported (embedded mode, tests)."""
    for actor in ALL_ACTORS:
        actor.broker = broker
        broker.declare_actor(actor)
