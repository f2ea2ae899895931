"""The supervisor's escalation queue: overdue and at-risk work of the agencies I oversee."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from engine.queries.escalation import escalation_queue

from .. import auth
from ..units import read
from .common import SIGNED_IN

PATH = "/escalation-queue"

blp = Blueprint("escalation", __name__, description="Overdue and at-risk work, by agency and escalation level.")


class QueueArgs(ma.Schema):
    """Which part of the queue."""

    agency_id = ma.fields.Integer(validate=ma.validate.Range(min=1))
    level = ma.fields.Integer(validate=ma.validate.Range(min=0, max=20))
    min_level = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=20))
    at_risk_days = ma.fields.Integer(load_default=2, validate=ma.validate.Range(min=0, max=30))
    limit = ma.fields.Integer(load_default=500, validate=ma.validate.Range(min=1, max=2000))


class QueueItemSchema(ma.Schema):
    work_item_id = ma.fields.Integer(required=True)
    case_id = ma.fields.Integer(required=True)
    case_no = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    role = ma.fields.String(allow_none=True)
    agency_id = ma.fields.Integer(allow_none=True)
    agency_name = ma.fields.String(allow_none=True)
    due_at = ma.fields.DateTime(required=True)
    escalation_level = ma.fields.Integer(required=True)
    state = ma.fields.String(required=True, metadata={"description": "overdue or at_risk"})
    working_days_late = ma.fields.Integer(required=True)


class QueueCountSchema(ma.Schema):
    agency_id = ma.fields.Integer(allow_none=True)
    agency_name = ma.fields.String(allow_none=True)
    level = ma.fields.Integer(required=True)
    state = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)


class QueueSchema(ma.Schema):
    """The queue's first items, most late first, and the counts over all of it."""

    as_of = ma.fields.DateTime(required=True)
    items = ma.fields.List(ma.fields.Nested(QueueItemSchema), required=True)
    counts = ma.fields.List(ma.fields.Nested(QueueCountSchema), required=True)


@blp.route("")
@blp.doc(security=SIGNED_IN)
@blp.arguments(QueueArgs, location="query", as_kwargs=True)
@blp.response(200, QueueSchema)
def queue(**args):
    """Overdue and at-risk open work: the commission sees every agency, an agency head or section chief theirs."""
    return read(escalation_queue, auth.principal(), **args)
