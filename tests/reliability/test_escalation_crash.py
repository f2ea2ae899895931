"""A worker killed with SIGKILL in the middle of an escalation: it still happens, and is announced once."""
import time
from datetime import timedelta

from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import select, text

from engine.bootstrap import bootstrap
from engine.clock import FixedClock
from engine.services.calendar_admin import (
    LoadDeadlineRules,
    LoadPublicHolidays,
    load_deadline_rules,
    load_public_holidays,
)
from engine.services.cases import StartCase, start_case
from engine.store.schema import case_events, notifications, outbox, timers, work_items
from handlers.relay import sweep as relay_sweep
from handlers.scheduler import sweep
from tests.reliability.conftest import REDIS_URL, WORKER_TIER, wait_until

pytestmark = WORKER_TIER


def _late_petition(live) -> int:
    """A petition received ten days ago, on Monday 2026-11-16: its reply was due on Tuesday
    2026-11-24 (six working days), so the first rung of its ladder is due now (Thursday 11-26)."""
    now = live.clock.now()
    with live.uow() as uow:
        load_public_holidays(LoadPublicHolidays(2026), uow)
        load_deadline_rules(LoadDeadlineRules(), uow)
        uow.commit()
    past = bootstrap(live.settings, clock=FixedClock(now - timedelta(days=10)), db=live.db)
    with past.uow() as uow:
        started = start_case(StartCase("petition", process_key="deadline",
                                       data={"reply_due": (now + timedelta(days=60)).isoformat()}), uow)
        uow.commit()
    return started.work_item_ids[0]


def _waiting_on_a_lock(live) -> bool:
    """True once a worker's transaction waits for the work item the test holds."""
    with live.db.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")).scalar())


def _rows(live, table, *where):
    with live.db.connect() as conn:
        return conn.execute(select(table).where(*where).order_by(table.c.id)).all()


def test_an_escalation_interrupted_by_kill_9_happens_once_and_is_announced_once(live, sender, namespace, workers):
    item_id = _late_petition(live)
    rungs = [t.id for t in _rows(live, timers, timers.c.kind == "escalation", timers.c.due_at < live.clock.now())]
    assert rungs, "the ten-day-old petition has at least its first rung due"
    first = workers(live.settings.database_url, "first")

    # Hold the work item so the worker's escalation stops half-way, inside its transaction.
    blocker = live.db.connect()
    blocker.execute(text("SELECT id FROM work_items WHERE id = :id FOR UPDATE"), {"id": item_id})
    try:
        assert sweep(live, sender, lease=timedelta(minutes=5)) >= len(rungs)
        wait_until(lambda: _waiting_on_a_lock(live), 20, 0.02,
                   lambda: f"the worker to start the escalation; timers: {_rows(live, timers)}\nlog:\n{first.log()}")
        first.kill()
    finally:
        blocker.rollback()
        blocker.close()
    assert _rows(live, case_events, case_events.c.kind == "escalated") == []  # died with the process

    workers(live.settings.database_url, "second")
    wait_until(lambda: {t.status for t in _rows(live, timers, timers.c.id.in_(rungs))} == {"done"}, 30, 0.1,
               "the next worker to carry out the escalation")
    levels = sorted(e.data["level"] for e in _rows(live, case_events, case_events.c.kind == "escalated"))
    assert levels == sorted(set(levels)) and len(levels) == len(rungs)  # each rung once
    assert _rows(live, work_items, work_items.c.id == item_id)[0].escalation_level == max(levels)

    # The notices leave through the outbox; deliver them, then deliver them all again.
    broker = RedisBroker(url=REDIS_URL, namespace=namespace.name, middleware=[])
    send = lambda outbox_id: broker.enqueue(Message(  # noqa: E731
        queue_name="notifications", actor_name="deliver_notification", args=(outbox_id,), kwargs={}, options={}))
    try:
        relay_sweep(live, send, older_than=timedelta(0))
        wait_until(lambda: {r.status for r in _rows(live, outbox)} == {"sent"}, 30, 0.1, "the notices to go out")
        for row in _rows(live, outbox):
            send(row.id)  # a duplicate delivery, as after another crash
        time.sleep(1.5)
    finally:
        broker.close()
    notices = _rows(live, notifications, notifications.c.kind == "escalation")
    assert len(notices) == len(rungs)
    assert len({n.dedup_key for n in notices}) == len(notices)
