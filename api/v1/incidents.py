"""Incidents of failed timers and deliveries: listed, retried or resolved by those who chase late work."""
from __future__ import annotations

import marshmallow as ma

from engine.queries.incidents import STATUSES, incidents_for
from engine.services.incidents import ResolveIncident, RetryIncident, resolve_incident, retry_incident

from .. import auth
from ..units import read, run
from .common import SIGNED_IN, Blueprint

PATH = "/incidents"

blp = Blueprint("incidents", __name__, description="Failed timers and deliveries, kept until retried or resolved.")


class IncidentArgs(ma.Schema):
    """Which incidents to list."""

    status = ma.fields.String(load_default="open", validate=ma.validate.OneOf(STATUSES))
    kind = ma.fields.String(validate=ma.validate.Length(min=1, max=32))
    case_id = ma.fields.Integer(validate=ma.validate.Range(min=1))
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=500))


class IncidentSchema(ma.Schema):
    """What failed, how often, and what became of it."""

    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "timer_failed or notification_failed"})
    subject_table = ma.fields.String(required=True)
    subject_id = ma.fields.Integer(required=True)
    case_id = ma.fields.Integer(allow_none=True)
    message = ma.fields.String(required=True)
    attempts = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    resolved_at = ma.fields.DateTime(allow_none=True)
    resolved_by = ma.fields.String(allow_none=True)
    resolution = ma.fields.String(allow_none=True)


class ResolveSchema(ma.Schema):
    """How the incident was handled by hand."""

    resolution = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


@blp.route("")
@blp.doc(security=SIGNED_IN)
@blp.arguments(IncidentArgs, location="query", as_kwargs=True)
@blp.response(200, IncidentSchema(many=True))
def list_incidents(**args):
    """The incidents of the cases whose escalation queue I read, oldest first."""
    return read(incidents_for, auth.principal(), **args)


@blp.route("/<id:incident_id>/retry", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.response(200, IncidentSchema)
@blp.alt_response(409, response="DEFAULT_ERROR", description="The incident is closed, or its row no longer failed")
def retry(incident_id):
    """Retry: the failed timer or delivery becomes pending again and the workers take it up."""
    principal = auth.principal()
    return run(retry_incident, RetryIncident(incident_id, principal.username, principal))


@blp.route("/<id:incident_id>/resolve", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(ResolveSchema)
@blp.response(200, IncidentSchema)
def resolve(body, incident_id):
    """Resolve by hand, saying how; the failed row is left as it is."""
    principal = auth.principal()
    return run(resolve_incident, ResolveIncident(incident_id, principal.username, body["resolution"], principal))
