"""Working an item: complete it with its form's data, at the version of the case I read."""
from __future__ import annotations

import re

import marshmallow as ma
from flask import request

from engine.errors import InvalidInput
from engine.queries.work_item import work_item_view
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.services.work_items import (
    AssignWorkItem,
    ClaimWorkItem,
    DiscardDraft,
    SaveDraft,
    UnclaimWorkItem,
    assign_work_item,
    claim_work_item,
    discard_draft,
    save_draft,
    unclaim_work_item,
)

from .. import auth
from ..units import read, run
from .common import SIGNED_IN, Blueprint
from .work_schemas import AssignmentSchema, AssignSchema, DraftSavedSchema, DraftSchema, WorkItemSchema

PATH = "/work-items"

blp = Blueprint("work", __name__, description="Work items: their forms, claiming, drafts and completion.")

#: An entity tag as petiflow sends it: the case's version, quoted (weak tags accepted).
_ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,18})"\s*$')


#: Documents the If-Match header of a change to a work item.
IF_MATCH = {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
            "description": 'The work item\'s ETag as read (such as "3"): change it only if nobody else has since'}


class CompleteSchema(ma.Schema):
    """The form's data; `version` (or the If-Match header) makes the completion conditional."""

    data = ma.fields.Dict(keys=ma.fields.String(), required=True, metadata={
        "description": "The fields of the task's form, checked against its JSON Schema"})
    version = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1), metadata={
        "description": "The work item's version as read (its ETag); a stale one gets 409"})


class CompletedSchema(ma.Schema):
    """The item done, the case's workflow after it, and the items it opened and closed."""

    work_item_id = ma.fields.Integer(required=True)
    case_id = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, metadata={"description": "The workflow's status: waiting, completed..."})
    version = ma.fields.Integer(required=True, metadata={"description": "The case's version now"})
    opened = ma.fields.List(ma.fields.Integer(), required=True, metadata={"description": "Work item ids opened"})
    cancelled = ma.fields.List(ma.fields.Integer(), required=True, metadata={"description": "Work item ids cancelled"})


def expected_version(body_version: int | None) -> int | None:
    """The version a change is conditional on: If-Match or the body's, which must agree."""
    header = request.headers.get("If-Match")
    if header is None:
        return body_version
    match = _ETAG.match(header)
    if match is None:
        raise InvalidInput('If-Match must be the ETag the work item was read with, such as "7"',
                           details={"headers": {"If-Match": ["not an ETag of petiflow"]}})
    version = int(match.group(1))
    if version > 2**31 - 1:
        raise InvalidInput("If-Match names no version petiflow gave", details={"headers": {"If-Match": ["too large"]}})
    if body_version is not None and body_version != version:
        raise InvalidInput("If-Match and version disagree", details={"fields": {"version": ["differs from If-Match"]}})
    return version


@blp.route("/<id:work_item_id>")
@blp.doc(security=SIGNED_IN)
@blp.response(200, WorkItemSchema, headers={"ETag": {"description": "The item's version", "schema": {"type": "string"}}})
def get_item(work_item_id):
    """A work item's page: the item, its form (JSON Schema), the case data it shows, my draft."""
    view = read(work_item_view, auth.principal(), work_item_id)
    return view, {"ETag": f'"{view.version}"'}


def _assignment(done):
    return {"work_item_id": done.work_item_id, "assignee_id": done.assignee_id, "assignee": done.assignee,
            "version": done.version, "changed": done.changed}, {"ETag": f'"{done.version}"'}


@blp.route("/<id:work_item_id>/claim", methods=["POST"])
@blp.doc(security=SIGNED_IN, parameters=[IF_MATCH])
@blp.response(200, AssignmentSchema)
@blp.alt_response(409, response="DEFAULT_ERROR", description="Someone else holds it, or it changed since read")
def claim(work_item_id):
    """Take the item from my group's work: it is mine until I give it back or complete it."""
    return _assignment(run(claim_work_item, ClaimWorkItem(work_item_id, auth.principal(), expected_version(None))))


@blp.route("/<id:work_item_id>/unclaim", methods=["POST"])
@blp.doc(security=SIGNED_IN, parameters=[IF_MATCH])
@blp.response(200, AssignmentSchema)
def unclaim(work_item_id):
    """Give the item back to the group (its holder, or a section chief of its agency)."""
    return _assignment(run(unclaim_work_item, UnclaimWorkItem(work_item_id, auth.principal(),
                                                              expected_version(None))))


@blp.route("/<id:work_item_id>/assign", methods=["POST"])
@blp.doc(security=SIGNED_IN, parameters=[IF_MATCH])
@blp.arguments(AssignSchema)
@blp.response(200, AssignmentSchema)
def assign(body, work_item_id):
    """Assign the item to a person who holds its role in its agency, or (null) back to the group:
    section chiefs and agency heads of the item's agency."""
    return _assignment(run(assign_work_item, AssignWorkItem(work_item_id, auth.principal(), body["assignee_id"],
                                                            expected_version(None))))


@blp.route("/<id:work_item_id>/draft", methods=["PUT"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(DraftSchema)
@blp.response(200, DraftSavedSchema)
def put_draft(body, work_item_id):
    """Keep my unfinished form data (any JSON object up to 64 KiB); it goes when the item closes."""
    return run(save_draft, SaveDraft(work_item_id, auth.principal(), body["data"]))


@blp.route("/<id:work_item_id>/draft", methods=["DELETE"])
@blp.doc(security=SIGNED_IN)
@blp.response(204)
def delete_draft(work_item_id):
    """Throw my draft away (nothing happens when I have none)."""
    run(discard_draft, DiscardDraft(work_item_id, auth.principal()))


@blp.route("/<id:work_item_id>/complete", methods=["POST"])
@blp.doc(security=SIGNED_IN, parameters=[IF_MATCH])
@blp.arguments(CompleteSchema)
@blp.response(200, CompletedSchema)
@blp.alt_response(409, response="DEFAULT_ERROR", description="Already completed, or the case changed since it was read")
@blp.alt_response(422, response="DEFAULT_ERROR", description="The form's data fails its schema: every field's errors")
def complete(body, work_item_id):
    """Complete the item with its form's data; the workflow runs on to its next wait."""
    done = run(complete_work_item, CompleteWorkItem(work_item_id, body["data"], auth.principal(),
                                                    expected_item_version=expected_version(body.get("version"))),
               one_step=True)
    return {"work_item_id": done.work_item_id, "case_id": done.case_id, "status": done.status,
            "version": done.version, "opened": done.opened, "cancelled": done.cancelled}
