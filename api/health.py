"""Liveness and readiness probes for load balancers and orchestrators."""
from __future__ import annotations

import logging

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from engine.errors import NotReady
from engine.services.database import database_state

from .app import BROKER_CHECK, get_runtime

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__, description="Liveness and readiness probes.")

class HealthSchema(ma.Schema):
    """The process is up."""

    status = ma.fields.String(required=True, metadata={"example": "ok"})


class ReadySchema(ma.Schema):
    """The process can serve requests: database reachable, schema migrated, broker answering."""

    status = ma.fields.String(required=True, metadata={"example": "ready"})
    database = ma.fields.String(required=True, metadata={"example": "ok"})
    migrations = ma.fields.String(required=True, metadata={"example": "current"})
    broker = ma.fields.String(metadata={
        "example": "ok", "description": "Scaled mode only (REDIS_URL set): the Redis broker answers a PING"})
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
    """Readiness: the database answers, its schema is at the code's migration head, and in
    scaled mode the Redis broker answers a PING within a second.

    A 503 names every check that failed: `errors.failed` lists them (database, migrations,
    broker) beside the state of each check.
    """
    runtime = get_runtime()
    checks, problems = {}, []
    state = database_state(runtime)
    revision = state.revision
    if not state.reachable:
        log.warning("Readiness check: database unreachable: %s", state.error)
        checks["database"] = "unreachable"
        problems.append(f"Database unreachable ({state.error}); see the server log.")
    else:
        checks["database"], expected = "ok", state.head
        if revision == expected:
            checks["migrations"] = "current"
        else:
            checks.update(migrations="behind", revision=revision, expected=expected)
            problems.append(f"Migrations behind: database at revision {revision or 'none'}, code expects "
                            f"{expected}: run `petiflow db upgrade`.")
    broker_check = current_app.extensions.get(BROKER_CHECK)
    if runtime.settings.redis_url and broker_check is not None:
        problem = broker_check(runtime.settings.redis_url)
        checks["broker"] = "ok" if problem is None else "unreachable"
        if problem is not None:
            problems.append(problem)
    failed = [name for name, good in (("database", "ok"), ("migrations", "current"), ("broker", "ok"))
              if name in checks and checks[name] != good]
    if failed:
        raise NotReady(" ".join(problems), details={"failed": failed, **checks})
    return {"status": "ready", **checks, "revision": revision}
