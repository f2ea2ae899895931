"""Liveness and readiness probes for load balancers and orchestrators."""
from __future__ import annotations

import functools
import logging

import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from engine.store import migrate
from engine.errors import NotReady
from handlers.broker import ping
from handlers.error_text import summary
from handlers.outage import broker_address

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
    checks, problems, revision = {}, [], None
    try:
        with runtime.db.connect() as conn:
            conn.execution_options(read_only=True).execute(text("SELECT 1"))
        revision = migrate.current_revision(runtime.db)
    except SQLAlchemyError as exc:
        log.warning("Readiness check: database unreachable: %s", exc)
        checks["database"] = "unreachable"
        problems.append(f"Database unreachable ({type(exc).__name__}); see the server log.")
    else:
        checks["database"], expected = "ok", _head_revision()
        if revision == expected:
            checks["migrations"] = "current"
        else:
            checks.update(migrations="behind", revision=revision, expected=expected)
            problems.append(f"Migrations behind: database at revision {revision or 'none'}, code expects "
                            f"{expected}: run `petiflow db upgrade`.")
    if runtime.settings.redis_url:
        checks["broker"] = _broker_check(runtime.settings.redis_url, problems)
    failed = [name for name, good in (("database", "ok"), ("migrations", "current"), ("broker", "ok"))
              if name in checks and checks[name] != good]
    if failed:
        raise NotReady(" ".join(problems), details={"failed": failed, **checks})
    return {"status": "ready", **checks, "revision": revision}


def _broker_check(url: str, problems: list[str]) -> str:
    """"ok" when the Redis broker answers a PING in time, else "unreachable" (noting why in problems)."""
    try:
        ping(url)
    except Exception as exc:  # noqa: BLE001 - refused, timed out, a wrong password: not ready, whatever it is
        log.warning("Readiness check: the message broker at %s is unreachable: %s", broker_address(url), summary(exc))
        problems.append(f"Message broker unreachable ({type(exc).__name__}); see the server log.")
        return "unreachable"
    return "ok"
