"""Liveness and readiness probes for load balancers and orchestrators."""
from __future__ import annotations

import functools
import logging

import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from engine import migrate
from engine.errors import NotReady

from .app import get_runtime

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__, description="Liveness and readiness probes.")

# The code's migration head cannot change while the process runs; reading the
# migration scripts on every probe would cost more than the probe itself.
_head_revision = functools.cache(migrate.head_revision)


class HealthSchema(ma.Schema):
    """The process is up."""

    status = ma.fields.String(required=True, metadata={"example": "ok"})


class ReadySchema(ma.Schema):
    """The process can serve requests: database reachable, schema migrated."""

    status = ma.fields.String(required=True, metadata={"example": "ready"})
    database = ma.fields.String(required=True, metadata={"example": "ok"})
    migrations = ma.fields.String(required=True, metadata={"example": "current"})
    revision = ma.fields.String(required=True, metadata={"description": "Alembic revision"})


@blp.route("/health")
@blp.response(200, HealthSchema)
def health():
    """Liveness: answers whenever the process runs, without touching the database."""
    return {"status": "ok"}


@blp.route("/ready")
@blp.response(200, ReadySchema)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def ready():
    """Readiness: the database answers and its schema is at the code's migration head."""
    db = get_runtime().db
    try:
        with db.connect() as conn:
            conn.execution_options(read_only=True).execute(text("SELECT 1"))
        revision = migrate.current_revision(db)
    except SQLAlchemyError as exc:
        log.warning("Readiness check: database unreachable: %s", exc)
        raise NotReady(f"Database unreachable ({type(exc).__name__}); see the server log.",
                       details={"database": "unreachable"}) from exc
    expected = _head_revision()
    if revision != expected:
        raise NotReady(
            f"Migrations behind: database at revision {revision or 'none'}, code expects "
            f"{expected}: run `petiflow db upgrade`.",
            details={"database": "ok", "migrations": "behind", "revision": revision,
                     "expected": expected})
    return {"status": "ready", "database": "ok", "migrations": "current", "revision": revision}
