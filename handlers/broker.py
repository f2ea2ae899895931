"""The Dramatiq broker: Redis in scaled mode, an in-process stub in embedded mode.

Set explicitly before any actor module is imported, never Dramatiq's implicit global.

Redis broker options, read once from the environment into Settings.broker (unset means Dramatiq's default, which is
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

A Redis that cannot be reached is an outage, logged like a database outage: Dramatiq's
consumer threads would log each failed attempt as CRITICAL, every one of them (a queue and
its delay queue each) every three seconds; here that becomes one warning per attempt for the
whole process, naming the broker, and one line when Redis works again. Connections give up
after CONNECT_TIMEOUT and REPLY_TIMEOUT seconds (a `socket_timeout=` in REDIS_URL wins), so
a Redis host that vanishes is noticed instead of hanging a worker or a sweep.
"""
from __future__ import annotations

import logging
import threading
import time

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.worker import CONSUMER_RESTART_DELAY_SECS
from redis.backoff import NoBackoff
from redis.retry import Retry

from engine.settings import Settings

from .correlation import CorrelationMiddleware
from .outage import FailureStreak, is_broker_outage

log = logging.getLogger(__name__)

#: Seconds to wait for Redis to accept a connection, and for the reply to a command (every
#: command of the broker is a short script: no reply this late means Redis is gone).
CONNECT_TIMEOUT = 5.0
REPLY_TIMEOUT = 30.0

#: Seconds the readiness probe waits for Redis to answer a PING.
PING_TIMEOUT = 1.0

#: What Dramatiq's consumer threads log when Redis fails them (see _ConsumerOutageLog).
_CONNECTION_ERROR = "Consumer encountered a connection error: %s"
_UNEXPECTED_ERROR = "Consumer encountered an unexpected error."
_RESTARTING = "Restarting consumer in %0.2f seconds."


def redis_options(settings: Settings) -> dict:
    """RedisBroker keyword arguments from the settings (Dramatiq's defaults where none is set)."""
    options = settings.broker
    found = {"namespace": options.namespace, "heartbeat_timeout": options.heartbeat_ms,
             "maintenance_chance": options.maintenance_chance}
    return {name: value for name, value in found.items() if value is not None}


def queue_backlog(broker: dramatiq.Broker, queue_name: str) -> int:
    """Messages of a queue that no worker has taken yet: waiting, or delayed for a retry."""
    if isinstance(broker, StubBroker):
        from dramatiq.common import dq_name
        return sum(broker.queues[name].qsize() for name in (queue_name, dq_name(queue_name))
                   if name in broker.queues)
    return int(broker.do_qsize(queue_name))  # RedisBroker: the queue and its delay queue


def ping(url: str, timeout: float = PING_TIMEOUT) -> None:
    """PING the Redis at url, waiting at most about `timeout` seconds; raises Redis's error if it fails."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                  retry=Retry(NoBackoff(), 0))
    try:
        client.ping()
    finally:
        client.close()


def broker_problem(url: str) -> str | None:
    """None when the Redis broker answers a PING in time, else what a readiness probe says (the
    detail goes to the log)."""
    from .error_text import summary
    from .outage import broker_address
    try:
        ping(url)
    except Exception as exc:  # noqa: BLE001 - refused, timed out, a wrong password: not ready, whatever it is
        log.warning("Readiness check: the message broker at %s is unreachable: %s", broker_address(url), summary(exc))
        return f"Message broker unreachable ({type(exc).__name__}); see the server log."
    return None


class _ConsumerOutageLog(dramatiq.Middleware):
    """Filters the loggers of Dramatiq's consumer threads: a Redis outage is one warning per attempt.

    All the consumer threads of a process fail together and retry every CONSUMER_RESTART_DELAY_SECS:
    one line is counted per delay, the others are the same attempt seen by another thread. Any other error
    keeps Dramatiq's CRITICAL line and traceback.
    """

    def __init__(self, url: str):
        self.streak = FailureStreak(log, "fetching messages", broker_url=url)
        self._lock = threading.Lock()
        self._counted_at = float("-inf")

    def after_consumer_thread_boot(self, broker, thread) -> None:
        thread.logger.addFilter(self.filter)

    def before_consumer_thread_shutdown(self, broker, thread) -> None:
        thread.logger.removeFilter(self.filter)  # the logger outlives the thread (and this broker)

    def filter(self, record: logging.LogRecord) -> bool:
        """False for the lines this replaces (logging the replacement once per attempt)."""
        if record.msg == _RESTARTING:
            return self.streak.count == 0  # the warning says when it retries
        if record.msg == _CONNECTION_ERROR and record.args:
            exc = record.args[0]
        elif record.msg == _UNEXPECTED_ERROR and record.exc_info:
            exc = record.exc_info[1]  # a Redis that stopped answering: a timeout Dramatiq does not expect
        else:
            return True
        if not is_broker_outage(exc):
            return True
        with self._lock:
            now = time.monotonic()
            # One attempt per restart delay, whichever thread reports it: threads that started
            # apart (a loaded machine) retry out of step, and each would otherwise count its own.
            if now - self._counted_at > CONSUMER_RESTART_DELAY_SECS * 0.9:
                self._counted_at = now
                self.streak.failed(exc, CONSUMER_RESTART_DELAY_SECS)
        return False

    def worked(self) -> None:
        """A fetch worked: say so once if Redis was away."""
        if self.streak.count:
            with self._lock:
                self.streak.succeeded()
                self._counted_at = float("-inf")


class _WatchedConsumer(dramatiq.Consumer):
    """A Redis consumer that tells the outage log each time a fetch worked."""

    def __init__(self, consumer: dramatiq.Consumer, worked):
        self._consumer, self._worked = consumer, worked

    def __next__(self):
        message = next(self._consumer)
        self._worked()
        return message

    def ack(self, message) -> None:
        self._consumer.ack(message)

    def nack(self, message) -> None:
        self._consumer.nack(message)

    def requeue(self, messages) -> None:
        self._consumer.requeue(messages)

    def close(self) -> None:
        self._consumer.close()

    def __getattr__(self, name):
        return getattr(self._consumer, name)


class PetiflowRedisBroker(RedisBroker):
    """Dramatiq's Redis broker with connection timeouts, whose workers log an outage like the sweeps."""

    def __init__(self, url: str, **options):
        client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=REPLY_TIMEOUT)
        super().__init__(client=client, **options)
        self.outage_log = _ConsumerOutageLog(url)
        self.add_middleware(self.outage_log)

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> dramatiq.Consumer:
        return _WatchedConsumer(super().consume(queue_name, prefetch, timeout), self.outage_log.worked)


def make_broker(settings: Settings) -> dramatiq.Broker:
    """The broker the settings ask for (Redis when REDIS_URL is set), its messages carrying the request id."""
    if settings.redis_url:
        broker = PetiflowRedisBroker(settings.redis_url, **redis_options(settings))
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")  # starts the TimeLimit watchdog in-process
    broker.add_middleware(CorrelationMiddleware())
    return broker


def install_broker(settings: Settings) -> dramatiq.Broker:
    """Create the broker and make it Dramatiq's global one (call before importing actors)."""
    broker = make_broker(settings)
    dramatiq.set_broker(broker)
    return broker
