"""Redis goes away under the scheduler, the relay and the workers, then comes back.

Redis is reached through a TCP proxy: closed, nothing listens on its port (every connection
is refused, as with a Redis that is down); open, it forwards to the test Redis.
"""
from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import dramatiq
import pytest
import redis
from dramatiq import Message
from sqlalchemy import select

from engine.bootstrap import bootstrap
from engine.services.cases import StartCase, start_case
from engine.store.schema import timers
from handlers import relay, scheduler
from handlers.broker import PetiflowRedisBroker, queue_backlog
from handlers.scheduler import sweep
from tests.reliability.conftest import (
    ONCE,
    REDIS_URL,
    ROOT,
    TcpProxy,
    Worker,
    counts_per_case,
    process_env,
    skip_in_sqlite_run,
    start_overdue_cases,
    timer_statuses,
    wait_until,
)

#: A Redis address nothing listens on.
NOWHERE = "redis://127.0.0.1:6390/0"


@pytest.fixture
def redis_proxy(redis_server):
    """A proxy to the test Redis, and the Redis URL through it (same database index)."""
    url = urlsplit(REDIS_URL)
    proxy = TcpProxy((url.hostname or "127.0.0.1", url.port or 6379))
    proxy.redis_url = f"redis://127.0.0.1:{proxy.port}{url.path or '/0'}"
    yield proxy
    proxy.close()


@pytest.fixture
def broker(redis_proxy, namespace):
    """petiflow's Redis broker, through the proxy, in the test's namespace."""
    b = PetiflowRedisBroker(redis_proxy.redis_url, namespace=namespace.name)
    for queue in ("timers", "notifications"):
        b.declare_queue(queue)
    yield b
    b.close()


def enqueue_timer(broker):
    """What the scheduler's `fire_timer.send` does, without the actor module."""
    def send(timer_id: int) -> None:
        broker.enqueue(Message(queue_name="timers", actor_name="fire_timer", args=(timer_id,), kwargs={},
                               options={}))
    return send


def make_a_timer_due(rt, clock) -> None:
    """Open a case whose reply is due in an hour, and move the clock past it."""
    with rt.uow() as uow:
        start_case(StartCase("petition", process_key="deadline",
                             data={"reply_due": (clock.now() + timedelta(hours=1)).isoformat()}), uow)
        uow.commit()
    clock.advance(hours=2)


def leases(rt):
    with rt.db.connect() as conn:
        return [(r.status, r.lease_owner) for r in conn.execute(select(timers).order_by(timers.c.id))]


