"""How many messages each Dramatiq queue holds on Redis: the queue depth /metrics shows in scaled mode."""
from __future__ import annotations

import threading
from typing import Callable

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from redis.backoff import NoBackoff
from redis.retry import Retry

from engine.settings import Settings

from .broker import queue_backlog, redis_options

#: Every queue petiflow's actors use (handlers/actors.py, handlers/notification_actors.py).
QUEUES = ("timers", "notifications")

#: Seconds a scrape waits for Redis: a Redis that does not answer must not stall /metrics.
TIMEOUT = 1.0


def queue_depths(settings: Settings) -> Callable[[], dict[str, int]]:
    """A function giving each queue's messages not yet acknowledged (waiting, delayed for a retry or
    being handled), read from the Redis of REDIS_URL; it raises Redis's error when Redis fails."""
    made: list[dramatiq.Broker] = []
    lock = threading.Lock()

    def read() -> dict[str, int]:
        with lock:
            if not made:  # in each web process, on its first scrape (gunicorn forks before)
                client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=TIMEOUT,
                                              socket_timeout=TIMEOUT, retry=Retry(NoBackoff(), 0))
                made.append(RedisBroker(client=client, **redis_options(settings)))
        return {queue: queue_backlog(made[0], queue) for queue in QUEUES}

    return read


def stub_queue_depths(broker: dramatiq.Broker) -> Callable[[], dict[str, int]]:
    """The same for the in-process broker of embedded mode."""
    return lambda: {queue: queue_backlog(broker, queue) for queue in QUEUES}
