"""The scheduler loop: leases given back when a send fails, sweeps that outlive errors, waking on time."""
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.services.cases import StartCase, start_case
from engine.services.timers import ClaimDueTimers, claim_due_timers
from engine.store.schema import timers
from handlers.broker import queue_backlog
from handlers.scheduler import pause_after_sweep, run_forever, sweep
from tests.reliability.conftest import wait_until


def start(rt, due):
    with rt.uow() as uow:
        start_case(StartCase("petition", process_key="deadline", data={"reply_due": due.isoformat()}), uow)
        uow.commit()


def leases(rt):
    with rt.db.connect() as conn:
        return [(r.lease_owner, r.status) for r in conn.execute(select(timers).order_by(timers.c.id))]


def test_a_sweep_whose_send_fails_gives_the_unsent_timers_back_at_once(rt, clock):
    for _ in range(3):
        start(rt, clock.now() + timedelta(hours=1))
    clock.advance(hours=2)
    sent = []

    def send(timer_id):
        if sent:
            raise ConnectionError("Redis is gone")
        sent.append(timer_id)

    with pytest.raises(ConnectionError):
        sweep(rt, send, owner="s1")
    assert sent == [1]
    assert leases(rt) == [("s1", "pending"), (None, "pending"), (None, "pending")]


def test_the_scheduler_outlives_failed_sweeps_and_sends_everything_once_they_work_again(rt, clock):
    for _ in range(3):
        start(rt, clock.now() + timedelta(hours=1))
    clock.advance(hours=2)
    sent, failures = [], [2]

    def send(timer_id):
        if failures[0]:
            failures[0] -= 1
            raise ConnectionError("Redis is gone")
        sent.append(timer_id)

    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(rt, send, stop, 0.05), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while len(sent) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert sorted(sent) == [1, 2, 3]


def test_after_a_sweep_the_scheduler_sleeps_until_the_next_timer_falls_due_but_no_longer_than_its_interval(rt, clock):
    assert pause_after_sweep(rt, 1.0) == 1.0  # nothing pending
    start(rt, clock.now() + timedelta(seconds=0.25))
    assert pause_after_sweep(rt, 1.0) == pytest.approx(0.25)
    assert pause_after_sweep(rt, 0.1) == pytest.approx(0.1)
    clock.advance(seconds=1)
    assert pause_after_sweep(rt, 1.0) == pytest.approx(0.02)  # due but not claimed: look again soon
    with rt.uow() as uow:
        claim_due_timers(ClaimDueTimers("s1"), uow)
        uow.commit()
    assert pause_after_sweep(rt, 1.0) == 1.0  # leased timers wait for their lease, not for the scheduler


def test_a_claim_with_a_zero_lease_is_refused(rt):
    with rt.uow() as uow, pytest.raises(ValueError, match="longer than zero"):
        claim_due_timers(ClaimDueTimers("s1", lease=timedelta(0)), uow)


def _run_scheduler(rt, send, **options):
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(rt, send, stop, 0.05), kwargs=options, daemon=True)
    thread.start()
    return stop, thread


@pytest.mark.redis
def test_while_the_workers_are_behind_the_scheduler_holds_new_timers_instead_of_sending_them_again(
        rt, clock, namespace, sender):
    """No worker runs: 30 timers fall due, at most 10 may wait in the queue, leases expire."""
    for _ in range(30):
        start(rt, clock.now() + timedelta(minutes=1))
    clock.advance(minutes=2)
    waiting = lambda: queue_backlog(sender.broker, "timers")  # noqa: E731
    stop, thread = _run_scheduler(rt, sender, limit=4, max_backlog=10, backlog=waiting)
    try:
        wait_until(lambda: waiting() == 10, 10, message="ten timers queued")
        time.sleep(0.3)  # several more sweeps
        assert (waiting(), len(sender.sent)) == (10, 10)
        clock.advance(minutes=10)  # every lease has expired: the queued timers could be claimed again
        time.sleep(0.3)
        assert (waiting(), len(sender.sent)) == (10, 10)
        namespace.flush()  # the queue is lost (nothing fired): the scheduler sends again, ten at a time
        wait_until(lambda: waiting() == 10 and len(sender.sent) == 20, 10, message="ten more queued")
        time.sleep(0.3)
        assert (waiting(), len(sender.sent)) == (10, 20)
    finally:
        stop.set()
        thread.join(5)


