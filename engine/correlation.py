"""The correlation id of the work in hand: the web request, or the message, that caused it.

The web app binds the id of each request (its X-Request-ID); the outbox keeps it on the rows a
request queues, and the workers bind it again while they handle those messages, so that every
log line of one citizen's action, in whichever process, carries the same id. Timers keep it too
(`timers.correlation_id`, on the rows a step sets) and are fired under it, however much later.
The engine only carries the id as an opaque string; it never makes one up.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar, Token

_current: ContextVar[str | None] = ContextVar("petiflow_correlation_id", default=None)

#: The attribute every log record gets (None outside a request or a message that carries one).
LOG_ATTRIBUTE = "request_id"

#: The longest id kept on a row (a request id has at most 64 characters, a Dramatiq message id 36).
MAX_STORED = 64


def current() -> str | None:
    """The id bound in this thread (or task) now, or None."""
    return _current.get()


def storable() -> str | None:
    """The id bound now, to keep on a row; None when none is bound or it is longer than MAX_STORED."""
    found = _current.get()
    return found if found is not None and len(found) <= MAX_STORED else None


def bind(correlation_id: str | None) -> Token:
    """Make correlation_id the current one; give the token to reset() to put the previous one back."""
    return _current.set(correlation_id)


def reset(token: Token) -> None:
    """Put back the id that was current before bind() gave this token."""
    _current.reset(token)


@contextmanager
def bound(correlation_id: str | None):
    """Bind correlation_id for the block."""
    token = bind(correlation_id)
    try:
        yield correlation_id
    finally:
        reset(token)


def stamp_log_records() -> None:
    """Give every log record made from now on the current id as `record.request_id` (once per process)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "stamps_correlation", False):
        return

    def make_record(*args, **kwargs):
        record = factory(*args, **kwargs)
        setattr(record, LOG_ATTRIBUTE, _current.get())
        return record

    make_record.stamps_correlation = True
    logging.setLogRecordFactory(make_record)