def messages(caplog, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


@pytest.mark.redis
def test_a_timer_claimed_while_redis_is_down_is_given_back_and_sent_by_the_next_sweep(rt, clock, namespace, sender):
    make_a_timer_due(rt, clock)
    nowhere = PetiflowRedisBroker(NOWHERE, namespace=namespace.name)
    try:
        with pytest.raises(redis.exceptions.ConnectionError):
            sweep(rt, enqueue_timer(nowhere), owner="s1")
    finally:
        nowhere.close()
    assert leases(rt) == [("pending", None)]  # not lost, not held: the next sweep claims it at once
    assert sweep(rt, sender, owner="s2") == 1
    assert sender.sent == [1] and namespace.queued() == 1
    assert leases(rt) == [("pending", "s2")]


@pytest.mark.redis
def test_notifications_claimed_while_redis_is_down_are_given_back_and_sent_by_the_next_sweep(rt, clock, namespace):
    from engine.store.outbox import queue_message
    from engine.store.schema import outbox
    with rt.uow() as uow:
        for n in range(3):
            queue_message(uow, "email", {"to": "citizen@example.tw", "subject": "s", "body": "b"}, f"k:{n}")
        uow.commit()
    clock.advance(minutes=10)  # past the relay's grace period
    nowhere = PetiflowRedisBroker(NOWHERE, namespace=namespace.name)

    def deliver(outbox_id: int) -> None:
        nowhere.enqueue(Message(queue_name="notifications", actor_name="deliver_notification", args=(outbox_id,),
                                kwargs={}, options={}))
    try:
        with pytest.raises(redis.exceptions.ConnectionError):
            relay.sweep(rt, deliver)
    finally:
        nowhere.close()
    with rt.db.connect() as conn:
        rows = conn.execute(select(outbox.c.status, outbox.c.lease_owner).order_by(outbox.c.id)).all()
    assert [tuple(r) for r in rows] == [("pending", None)] * 3  # not lost, not held
    sent = []
    assert relay.sweep(rt, sent.append) == 3 and sent == [1, 2, 3]


@pytest.mark.redis
def test_sweeps_log_one_warning_line_per_attempt_naming_the_broker_and_one_when_it_works_again(
        rt, clock, namespace, redis_proxy, broker, caplog):
    make_a_timer_due(rt, clock)
    scaled = bootstrap(rt.settings.but(redis_url=redis_proxy.redis_url), clock=clock, db=rt.db)  # as the CLI's
    redis_proxy.close()
    stop = threading.Event()
    loops = [threading.Thread(target=scheduler.run_forever, args=(scaled, enqueue_timer(broker), stop, 0.05),
                              kwargs={"backlog": lambda: queue_backlog(broker, "timers")}, daemon=True),
             threading.Thread(target=relay.run_forever, args=(scaled, lambda _id: None, stop, 0.05),
                              kwargs={"backlog": lambda: queue_backlog(broker, "notifications")}, daemon=True)]
    with caplog.at_level(logging.WARNING):
        for loop in loops:
            loop.start()
        try:
            wait_until(lambda: len(messages(caplog, "handlers.scheduler")) >= 3, 10, 0.05, "three failed sweeps")
            assert namespace.queued() == 0 and leases(rt) == [("pending", None)]
            redis_proxy.open()
            wait_until(lambda: namespace.queued() == 1, 10, 0.05, "the due timer to be sent")
            wait_until(lambda: any("works again" in m for m in messages(caplog, "handlers.relay")), 10, 0.05,
                       "the relay to work again")
        finally:
            stop.set()
            for loop in loops:
                loop.join(10)
    broken = f"the message broker at {redis_proxy.redis_url} is unavailable (ConnectionError"
    for logger, what in (("handlers.scheduler", "timer sweep"), ("handlers.relay", "outbox relay sweep")):
        lines = messages(caplog, logger)
        assert lines[0].startswith(f"{what} failed, {broken}")
        assert all(f"in a row), {broken}" in line for line in lines[1:-1])
        assert lines[-1].startswith(f"{what} works again after {len(lines) - 1} failed attempts")
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in caplog.records
               if r.name.startswith("handlers."))


class ConsumingWorker:
    """An in-process Dramatiq worker on a broker, its log lines captured: 4 consumers (2 queues, 2 delay queues)."""

    def __init__(self, broker, caplog):
        self.worker, self.caplog = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100), caplog

    def __enter__(self):
        self._level = self.caplog.at_level(logging.INFO)
        self._level.__enter__()
        self.worker.start()
        return self

    def __exit__(self, *exc_info):
        self.worker.stop(timeout=10_000)
        self._level.__exit__(*exc_info)

    def failures(self) -> list[logging.LogRecord]:
        return [r for r in self.caplog.records if r.getMessage().startswith("fetching messages failed")]


@pytest.mark.redis
@pytest.mark.slow
def test_a_worker_logs_a_redis_outage_as_one_warning_per_attempt_not_a_critical_line_per_consumer(
        redis_proxy, broker, caplog):
    redis_proxy.close()
    with ConsumingWorker(broker, caplog) as worker:
        wait_until(lambda: len(worker.failures()) >= 2, 10, 0.05, "two failed attempts")
        redis_proxy.open()
        wait_until(lambda: "fetching messages works again" in caplog.text, 10, 0.05, "the worker to work again")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "Restarting consumer" not in caplog.text
    lines = [r for r in caplog.records if r.name == "handlers.broker"]
    assert lines[0].getMessage().startswith(f"fetching messages failed, the message broker at "
                                            f"{redis_proxy.redis_url} is unavailable (ConnectionError")
    assert lines[0].getMessage().endswith("); retrying in 3.0 s")
    assert lines[1].getMessage().startswith("fetching messages failed again (2 in a row), the message broker at")
    # One line per attempt (3 s apart), not one per consumer (the same instant). The last line, "works again",
    # follows the reconnection, whenever that came: it is left out of the spacing.
    failed = lines[:-1]
    assert all(b.created - a.created > 1 for a, b in zip(failed, failed[1:]))
    assert lines[-1].getMessage() == f"fetching messages works again after {len(lines) - 1} failed attempts"


