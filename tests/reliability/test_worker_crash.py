"""A worker process killed with SIGKILL in the middle of firing a timer."""
import time
from datetime import timedelta

from sqlalchemy import select

from engine.store.schema import timers
from handlers.scheduler import sweep
from tests.reliability.conftest import (
    HEARTBEAT_MS,
    ONCE,
    WORKER_TIER,
    counts_per_case,
    start_overdue_cases,
    timer_locked,
    timer_statuses,
    wait_until,
)

pytestmark = WORKER_TIER


def test_a_timer_whose_worker_is_killed_mid_firing_is_fired_once_by_the_next_worker(live, sender, namespace, workers):
    (case_id,) = start_overdue_cases(live, 1, process_key="slow_deadline", data={"slow_seconds": 3})
    first = workers(live.settings.database_url, "first")
    assert sweep(live, sender, lease=timedelta(minutes=5)) == 1
    (timer_id,) = sender.sent

    wait_until(lambda: timer_locked(live, timer_id), 20, 0.02, "the worker to start firing the timer")
    first.kill()

    # The firing's transaction died with the process: nothing of it was saved.
    assert counts_per_case(live, [case_id])[case_id] == dict.fromkeys(ONCE, 0)
    assert timer_statuses(live) == {"pending": 1}
    killed = time.monotonic()

    second = workers(live.settings.database_url, "second")
    wait_until(lambda: timer_statuses(live) == {"done": 1}, 30, 0.1, "the next worker to fire the timer")
    took = time.monotonic() - killed
    time.sleep(1.0)  # room for a duplicate delivery to show itself

    assert counts_per_case(live, [case_id])[case_id] == ONCE
    with live.db.connect() as conn:
        timer = conn.execute(select(timers)).one()
    # Claimed once: the message came back from Redis (the dead worker's heartbeat expired),
    # not from a second claim; the 5-minute lease never ran out.
    assert (timer.attempts, timer.lease_owner) == (1, None)
    assert took < 20, f"redelivery took {took:.1f} s with a {HEARTBEAT_MS} ms heartbeat timeout"
    assert second.errors() == []
    assert namespace.queued() == 0 and namespace.dead_letters() == 0