@pytest.mark.redis
def test_without_a_backlog_limit_expired_leases_are_sent_again(rt, clock, namespace, sender):
    """What the limit prevents: the same timers queued twice once their leases expire."""
    for _ in range(6):
        start(rt, clock.now() + timedelta(minutes=1))
    clock.advance(minutes=2)
    stop, thread = _run_scheduler(rt, sender)
    try:
        wait_until(lambda: len(sender.sent) == 6, 10, message="six timers sent")
        clock.advance(minutes=10)
        wait_until(lambda: len(sender.sent) == 12, 10, message="the six sent again")
    finally:
        stop.set()
        thread.join(5)
    assert queue_backlog(sender.broker, "timers") == 12


@pytest.mark.redis
def test_the_outbox_relay_waits_while_the_workers_have_notifications_queued(rt, clock, namespace):
    """Rows older than the grace period are still queued, not lost, while workers are behind."""
    from dramatiq import Message
    from dramatiq.brokers.redis import RedisBroker

    from engine.services.notifications import QueueEmail, queue_email
    from handlers import relay
    from tests.reliability.conftest import REDIS_URL
    broker = RedisBroker(url=REDIS_URL, namespace=namespace.name, middleware=[])
    sent = []

    def send(outbox_id):
        sent.append(outbox_id)
        broker.enqueue(Message(queue_name="notifications", actor_name="deliver_notification", args=(outbox_id,),
                               kwargs={}, options={}))

    with rt.uow() as uow:
        for n in range(3):
            queue_email(QueueEmail(dedup_key=f"notice:{n}", to="citizen@example.tw", subject="s", body="b"), uow)
        uow.commit()
    clock.advance(minutes=1)  # past the relay's grace period: to the relay they look lost
    waiting = lambda: queue_backlog(broker, "notifications")  # noqa: E731
    stop = threading.Event()
    thread = threading.Thread(target=relay.run_forever, args=(rt, send, stop, 0.05),
                              kwargs={"backlog": waiting, "max_backlog": 2}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(sent) == 3, 10, message="the three rows relayed")
        clock.advance(minutes=10)  # their relay leases expire while they still wait in the queue
        time.sleep(0.3)
        assert (len(sent), waiting()) == (3, 3)  # not queued a second time
    finally:
        stop.set()
        thread.join(5)
        broker.close()


@pytest.mark.redis
def test_each_timer_is_sent_to_redis_under_the_id_of_the_request_that_set_it(rt, clock, namespace):
    """Through the broker a scaled scheduler sends with: the message carries the id, and the worker binds it."""
    from dramatiq import Message

    from engine import correlation
    from engine.settings import Settings
    from handlers.broker import make_broker
    from tests.reliability.conftest import REDIS_URL
    with correlation.bound("req-scaled-0001"):
        start(rt, clock.now() + timedelta(hours=1))
    start(rt, clock.now() + timedelta(hours=1))  # set with no request in hand
    clock.advance(hours=2)
    broker = make_broker(Settings.from_env({"SECRET_KEY": "k", "DATABASE_URL": "sqlite://", "REDIS_URL": REDIS_URL,
                                            "PETIFLOW_REDIS_NAMESPACE": namespace.name}))
    try:
        send = lambda timer_id: broker.enqueue(Message(  # noqa: E731  (what fire_timer.send does)
            queue_name="timers", actor_name="fire_timer", args=(timer_id,), kwargs={}, options={}))
        assert sweep(rt, send, owner="s1") == 2
        queued = [Message.decode(data) for data in namespace.client.hgetall(f"{namespace.name}:timers.msgs").values()]
    finally:
        broker.close()
    assert {m.args[0]: m.options.get("correlation_id") for m in queued} == {1: "req-scaled-0001", 2: None}
    assert correlation.current() is None
