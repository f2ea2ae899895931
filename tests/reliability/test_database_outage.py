"""The database goes away for a while under the workers and the scheduler, then comes back."""
import time
from datetime import timedelta

from sqlalchemy import select

from engine.bootstrap import bootstrap
from engine.store.schema import timers
from handlers.scheduler import sweep
from tests.reliability.conftest import (
    ONCE,
    WORKER_TIER,
    counts_per_case,
    start_overdue_cases,
    timer_locked,
    timer_statuses,
    wait_until,
)

pytestmark = WORKER_TIER


def test_workers_and_a_scheduler_that_lose_the_database_for_a_while_retry_and_catch_up_losing_nothing(
        live, namespace, sender, workers, schedulers, pg_proxy):
    proxied_url = pg_proxy.url(live.settings.database_url)
    proxied = bootstrap(live.settings.but(database_url=proxied_url), clock=live.clock)
    lease = timedelta(seconds=4)
    scheduler = None
    try:
        before = start_overdue_cases(live, 10)
        worker = workers(proxied_url)
        scheduler = schedulers(proxied, sender, lease=lease)
        wait_until(lambda: timer_statuses(live) == {"done": 10}, 20, 0.1, "the first timers to fire")

        # A slow firing is under way when the database goes away.
        (slow,) = start_overdue_cases(live, 1, process_key="slow_deadline", data={"slow_seconds": 1.5})
        with live.db.connect() as conn:
            slow_timer = conn.execute(select(timers.c.id).where(timers.c.case_id == slow)).scalar_one()
        wait_until(lambda: timer_locked(live, slow_timer), 10, 0.02, "the worker to start firing it")
        pg_proxy.close()

        # While it is away more timers fall due, and some are sent by a scheduler that still
        # reaches the database (the workers fail on them and retry).
        during = start_overdue_cases(live, 10)
        assert sweep(live, sender, lease=lease, limit=5) == 5
        time.sleep(4)
        assert timer_statuses(live) == {"done": 10, "pending": 11}  # nothing fired without the database
        assert scheduler.thread.is_alive()

        pg_proxy.open()
        wait_until(lambda: timer_statuses(live) == {"done": 21}, 60, 0.2, "every timer to fire after the outage")
        time.sleep(0.5)
    finally:
        if scheduler is not None:
            scheduler.stop()
        proxied.close()

    assert all(c == ONCE for c in counts_per_case(live, before + [slow] + during).values())
    log = worker.log()
    assert "OperationalError" in log or "NotReady" in log  # the workers did see the outage
    assert namespace.dead_letters() == 0
