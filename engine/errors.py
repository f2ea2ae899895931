"""The one error hierarchy of petiflow; api/ maps each class to an HTTP status."""
from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError, OperationalError


class PetiflowError(Exception):
    """Base of every error petiflow raises on purpose."""

    #: A stable machine-readable code for the JSON error shape.
    code = "error"

    def __init__(self, message: str, *, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(PetiflowError):
    """Raised when submitted data is malformed or fails validation."""

    code = "invalid_input"


class InvalidForm(InvalidInput):
    """Raised when the data of a task's form fails its JSON Schema; details list every field's errors."""

    code = "invalid_form"


class TooLarge(InvalidInput):
    """Raised when an upload is larger than petiflow accepts (an attachment past its size limit)."""

    code = "too_large"


class NotFound(PetiflowError):
    """Raised when a case, work item, definition or other record does not exist."""

    code = "not_found"


class NotAuthenticated(PetiflowError):
    """Raised when a sign-in fails; it never says whether the account exists."""

    code = "not_authenticated"


class Forbidden(PetiflowError):
    """Raised when the caller may not do what they asked on this record."""

    code = "forbidden"


class Conflict(PetiflowError):
    """Raised when the record changed since the caller read it, or is no longer open."""

    code = "conflict"


class StaleStep(Conflict):
    """A workflow step was about to be saved over a version someone else saved meanwhile; nothing was written."""

    def __init__(self, message: str = "the case was changed by someone else meanwhile; reload and try again", **kw):
        super().__init__(message, **kw)


class MigrationRefused(Conflict):
    """A running case cannot move to another version of its process now; details["reasons"] say why."""

    code = "migration_refused"


class InvalidDefinition(PetiflowError):
    """Raised when a BPMN/DMN bundle fails to parse or validate; details name file, line, element."""

    code = "invalid_definition"

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 element_id: str | None = None, details: dict | None = None):
        where = ", ".join(p for p in (
            file, f"line {line}" if line else None, f"element {element_id!r}" if element_id else None) if p)
        super().__init__(f"{where}: {message}" if where else message, details=details)
        self.file, self.line, self.element_id = file, line, element_id
        self.details.update({"file": file, "line": line, "element_id": element_id})


class WorkflowFailed(PetiflowError):
    """Raised when running a workflow step fails (a script error, an unroutable gateway)."""

    code = "workflow_failed"


class ActionFailed(WorkflowFailed):
    """Raised when a service task names an unknown engine action or its action refuses the call."""

    code = "action_failed"


class DeliveryFailed(PetiflowError):
    """Raised when a notification could not be delivered this time (it is retried)."""

    code = "delivery_failed"


class DeliveryRejected(DeliveryFailed):
    """Raised when a notification can never be delivered as it is (a bad address, a 4xx answer)."""

    code = "delivery_rejected"


class NotReady(PetiflowError):
    """Raised when the service needed is not available (database down, migrations behind)."""

    code = "not_ready"


# --- telling a database outage from a fault ----------------------------------------------------

#: Raised by the database driver when a statement fails: an outage (is_outage), a schema that is
#: behind (is_schema_behind), or a fault. The web app maps it to a 503 or a 500.
DatabaseError = DBAPIError

#: SQLite errors that mean the file cannot be used right now; its other operational errors
#: ("no such column": code newer than the schema) are faults to be seen, not waited out.
_SQLITE_OUTAGES = ("locked", "unable to open", "disk i/o error", "disk is full", "readonly database")


def is_outage(exc: BaseException) -> bool:
    """True when exc means the database cannot be reached right now (retry later), not a bug."""
    if isinstance(exc, NotReady):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    if isinstance(exc.orig, sqlite3.Error):
        message = str(exc.orig).lower()
        return any(sign in message for sign in _SQLITE_OUTAGES)
    return True  # PostgreSQL: a refused, lost or shut-down connection, a cancelled statement


#: PostgreSQL's codes for a table or column that does not exist (undefined_table, undefined_column).
_PG_MISSING = ("42P01", "42703")


def is_schema_behind(exc: BaseException) -> bool:
    """True when exc says a table or column is missing: the database needs `petiflow db upgrade`."""
    if not isinstance(exc, DBAPIError):
        return False
    if isinstance(exc.orig, sqlite3.OperationalError):
        return str(exc.orig).startswith(("no such table", "no such column"))
    return getattr(exc.orig, "sqlstate", None) in _PG_MISSING
