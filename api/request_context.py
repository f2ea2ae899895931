"""A request id for every request: taken from X-Request-ID when it is sane, else made; echoed back.

The id is bound as the correlation id (engine/correlation.py) for the whole request, so every
log line of the request carries it, and the outbox messages the request queues carry it on to
the workers that deliver them.
"""
from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

from engine import correlation

#: The header a proxy or client may set, and which every response carries.
HEADER = "X-Request-ID"

#: What an incoming id may be: 8 to 64 letters, digits, '-', '_', '.' or ':' (a UUID, a proxy's
#: hex id); anything else (too long, spaces, control characters that would forge log lines) is replaced.
SANE_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def request_id_from(header: str | None) -> str:
    """The header's id when it is sane, else a new random one (32 hex digits)."""
    if header and SANE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def _begin() -> None:
    g.request_id = request_id_from(request.headers.get(HEADER))
    g.request_id_token = correlation.bind(g.request_id)


def _echo(response: Response) -> Response:
    if "request_id" in g:
        response.headers[HEADER] = g.request_id
    return response


def _end(exc) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        correlation.reset(token)


def install(app: Flask) -> None:
    """Give each request of the app an id, before any other before-request function runs."""
    correlation.stamp_log_records()
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_echo)
    app.teardown_request(_end)
