"""One table from engine errors to HTTP statuses, and one JSON error shape for every error."""
from __future__ import annotations

import logging
import re

import marshmallow as ma
from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES

from engine.errors import (
    Conflict,
    DatabaseError,
    DeliveryFailed,
    Forbidden,
    InvalidDefinition,
    InvalidForm,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    NotReady,
    PetiflowError,
    TooLarge,
    WorkflowFailed,
    is_outage,
    is_schema_behind,
)

log = logging.getLogger(__name__)

#: The HTTP status of each engine error; the nearest class in an error's MRO wins.
STATUS_BY_ERROR: dict[type[PetiflowError], int] = {
    InvalidInput: 400,
    InvalidForm: 422,  # as for a request body that fails its schema: every field's error at once
    TooLarge: 413,  # as werkzeug's own refusal of a body past MAX_CONTENT_LENGTH
    NotFound: 404,
    NotAuthenticated: 401,
    Forbidden: 403,
    Conflict: 409,
    InvalidDefinition: 422,
    WorkflowFailed: 422,
    NotReady: 503,
    DeliveryFailed: 502,  # a mail server or gateway failed us: not the caller's fault
    PetiflowError: 400,
}

#: All a client learns of an unexpected exception.
GENERIC_500_MESSAGE = "An unexpected error occurred on the server. It has been logged."

#: The message of a request that failed marshmallow/webargs validation.
VALIDATION_MESSAGE = "The request is not valid: see errors for what is wrong with each field."


class ErrorSchema(ma.Schema):
    """The JSON body of every error response (flask-smorest's Error schema plus `error`)."""

    code = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = ma.fields.String(required=True, metadata={"description": "HTTP reason phrase"})
    error = ma.fields.String(
        required=True, metadata={"description": "Machine-readable error code, e.g. not_found"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong"})
    errors = ma.fields.Dict(
        required=True, metadata={"description": "Errors by field and location, or details"})


def error_body(status: int, error: str, message: str, errors: dict | None = None) -> dict:
    """The error shape, as a dict ready to be sent as JSON."""
    return {
        "code": status,
        "status": HTTP_STATUS_CODES.get(status, "Unknown Error"),
        "error": error,
        "message": message,
        "errors": errors or {},
    }


def status_for(error: PetiflowError) -> int:
    """The HTTP status of an engine error, from STATUS_BY_ERROR."""
    return next(STATUS_BY_ERROR[cls] for cls in type(error).__mro__ if cls in STATUS_BY_ERROR)


def handle_petiflow_error(error: PetiflowError):
    """Render an engine error with the status the table gives it."""
    status = status_for(error)
    return error_body(status, error.code, error.message, error.details), status


def handle_http_exception(error: HTTPException):
    """Render a werkzeug/flask-smorest HTTP error, keeping its headers (405's Allow)."""
    data = getattr(error, "data", None) or {}  # set by flask-smorest's (webargs') abort()
    if isinstance(getattr(error, "exc", None), ma.ValidationError):
        code, message = InvalidInput.code, VALIDATION_MESSAGE
    else:
        code, message = _machine_code(error.name), error.description or error.name
    body = error_body(error.code, code, data.get("message", message),
                      data.get("errors") or data.get("messages"))
    # flask-smorest keeps only abort(headers=...), dropping Allow and WWW-Authenticate.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    headers.extend((data.get("headers") or {}).items())
    return body, error.code, headers


#: Where create_app keeps the largest attachment, in bytes, for the message of a body refused as too large.
MAX_ATTACHMENT_KEY = "PETIFLOW_MAX_ATTACHMENT_BYTES"


def handle_body_too_large(error: RequestEntityTooLarge):
    """A body past MAX_CONTENT_LENGTH, refused before it is read: the same 413 as a file past its limit."""
    limit = current_app.config.get(MAX_ATTACHMENT_KEY) or 0
    message = f"the request is larger than petiflow accepts: an attachment may be at most {limit / 2**20:g} MiB"
    return error_body(413, TooLarge.code, message, {"fields": {"file": [f"at most {limit / 2**20:g} MiB"]}}), 413


def handle_unexpected_error(error: Exception):
    """Log an exception nobody handled and answer a 500 that reveals nothing of it."""
    log.exception("Unhandled exception on %s %s", request.method, request.path, exc_info=error)
    return error_body(500, "internal_server_error", GENERIC_500_MESSAGE), 500


def handle_database_error(error: DatabaseError):
    """A lost or refused database connection is an outage (503, retry), not a bug; others are 500s."""
    if is_outage(error):
        log.warning("Database unavailable on %s %s: %s", request.method, request.path, error)
        return error_body(503, NotReady.code, "The database is unavailable; try again shortly."), 503
    if is_schema_behind(error):
        log.error("The database schema is behind this version on %s %s (%s): run `petiflow db upgrade`",
                  request.method, request.path, str(error.orig).splitlines()[0])
        return error_body(503, NotReady.code, "The database is not ready: its schema is older than this "
                          "version of petiflow. An administrator must run `petiflow db upgrade`."), 503
    return handle_unexpected_error(error)


def register_error_handlers(app: Flask) -> None:
    """Send every error raised while handling a request through the one error shape."""
    app.register_error_handler(PetiflowError, handle_petiflow_error)
    app.register_error_handler(DatabaseError, handle_database_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(RequestEntityTooLarge, handle_body_too_large)
    app.register_error_handler(Exception, handle_unexpected_error)


def _machine_code(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
