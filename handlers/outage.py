"""A database outage under a worker: retry quietly, one line in the log per attempt, no traceback.

Dramatiq logs every failed attempt of a message with its traceback; while the database is
away (a restart, a failover) every queued timer and notification would print one per retry.
The outage is expected and retried with the actor's backoff: raising dramatiq.Retry keeps the
retry, its count and its backoff, and leaves the log readable. Any other error is raised as is.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager

import dramatiq

from engine.db import is_outage

log = logging.getLogger(__name__)


@contextmanager
def retry_quietly_while_the_database_is_down(what: str):
    """Run the block; a database outage inside it becomes a logged warning and a Dramatiq retry."""
    try:
        yield
    except Exception as exc:
        if not is_outage(exc):
            raise
        reason = f"the database is unavailable ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
        log.warning("%s: %s; retrying later", what, reason)
        raise dramatiq.Retry(reason) from None
