"""My work: the inbox's views, filters and pages, and the counts on its badges."""
from __future__ import annotations

import marshmallow as ma

from engine.queries.badges import inbox_counts
from engine.queries.inbox import inbox
from engine.queries.inbox_scope import STATUSES, VIEWS, InboxFilter

from .. import auth
from ..units import read
from .common import SIGNED_IN, Blueprint, PageArgs
from .fast_json import as_json

PATH = "/inbox"

blp = Blueprint("inbox", __name__, description="My work: items assigned to me, open to my groups, or supervised.")

_code = ma.validate.Length(min=1, max=100)


class FilterArgs(ma.Schema):
    """What to narrow the inbox to; overdue, due_today and at_risk together keep items in any of them."""

    case_type = ma.fields.String(validate=_code)
    process_key = ma.fields.String(validate=_code)
    task_spec = ma.fields.String(validate=_code)
    category = ma.fields.String(validate=_code)
    district = ma.fields.String(validate=_code)
    due_before = ma.fields.AwareDateTime(metadata={"description": "ISO 8601 with its UTC offset"})
    overdue = ma.fields.Boolean(load_default=False)
    due_today = ma.fields.Boolean(load_default=False)
    at_risk = ma.fields.Boolean(load_default=False)


class InboxArgs(FilterArgs, PageArgs):
    """A view of the inbox, its filters and a page."""

    view = ma.fields.String(load_default="inbox", validate=ma.validate.OneOf(VIEWS), metadata={
        "description": "inbox: mine and my groups'; mine; groups: unassigned work of my roles; "
                       "supervised: all open work of the agencies I supervise"})
    status = ma.fields.String(load_default="open", validate=ma.validate.OneOf(STATUSES), metadata={
        "description": "completed lists the work I completed (view mine only)"})


class InboxItemSchema(ma.Schema):
    """A work item as an inbox row shows it (no personal data)."""

    work_item_id = ma.fields.Integer(required=True)
    case_id = ma.fields.Integer(required=True)
    case_no = ma.fields.String(required=True)
    case_type = ma.fields.String(required=True)
    category = ma.fields.String(allow_none=True)
    district = ma.fields.String(allow_none=True)
    subject = ma.fields.String(allow_none=True)
    process_key = ma.fields.String(required=True)
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
    due_state = ma.fields.String(allow_none=True, metadata={"description": "overdue, due_today, at_risk or on_time"})


class InboxPageSchema(ma.Schema):
    """A page of the inbox in due order (no due time last), and the cursor of the next (null: the last)."""

    as_of = ma.fields.DateTime(required=True)
    items = ma.fields.List(ma.fields.Nested(InboxItemSchema), required=True)
    next_cursor = ma.fields.String(allow_none=True)


class CountsSchema(ma.Schema):
    """The badge counts: each is the length of the list the inbox would show."""

    as_of = ma.fields.DateTime(required=True)
    assigned_to_me = ma.fields.Integer(required=True)
    open_to_my_groups = ma.fields.Integer(required=True)
    overdue = ma.fields.Integer(required=True)
    due_today = ma.fields.Integer(required=True)
    at_risk = ma.fields.Integer(required=True)
    supervised = ma.fields.Integer(allow_none=True, metadata={"description": "null when I supervise no agency"})


def _filter(args: dict, status: str = "open") -> InboxFilter:
    names = ("case_type", "process_key", "task_spec", "category", "district", "due_before",
             "overdue", "due_today", "at_risk")
    return InboxFilter(status=status, **{name: args[name] for name in names if name in args})


@blp.route("")
@blp.doc(security=SIGNED_IN)
@blp.arguments(InboxArgs, location="query", as_kwargs=True)
@blp.response(200, InboxPageSchema)
def list_inbox(view, status, cursor, limit, **filters):
    """A page of my inbox, the soonest due first."""
    return as_json(read(inbox, auth.principal(), view=view, filters=_filter(filters, status), cursor=cursor,
                        limit=limit))


@blp.route("/counts")
@blp.doc(security=SIGNED_IN)
@blp.arguments(FilterArgs, location="query", as_kwargs=True)
@blp.response(200, CountsSchema)
def counts(**filters):
    """The counts on my inbox's badges, under the same filters as the list."""
    return read(inbox_counts, auth.principal(), _filter(filters))
