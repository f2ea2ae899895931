"""The Dramatiq broker: Redis in scaled mode, an in-process stub in embedded mode.

Set explicitly before any actor module is imported, never Dramatiq's implicit global.

Redis broker options, read from the environment (unset means Dramatiq's default, which is
what production runs with):

* ``PETIFLOW_REDIS_NAMESPACE`` (default ``petiflow``): prefix of every key; tests and
  benchmarks use their own ``petiflow-test-*`` namespace so they never touch another's.
* ``PETIFLOW_REDIS_HEARTBEAT_MS`` (Dramatiq's ``heartbeat_timeout``, default 60,000 ms): a
  worker whose last Redis command is older than this is taken for dead, and the messages
  it fetched but never acknowledged go back on their queue. Keep it well above the
  longest pause of a live worker (a consumer polls at least once a second), or a message
  still running is delivered twice (firing is idempotent, so that only costs work).
* ``PETIFLOW_REDIS_MAINTENANCE_CHANCE`` (Dramatiq's ``maintenance_chance``, in millionths,
  default 1,000 = 0.1% of broker commands): how often a command also looks for dead
  workers. With the defaults a message of a worker killed with -9 comes back after about
  two minutes (60 s heartbeat plus a random wait for a maintenance roll); with 5,000 ms
  and 1,000,000 after about five seconds (reference/infra-notes.md section 1). The
  scheduler repairs anything Redis loses anyway, one lease later.
"""
from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.stub import StubBroker

from engine.settings import Settings

#: The key prefix of petiflow's queues in Redis unless PETIFLOW_REDIS_NAMESPACE says otherwise.
DEFAULT_NAMESPACE = "petiflow"


def redis_options(environ=None) -> dict:
    """RedisBroker keyword arguments from the environment (only those that are set)."""
    env = os.environ if environ is None else environ
    options = {"namespace": env.get("PETIFLOW_REDIS_NAMESPACE") or DEFAULT_NAMESPACE}
    for var, name in (("PETIFLOW_REDIS_HEARTBEAT_MS", "heartbeat_timeout"),
                      ("PETIFLOW_REDIS_MAINTENANCE_CHANCE", "maintenance_chance")):
        value = env.get(var)
        if value:
            try:
                options[name] = int(value)
            except ValueError:
                raise ValueError(f"{var} must be a whole number, not {value!r}") from None
            if options[name] <= 0:
                raise ValueError(f"{var} must be above zero, not {value!r}")
    return options


def queue_backlog(broker: dramatiq.Broker, queue_name: str) -> int:
    """Messages of a queue that no worker has taken yet: waiting, or delayed for a retry."""
    if isinstance(broker, StubBroker):
        from dramatiq.common import dq_name
        return sum(broker.queues[name].qsize() for name in (queue_name, dq_name(queue_name))
                   if name in broker.queues)
    return int(broker.do_qsize(queue_name))  # RedisBroker: the queue and its delay queue


def make_broker(settings: Settings) -> dramatiq.Broker:
    """The broker the settings ask for (Redis when REDIS_URL is set)."""
    if settings.redis_url:
        from dramatiq.brokers.redis import RedisBroker
        return RedisBroker(url=settings.redis_url, **redis_options())
    broker = StubBroker()
    broker.emit_after("process_boot")  # starts the TimeLimit watchdog in-process
    return broker


def install_broker(settings: Settings) -> dramatiq.Broker:
    """Create the broker and make it Dramatiq's global one (call before importing actors)."""
    broker = make_broker(settings)
    dramatiq.set_broker(broker)
    return broker
