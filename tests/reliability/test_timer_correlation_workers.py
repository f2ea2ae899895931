"""Scaled mode: a worker process logs a timer's firing under the id of the request that set the timer."""
from datetime import timedelta

from dramatiq import Message

from engine import correlation
from engine.settings import Settings
from handlers.broker import make_broker
from handlers.scheduler import sweep
from tests.reliability.conftest import REDIS_URL, WORKER_TIER, start_overdue_cases, timer_statuses, wait_until

pytestmark = WORKER_TIER


def test_a_worker_process_logs_the_firing_under_the_id_of_the_request_that_set_the_timer(live, namespace, workers):
    with correlation.bound("req-worker-0001"):
        (case_id,) = start_overdue_cases(live, 1, overdue_by=timedelta(seconds=-1))  # due in a second
    worker = workers(live.settings.database_url)
    # The broker `petiflow scheduler` sends with (its middleware puts the id in hand on each message).
    broker = make_broker(Settings.from_env({"SECRET_KEY": "k", "DATABASE_URL": "sqlite://", "REDIS_URL": REDIS_URL,
                                            "PETIFLOW_REDIS_NAMESPACE": namespace.name}))
    try:
        send = lambda timer_id: broker.enqueue(Message(  # noqa: E731  (what fire_timer.send does)
            queue_name="timers", actor_name="fire_timer", args=(timer_id,), kwargs={}, options={}))
        wait_until(lambda: sweep(live, send, owner="s1"), 10, 0.1, "the timer to fall due and be sent")
        wait_until(lambda: timer_statuses(live).get("done") == 1, 30, 0.2, "the worker to fire it")
    finally:
        broker.close()
    [line] = [line for line in worker.log().splitlines() if "firing timer" in line]
    assert f"[req-worker-0001] firing timer 1: bpmn_timer of case {case_id}," in line
    assert worker.errors() == []
