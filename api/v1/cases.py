"""Cases: staff intake from any channel, and a case's page by id or number."""
from __future__ import annotations

import marshmallow as ma

from engine.queries.case_search import STATUSES, CaseSearch, search_cases
from engine.services.case_views import ViewCase, view_case
from engine.services.cases import StartCase, start_case

from .. import auth
from ..units import read, run
from .common import SIGNED_IN, Blueprint
from .fast_json import as_json

PATH = "/cases"

blp = Blueprint("cases", __name__, description="Cases: intake, and what a case's page shows.")

_code = ma.validate.Length(min=1, max=64)


class PetitionerSchema(ma.Schema):
    """Who filed the case and how to reach them (personal data)."""

    name = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))
    id_number = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=20))
    phone = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=50))
    email = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=320))
    address = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=500))


class IntakeSchema(ma.Schema):
    """A case taken in by staff: a petition, a 1999 call, a street report, a council item, a site inspection."""

    case_type = ma.fields.String(required=True, validate=_code, metadata={
        "description": "petition, dispatch, hotline, council_item or site_inspection (the process of that key)"})
    process_key = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    channel = ma.fields.String(validate=_code, metadata={"description": "web, hotline, letter, counter..."})
    category = ma.fields.String(validate=_code)
    district = ma.fields.String(validate=ma.validate.Length(min=1, max=32))
    subject = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))
    description = ma.fields.String(validate=ma.validate.Length(max=10000), metadata={
        "description": "What the petitioner wrote, in full"})
    agency_code = ma.fields.String(validate=_code, metadata={"description": "The agency, when already known"})
    confidential = ma.fields.Boolean(load_default=False, metadata={
        "description": "The petitioner asked that their identity be kept from the handling agency"})
    petitioner = ma.fields.Nested(PetitionerSchema, allow_none=True)
    data = ma.fields.Dict(keys=ma.fields.String(), load_default=dict, metadata={
        "description": "What the process reads at its start (its first form's fields)"})
    received_at = ma.fields.AwareDateTime(metadata={"description": "When it was received, if not now"})


class StartedSchema(ma.Schema):
    """The case opened: its number, and the work its workflow opened."""

    case_id = ma.fields.Integer(required=True)
    case_no = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    work_item_ids = ma.fields.List(ma.fields.Integer(), required=True)


class OpenWorkSchema(ma.Schema):
    work_item_id = ma.fields.Integer(required=True)
    task_spec = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    role = ma.fields.String(allow_none=True)
    agency_id = ma.fields.Integer(allow_none=True)
    agency_name = ma.fields.String(allow_none=True)
    assignee = ma.fields.String(allow_none=True)
    due_at = ma.fields.DateTime(allow_none=True)
    escalation_level = ma.fields.Integer(required=True)


class TimerSchema(ma.Schema):
    timer_id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    due_at = ma.fields.DateTime(required=True)
    work_item_id = ma.fields.Integer(allow_none=True)
    level = ma.fields.Integer(allow_none=True)


class EventSchema(ma.Schema):
    event_id = ma.fields.Integer(required=True)
    at = ma.fields.DateTime(required=True)
    kind = ma.fields.String(required=True)
    actor = ma.fields.String(allow_none=True, metadata={"description": "Who acted; null for the engine"})
    work_item_id = ma.fields.Integer(allow_none=True)
    data = ma.fields.Dict(allow_none=True)


class CaseRowSchema(ma.Schema):
    """A case as a list shows it (no personal data)."""

    case_id = ma.fields.Integer(required=True)
    case_no = ma.fields.String(required=True)
    case_type = ma.fields.String(required=True)
    channel = ma.fields.String(allow_none=True)
    category = ma.fields.String(allow_none=True)
    district = ma.fields.String(allow_none=True)
    subject = ma.fields.String(allow_none=True)
    status = ma.fields.String(required=True)
    confidential = ma.fields.Boolean(required=True)
    agency_id = ma.fields.Integer(allow_none=True)
    agency_name = ma.fields.String(allow_none=True)
    received_at = ma.fields.DateTime(required=True)
    due_at = ma.fields.DateTime(allow_none=True)
    closed_at = ma.fields.DateTime(allow_none=True)


class CaseSchema(CaseRowSchema):
    """A case's page: summary, petitioner (when I may see it), open work, pending deadlines, timeline."""

    description = ma.fields.String(allow_none=True)
    process_key = ma.fields.String(allow_none=True)
    process_version = ma.fields.Integer(allow_none=True)
    petitioner = ma.fields.Nested(PetitionerSchema, allow_none=True)
    petitioner_hidden = ma.fields.Boolean(required=True, metadata={
        "description": "The case has a petitioner I may not see"})
    open_work = ma.fields.List(ma.fields.Nested(OpenWorkSchema), required=True)
    pending_timers = ma.fields.List(ma.fields.Nested(TimerSchema), required=True)
    timeline = ma.fields.List(ma.fields.Nested(EventSchema), required=True)


class SearchArgs(ma.Schema):
    """What to look for; text is found anywhere in the subject and the description (two characters or more)."""

    text = ma.fields.String(validate=ma.validate.Length(min=1, max=100), metadata={"example": "路燈"})
    case_no = ma.fields.String(validate=ma.validate.Length(min=1, max=32))
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    received_from = ma.fields.AwareDateTime()
    received_until = ma.fields.AwareDateTime()
    category = ma.fields.String(validate=_code)
    district = ma.fields.String(validate=ma.validate.Length(min=1, max=32))
    agency_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**63 - 1))
    case_type = ma.fields.String(validate=_code)
    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


class CasePageSchema(ma.Schema):
    rows = ma.fields.List(ma.fields.Nested(CaseRowSchema), required=True)
    next_cursor = ma.fields.String(allow_none=True)


@blp.route("", methods=["GET"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(SearchArgs, location="query", as_kwargs=True)
@blp.response(200, CasePageSchema)
def search(cursor, limit, **criteria):
    """The cases I may see, newest first, by number, status, dates, category, district, agency, type and
    text (Chinese words are found without spaces: 路燈 finds 這盞路燈不亮)."""
    return as_json(read(search_cases, auth.principal(), CaseSearch(**criteria), cursor=cursor, limit=limit))


@blp.route("", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(IntakeSchema)
@blp.response(201, StartedSchema)
def take_in(body):
    """Open a case: it is routed and given its due time by its workflow and the deadline rules."""
    started = run(start_case, StartCase(principal=auth.principal(), **body), one_step=True)
    return {"case_id": started.case_id, "case_no": started.case_no, "status": started.status,
            "work_item_ids": started.work_item_ids}


@blp.route("/<id:case_id>")
@blp.doc(security=SIGNED_IN)
@blp.response(200, CaseSchema)
def case_by_id(case_id):
    """A case I may see (another agency's case is not found, exactly as one that does not exist).

    The petitioner is shown only to roles that need it for the case, and each showing is
    recorded for the auditors (who, when, which case, which fields)."""
    return as_json(run(view_case, ViewCase(auth.principal(), case_id=case_id, via="api")))


@blp.route("/by-number/<string:case_no>")
@blp.doc(security=SIGNED_IN)
@blp.response(200, CaseSchema)
def case_by_number(case_no):
    """A case by its number, such as P20261126000123 (the petitioner as for a case by id)."""
    return as_json(run(view_case, ViewCase(auth.principal(), case_no=case_no, via="api")))
