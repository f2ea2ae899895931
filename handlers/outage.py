"""An outage under a worker or a sweep: retry quietly, one line in the log per attempt.

Dramatiq logs every failed attempt of a message with its traceback; while the database is
away (a restart, a failover) every queued timer and notification would print one per retry,
and every sweep of the scheduler and the relay one per tick. The outage is expected and
retried: raising dramatiq.Retry keeps an actor's retry, its count and its backoff; a sweep's
FailureStreak logs one line per failure and one when it works again. A Redis broker that
cannot be reached is an outage too, named in the line by its address (password masked).
Any other error keeps its traceback (once per streak for a sweep).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Callable
from urllib.parse import urlsplit

import dramatiq
import redis

from engine.errors import is_outage, is_schema_behind

from .error_text import summary

log = logging.getLogger(__name__)


@contextmanager
def retry_quietly_while_the_database_is_down(what: str, on_fault: Callable[[Exception], None] | None = None):
    """Run the block; a database outage inside it becomes a logged warning and a Dramatiq retry.

    Any other error is raised as is, after `on_fault(exc)` if given (to note it somewhere).
    """
    try:
        yield
    except Exception as exc:
        if is_outage(exc):
            reason = outage_reason(exc)
        elif is_schema_behind(exc):
            reason = f"the database schema is behind this version ({summary(exc)}); run `petiflow db upgrade`"
        else:
            if on_fault is not None:
                on_fault(exc)
            raise
        log.warning("%s: %s; retrying later", what, reason)
        raise dramatiq.Retry(reason) from None


def send_or_give_back(runtime, ids: list, send, release, what: str) -> None:
    """Send each claimed id; when a send fails (Redis unavailable), give the leases of the ids
    not sent back at once with `release(uow, ids)`, then raise. If the database is away too,
    the leases expire by themselves."""
    sent = 0
    try:
        for item_id in ids:
            send(item_id)
            sent += 1
    except Exception:
        try:
            with runtime.uow() as uow:
                release(uow, ids[sent:])
                uow.commit()
        except Exception:  # noqa: BLE001 - the send's failure is the one to raise
            log.warning("could not give back the leases of %d unsent %s; they expire by themselves",
                        len(ids) - sent, what)
        raise


def _redis_error(exc: BaseException) -> BaseException:
    """The Redis error itself, also when Dramatiq wrapped it (ConnectionClosed carries it as its message)."""
    inner = getattr(exc, "message", None) if isinstance(exc, dramatiq.errors.BrokerConnectionError) else None
    return inner if isinstance(inner, BaseException) else exc


def is_broker_outage(exc: BaseException) -> bool:
    """True when exc means the Redis broker cannot be reached right now (refused, timed out, lost).

    A refused password is a fault to fix, not an outage to wait out.
    """
    exc = _redis_error(exc)
    return (isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError))
            and not isinstance(exc, (redis.exceptions.AuthenticationError, redis.exceptions.AuthorizationError)))


def broker_address(url: str | None) -> str:
    """The broker's URL fit for a log line: its password masked, its query left out."""
    if not url:
        return "(no address)"
    parts = urlsplit(url)
    user, at, host = parts.netloc.rpartition("@")
    if at and parts.password is not None:
        user = f"{parts.username or ''}:***"
    return f"{parts.scheme}://{user}{at}{host}{parts.path}"


def outage_reason(exc: BaseException, broker_url: str | None = None) -> str | None:
    """What is unavailable, when exc is an outage (database or broker); None for any other error."""
    if is_outage(exc):
        return f"the database is unavailable ({summary(exc)})"
    if is_broker_outage(exc):
        return (f"the message broker at {broker_address(broker_url)} is unavailable "
                f"({summary(_redis_error(exc))})")
    return None


class FailureStreak:
    """The failures in a row of a sweep loop, logged so an outage of minutes stays readable.

    `broker_url` names the Redis broker in the line when it is the one that cannot be reached.
    Not thread-safe: one loop, or a caller's lock.
    """

    def __init__(self, logger: logging.Logger, what: str, broker_url: str | None = None):
        self.logger, self.what, self.broker_url, self.count = logger, what, broker_url, 0

    def failed(self, exc: BaseException, retry_in: float) -> None:
        """Log a failed attempt: a fault's traceback the first time, otherwise one line."""
        self.count += 1
        reason = outage_reason(exc, self.broker_url)
        if self.count == 1 and reason is None:
            self.logger.exception("%s failed; retrying in %.1f s", self.what, retry_in)
        elif self.count == 1:
            self.logger.warning("%s failed, %s; retrying in %.1f s", self.what, reason, retry_in)
        else:
            self.logger.warning("%s failed again (%d in a row), %s; retrying in %.1f s",
                                self.what, self.count, reason or summary(exc), retry_in)

    def succeeded(self) -> None:
        if self.count:
            self.logger.warning("%s works again after %d failed attempts", self.what, self.count)
        self.count = 0
