"""Working an item: complete it with its form's data, at the version of the case I read."""
from __future__ import annotations

import re

import marshmallow as ma
from flask import request
from flask_smorest import Blueprint

from engine.errors import InvalidInput
from engine.services.work import CompleteWorkItem, complete_work_item

from .. import auth
from ..units import run
from .common import SIGNED_IN

PATH = "/work-items"

blp = Blueprint("work", __name__, description="Work items: their forms, claiming, drafts and completion.")

#: An entity tag as petiflow sends it: the case's version, quoted (weak tags accepted).
_ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,18})"\s*$')


class CompleteSchema(ma.Schema):
    """The form's data; `version` (or the If-Match header) makes the completion conditional."""

    data = ma.fields.Dict(keys=ma.fields.String(), required=True, metadata={
        "description": "The fields of the task's form, checked against its JSON Schema"})
    version = ma.fields.Integer(validate=ma.validate.Range(min=1), metadata={
        "description": "The case's version as read (the work item's ETag); a stale one gets 409"})


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
    if body_version is not None and body_version != version:
        raise InvalidInput("If-Match and version disagree", details={"fields": {"version": ["differs from If-Match"]}})
    return version


@blp.route("/<id:work_item_id>/complete", methods=["POST"])
@blp.doc(security=SIGNED_IN, parameters=[{"in": "header", "name": "If-Match", "required": False,
                                          "schema": {"type": "string"},
                                          "description": "The work item's ETag: complete only if the case is unchanged"}])
@blp.arguments(CompleteSchema)
@blp.response(200, CompletedSchema)
@blp.alt_response(409, response="DEFAULT_ERROR", description="Already completed, or the case changed since it was read")
@blp.alt_response(422, response="DEFAULT_ERROR", description="The form's data fails its schema: every field's errors")
def complete(body, work_item_id):
    """Complete the item with its form's data; the workflow runs on to its next wait."""
    done = run(complete_work_item, CompleteWorkItem(work_item_id, body["data"], auth.principal(),
                                                    expected_version(body.get("version"))), one_step=True)
    return {"work_item_id": done.work_item_id, "case_id": done.case_id, "status": done.status,
            "version": done.version, "opened": done.opened, "cancelled": done.cancelled}
