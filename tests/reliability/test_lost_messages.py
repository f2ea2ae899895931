"""Redis loses the messages, or several schedulers and workers share one database: each timer fires once."""
from datetime import timedelta

from sqlalchemy import select

from engine.bootstrap import bootstrap
from engine.store.schema import timers
from handlers.scheduler import sweep
from tests.reliability.conftest import (
    ONCE,
    WORKER_TIER,
    Sender,
    counts_per_case,
    start_overdue_cases,
    timer_statuses,
    wait_until,
)

pytestmark = WORKER_TIER


def test_timers_sent_to_redis_and_lost_there_fire_once_when_their_lease_expires(live, namespace, sender, workers,
                                                                                 schedulers):
    case_ids = start_overdue_cases(live, 20)
    lease = timedelta(seconds=3)
    assert sweep(live, sender, lease=lease) == 20
    assert namespace.queued() == 20

    # Redis restarts without persistence (or FLUSHDB) before any worker took them: the
    # namespace's keys, queued messages included, are gone.
    assert namespace.flush() > 0
    assert namespace.queued() == 0

    workers(live.settings.database_url)
    schedulers(live, sender, lease=lease)
    wait_until(lambda: timer_statuses(live) == {"done": 20}, 30, 0.2, "every timer to fire")

    assert all(c == ONCE for c in counts_per_case(live, case_ids).values())
    with live.db.connect() as conn:
        # Claimed once, lost, claimed again after the lease: nothing but the database was needed.
        assert set(conn.execute(select(timers.c.attempts)).scalars()) == {2}


def test_two_schedulers_and_two_worker_processes_fire_each_of_300_due_timers_exactly_once(live, namespace, workers,
                                                                                          schedulers):
    case_ids = start_overdue_cases(live, 300, overdue_by=timedelta(seconds=-3))  # due in 3 s, for everyone at once
    starting = [workers(live.settings.database_url, name, wait=False) for name in ("a", "b")]
    for worker in starting:
        worker.wait_ready()
    other = bootstrap(live.settings, clock=live.clock)  # the second scheduler has its own process-like runtime
    senders = [Sender(namespace), Sender(namespace)]
    running = [schedulers(live, senders[0], lease=timedelta(seconds=60), limit=20),
               schedulers(other, senders[1], lease=timedelta(seconds=60), limit=20)]
    try:
        wait_until(lambda: timer_statuses(live) == {"done": 300}, 90, 0.25, "all 300 timers to fire")
    finally:
        for scheduler in running:
            scheduler.stop()
        for s in senders:
            s.close()
        other.close()

    counts = counts_per_case(live, case_ids)
    assert [c for c in counts.values() if c != ONCE] == []
    first, second = (set(s.sent) for s in senders)
    assert first.isdisjoint(second), "two schedulers claimed the same timer"
    assert len(first) + len(second) == 300  # claimed once each, none sent twice
    for worker in starting:
        assert worker.errors() == []
    assert namespace.queued() == 0 and namespace.dead_letters() == 0
