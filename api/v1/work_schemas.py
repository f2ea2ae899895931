"""The shapes of a work item's page and of the changes made to it (api/v1/work.py)."""
from __future__ import annotations

import marshmallow as ma


class DraftViewSchema(ma.Schema):
    data = ma.fields.Dict(required=True)
    saved_at = ma.fields.DateTime(required=True)


class WorkItemSchema(ma.Schema):
    """A work item with what working it needs; `version` is its ETag."""

    work_item_id = ma.fields.Integer(required=True)
    case_id = ma.fields.Integer(required=True)
    case_no = ma.fields.String(required=True)
    task_spec = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    role = ma.fields.String(allow_none=True)
    agency_id = ma.fields.Integer(allow_none=True)
    agency_name = ma.fields.String(allow_none=True)
    assignee_id = ma.fields.Integer(allow_none=True)
    assignee = ma.fields.String(allow_none=True)
    status = ma.fields.String(required=True)
    due_at = ma.fields.DateTime(allow_none=True)
    escalation_level = ma.fields.Integer(required=True)
    due_state = ma.fields.String(allow_none=True)
    version = ma.fields.Integer(required=True)
    form_key = ma.fields.String(allow_none=True)
    form = ma.fields.Dict(allow_none=True, metadata={"description": "The task form's JSON Schema"})
    subject = ma.fields.String(allow_none=True)
    category = ma.fields.String(allow_none=True)
    district = ma.fields.String(allow_none=True)
    case_due_at = ma.fields.DateTime(allow_none=True)
    task_data = ma.fields.Dict(required=True, metadata={"description": "What earlier steps decided"})
    draft = ma.fields.Nested(DraftViewSchema, allow_none=True)
    may_complete = ma.fields.Boolean(required=True)


class AssignmentSchema(ma.Schema):
    """Who holds the item now (null: its group), its new version, and whether anything changed."""

    work_item_id = ma.fields.Integer(required=True)
    assignee_id = ma.fields.Integer(allow_none=True)
    assignee = ma.fields.String(allow_none=True)
    version = ma.fields.Integer(required=True)
    changed = ma.fields.Boolean(required=True)


class AssignSchema(ma.Schema):
    assignee_id = ma.fields.Integer(required=True, allow_none=True,
                                    validate=ma.validate.Range(min=1, max=2**63 - 1),
                                    metadata={"description": "A person holding the item's role there; null: the group"})


class DraftSchema(ma.Schema):
    data = ma.fields.Dict(keys=ma.fields.String(), required=True)


class DraftSavedSchema(ma.Schema):
    work_item_id = ma.fields.Integer(required=True)
    saved_at = ma.fields.DateTime(required=True)
