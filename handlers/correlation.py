"""The request id follows a case's messages into the workers (a Dramatiq middleware).

A message sent while a correlation id is bound (a web request committing, or a worker handling
another message) carries it in its options; the worker binds it again while the actor runs, so
the worker's log lines carry the id of the request that caused them. The scheduler sends each
timer under the id the timer keeps (the request that set it). A message that came with none (a
timer set with no id bound) is handled under its own Dramatiq message id.
"""
from __future__ import annotations

import threading

import dramatiq

from engine import correlation

#: The message option that carries the id.
OPTION = "correlation_id"


class CorrelationMiddleware(dramatiq.Middleware):
    """Puts the current correlation id on messages sent, and binds a message's id while it is handled."""

    def __init__(self):
        self._tokens = threading.local()
        correlation.stamp_log_records()

    def before_enqueue(self, broker, message, delay) -> None:
        found = correlation.current()
        if found is not None and OPTION not in message.options:
            message.options[OPTION] = found

    def before_process_message(self, broker, message) -> None:
        self._tokens.token = correlation.bind(message.options.get(OPTION) or message.message_id)

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        self._unbind()

    def after_skip_message(self, broker, message) -> None:
        self._unbind()

    def _unbind(self) -> None:
        token = getattr(self._tokens, "token", None)
        self._tokens.token = None
        if token is not None:
            correlation.reset(token)
