"""Dramatiq actors: an id in, one engine service in one unit of work, idempotent.

Import only after handlers.broker.install_broker(); the worker entry point does that.
"""
from __future__ import annotations

import dramatiq

from engine.errors import NotFound, WorkflowFailed
from engine.services.incidents import FailTimer, fail_timer
from engine.services.timers import MAX_ERROR_LENGTH, FireTimer, RecordTimerFailure, record_timer_failure
from engine.services.timers import fire_timer as fire_timer_service

from .error_text import redact, summary
from .notification_actors import failure_summary
from .outage import retry_quietly_while_the_database_is_down
from .runtime import get_runtime

#: A designer's script may loop; a worker thread is given back after this long.
STEP_TIME_LIMIT_MS = 60_000

#: Retries of a failed firing: eight, at most a minute apart, about four minutes in all, so
#: they end within the scheduler's five-minute lease of the timer. Longer, and the scheduler
#: would claim the timer again and start a second chain of retries beside the first.
TIMER_RETRIES = {"max_retries": 8, "min_backoff": 1_000, "max_backoff": 60_000}


@dramatiq.actor(queue_name="timers", time_limit=STEP_TIME_LIMIT_MS, throws=(NotFound,),
                on_retry_exhausted="give_up_timer", **TIMER_RETRIES)
def fire_timer(timer_id: int) -> None:
    """Fire a due timer; does nothing if it already fired or was cancelled."""
    runtime = get_runtime()
    # A fault is kept on the timer row (`petiflow timers list` shows why it is late) and retried.
    with retry_quietly_while_the_database_is_down(f"timer {timer_id}",
                                                  on_fault=lambda exc: _keep_error(runtime, timer_id, exc)):
        try:
            with runtime.uow() as uow:
                fire_timer_service(FireTimer(timer_id), uow)
                uow.commit()  # also when it did not fire: a timer of a closed case is marked cancelled
        except WorkflowFailed as exc:
            # The diagram fails on this path (a script error): retrying cannot help, a supervisor must see it.
            with runtime.uow() as uow:
                if fail_timer(FailTimer(timer_id, "the workflow failed when the timer fired: "
                              + redact(exc.message)), uow) is not None:
                    uow.commit()


def _keep_error(runtime, timer_id: int, exc: Exception) -> None:
    try:
        with runtime.uow() as uow:
            record_timer_failure(RecordTimerFailure(timer_id, summary(exc, limit=MAX_ERROR_LENGTH)), uow)
            uow.commit()
    except Exception:  # noqa: BLE001 - the retry matters more than the note
        pass


@dramatiq.actor(queue_name="timers", max_retries=5, min_backoff=1_000)
def give_up_timer(message_data: dict, retry_info: dict) -> None:
    """After the last retry: mark the timer failed and open an incident a supervisor can retry."""
    timer_id = message_data["args"][0]
    with retry_quietly_while_the_database_is_down(f"giving up timer {timer_id}"), get_runtime().uow() as uow:
        if fail_timer(FailTimer(timer_id, failure_summary(message_data, retry_info)), uow) is not None:
            uow.commit()


#: Every actor of this module, for binding to a broker created after import.
ALL_ACTORS = (fire_timer, give_up_timer)


def bind_to(broker) -> None:
    """Move the actors to a broker created after this module was imported (embedded mode, tests)."""
    for actor in ALL_ACTORS:
        actor.broker = broker
        broker.declare_actor(actor)