@pytest.mark.slow
def test_a_redis_that_accepts_connections_but_never_answers_times_out_into_the_same_warning(caplog):
    with socket.socket() as silent:  # the kernel accepts connections; nothing ever replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        broker = PetiflowRedisBroker(f"{url}?socket_timeout=0.3&socket_connect_timeout=0.3",  # the URL's win
                                     namespace="petiflow-test-silent")
        broker.declare_queue("timers")
        try:
            with ConsumingWorker(broker, caplog) as worker:
                wait_until(lambda: worker.failures(), 10, 0.05, "a failed attempt")
        finally:
            broker.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # not Dramatiq's CRITICAL "unexpected error"
    assert worker.failures()[0].getMessage().startswith(f"fetching messages failed, the message broker at {url} "
                                                        "is unavailable (TimeoutError")
    assert worker.failures()[0].getMessage().endswith("); retrying in 3.0 s")


# --- real processes: `petiflow scheduler` and `dramatiq handlers.worker_entry` -----------------

class SchedulerProcess(Worker):
    """`petiflow scheduler` as an operator runs it, its output in a file (stopped like a worker)."""

    def __init__(self, log_path, env: dict):  # not super().__init__: that starts a worker
        self.name, self.log_path = "scheduler", log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-c", "import tests.reliability.on_test_clock; "
                                      "from api.cli import main; main()", "scheduler", "--interval", "0.2"],
                                     cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@skip_in_sqlite_run
def test_a_scheduler_and_a_worker_process_ride_out_a_redis_outage_and_fire_every_timer_once(
        live, namespace, workers, redis_proxy, tmp_path):
    before = start_overdue_cases(live, 5)
    redis_proxy.close()

    # A timer claimed while Redis is down, whose send fails, is given back at once.
    nowhere = PetiflowRedisBroker(redis_proxy.redis_url, namespace=namespace.name)
    try:
        with pytest.raises(redis.exceptions.ConnectionError):
            sweep(live, enqueue_timer(nowhere), owner="claimed-while-down", limit=2)
    finally:
        nowhere.close()
    assert timer_statuses(live) == {"pending": 5}
    assert all(owner is None for _, owner in leases(live))

    worker = workers(live.settings.database_url, extra_env={"REDIS_URL": redis_proxy.redis_url})
    scheduler_process = SchedulerProcess(tmp_path / "scheduler.log", process_env(live.clock, **{
        "HOME": os.environ.get("HOME", str(tmp_path)), "DATABASE_URL": live.settings.database_url,
        "REDIS_URL": redis_proxy.redis_url, "PETIFLOW_REDIS_NAMESPACE": namespace.name,
        "PETIFLOW_VAR_DIR": str(tmp_path / "var"), "SECRET_KEY": "test"}))
    try:
        wait_until(lambda: "timer sweep failed again (2 in a row)" in scheduler_process.log(), 20, 0.1,
                   "the scheduler to fail twice")
        wait_until(lambda: "fetching messages failed again (2 in a row)" in worker.log(), 20, 0.1,
                   "the worker to fail twice")
        during = start_overdue_cases(live, 5)
        assert timer_statuses(live) == {"pending": 10}

        redis_proxy.open()
        wait_until(lambda: timer_statuses(live) == {"done": 10}, 60, 0.2, "every timer to fire once Redis is back")
        wait_until(lambda: "timer sweep works again" in scheduler_process.log(), 10, 0.1, "the scheduler's line")
        wait_until(lambda: "fetching messages works again" in worker.log(), 10, 0.1, "the worker's line")
    finally:
        scheduler_process.stop()

    assert all(c == ONCE for c in counts_per_case(live, before + during).values())
    assert namespace.dead_letters() == 0
    broken = f"the message broker at {redis_proxy.redis_url} is unavailable (ConnectionError"
    scheduler_log = scheduler_process.log()
    assert f"timer sweep failed, {broken}" in scheduler_log and f"outbox relay sweep failed, {broken}" in scheduler_log
    assert "Traceback" not in scheduler_log and " ERROR " not in scheduler_log
    assert f"fetching messages failed, {broken}" in worker.log()
    assert worker.errors() == [] and "Traceback" not in worker.log()

