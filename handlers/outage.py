"""A database outage under a worker or a sweep: retry quietly, one line in the log per attempt.

Dramatiq logs every failed attempt of a message with its traceback; while the database is
away (a restart, a failover) every queued timer and notification would print one per retry,
and every sweep of the scheduler and the relay one per tick. The outage is expected and
retried: raising dramatiq.Retry keeps an actor's retry, its count and its backoff; a sweep's
FailureStreak logs one line per failure and one when it works again. Any other error keeps
its traceback (once per streak for a sweep).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Callable

import dramatiq

from engine.db import is_outage, is_schema_behind

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
            reason = f"the database is unavailable ({summary(exc)})"
        elif is_schema_behind(exc):
            reason = f"the database schema is behind this version ({summary(exc)}); run `petiflow db upgrade`"
        else:
            if on_fault is not None:
                on_fault(exc)
            raise
        log.warning("%s: %s; retrying later", what, reason)
        raise dramatiq.Retry(reason) from None


class FailureStreak:
    """The failures in a row of a sweep loop, logged so an outage of minutes stays readable."""

    def __init__(self, logger: logging.Logger, what: str):
        self.logger, self.what, self.count = logger, what, 0

    def failed(self, exc: BaseException, retry_in: float) -> None:
        """Log a failed sweep: a fault's traceback the first time, otherwise one line."""
        self.count += 1
        if self.count == 1 and not is_outage(exc):
            self.logger.exception("%s failed; retrying in %.1f s", self.what, retry_in)
        elif self.count == 1:
            self.logger.warning("%s failed, the database is unavailable (%s); retrying in %.1f s",
                                self.what, summary(exc), retry_in)
        else:
            self.logger.warning("%s failed again (%d in a row: %s); retrying in %.1f s",
                                self.what, self.count, summary(exc), retry_in)

    def succeeded(self) -> None:
        if self.count:
            self.logger.warning("%s works again after %d failed attempts", self.what, self.count)
        self.count = 0
