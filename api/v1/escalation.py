"""The supervisor's escalation queue: overdue and at-risk work of the agencies I oversee."""
from __future__ import annotations

import marshmallow as ma

from engine.queries.escalation import escalation_queue
from engine.queries.lateness import AT_RISK_WORKING_DAYS
from engine.services.chasing import AcknowledgeEscalation, RemindNow, acknowledge_escalation, remind_now
from engine.services.work_items import AssignWorkItems, assign_work_items

from .. import auth
from ..units import read, run
from .common import SIGNED_IN, Blueprint
from .fast_json import as_json

PATH = "/escalation-queue"

blp = Blueprint("escalation", __name__, description="Overdue and at-risk work, by agency and escalation level.")


class QueueArgs(ma.Schema):
    """Which part of the queue."""

    agency_id = ma.fields.Integer(validate=ma.validate.Range(min=1))
    level = ma.fields.Integer(validate=ma.validate.Range(min=0, max=20))
    min_level = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=20))
    at_risk_days = ma.fields.Integer(
        load_default=AT_RISK_WORKING_DAYS, validate=ma.validate.Range(min=0, max=30), metadata={
            "description": "Work due within this many working days is at risk; by default the inbox's horizon, as "
                           "on the escalation page"})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=2000), metadata={
        "description": "How many items, most late first (the counts are over the whole queue)"})


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
    assignee = ma.fields.String(allow_none=True, metadata={"description": "Who holds it; null: open to the group"})
    since = ma.fields.DateTime(required=True, metadata={"description": "When the item opened"})
    state = ma.fields.String(required=True, metadata={"description": "overdue or at_risk"})
    working_days_late = ma.fields.Integer(required=True)


class QueueCountSchema(ma.Schema):
    agency_id = ma.fields.Integer(allow_none=True)
    agency_name = ma.fields.String(allow_none=True)
    level = ma.fields.Integer(required=True)
    state = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)


class UnitCountSchema(ma.Schema):
    unit_id = ma.fields.Integer(allow_none=True, metadata={"description": "null: cases placed in no unit"})
    unit_name = ma.fields.String(allow_none=True)
    level = ma.fields.Integer(required=True)
    state = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)


class QueueSchema(ma.Schema):
    """The queue's first items, most late first, and the counts over all of it."""

    as_of = ma.fields.DateTime(required=True)
    items = ma.fields.List(ma.fields.Nested(QueueItemSchema), required=True)
    counts = ma.fields.List(ma.fields.Nested(QueueCountSchema), required=True)
    unit_counts = ma.fields.List(ma.fields.Nested(UnitCountSchema), required=True, metadata={
        "description": "Per unit (科) of the cases, when the queue is one agency's (agency_id given, or the "
                       "reader oversees one agency); empty otherwise"})


@blp.route("")
@blp.doc(security=SIGNED_IN)
@blp.arguments(QueueArgs, location="query", as_kwargs=True)
@blp.response(200, QueueSchema)
def queue(**args):
    """Overdue and at-risk open work: the commission sees every agency, an agency head or section chief theirs."""
    return as_json(read(escalation_queue, auth.principal(), **args))


class RemindSchema(ma.Schema):
    """The items whose holders to remind now."""

    work_item_ids = ma.fields.List(ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**63 - 1)),
                                   required=True, validate=ma.validate.Length(min=1, max=200))


class RemindedSchema(ma.Schema):
    reminded = ma.fields.Integer(required=True, metadata={"description": "How many reminders were sent"})


class AcknowledgeSchema(ma.Schema):
    """What is being done about the late item."""

    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


@blp.route("/remind", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(RemindSchema)
@blp.response(200, RemindedSchema)
def remind(body):
    """Remind the holders of these items now (the assignee, or the group); all or none."""
    return {"reminded": run(remind_now, RemindNow(auth.principal(), tuple(body["work_item_ids"])))}


@blp.route("/<id:work_item_id>/acknowledge", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(AcknowledgeSchema)
@blp.response(204)
def acknowledge(body, work_item_id):
    """Acknowledge a late item with a note; it is kept in the case's history."""
    run(acknowledge_escalation, AcknowledgeEscalation(auth.principal(), work_item_id, body["note"]))


class ReassignSchema(ma.Schema):
    """Items to hand to one person (or, assignee_id null, back to their groups)."""

    work_item_ids = ma.fields.List(ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**63 - 1)),
                                   required=True, validate=ma.validate.Length(min=1, max=200))
    assignee_id = ma.fields.Integer(required=True, allow_none=True, validate=ma.validate.Range(min=1, max=2**63 - 1))


class ReassignedSchema(ma.Schema):
    work_item_ids = ma.fields.List(ma.fields.Integer(), required=True, metadata={"description": "The items now held"})


@blp.route("/reassign", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(ReassignSchema)
@blp.response(200, ReassignedSchema)
def reassign(body):
    """Reassign one or many items at once, all or none: each failing item is named."""
    done = run(assign_work_items, AssignWorkItems(tuple(body["work_item_ids"]), auth.principal(), body["assignee_id"]))
    return {"work_item_ids": [d.work_item_id for d in done]}
