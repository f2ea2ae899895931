"""Tracked items (列管): register, plan, report progress, visit, release or cancel; the agenda and the counts."""
from __future__ import annotations

from datetime import date

import marshmallow as ma

from engine.queries.tracked_items import list_tracked_items, meeting_agenda, tracked_item, tracked_item_counts
from engine.services.tracked_items import (
    DecideClosure,
    RecordSiteVisit,
    RegisterTrackedItem,
    ReportProgress,
    ReviewPlan,
    SubmitPlan,
    cancel_tracked_item,
    decide_closure,
    record_site_visit,
    register_tracked_item,
    release_tracked_item,
    report_progress,
    review_plan,
    submit_plan,
)

from .. import auth
from ..units import read, run
from .common import SIGNED_IN, Blueprint

PATH = "/tracked-items"

blp = Blueprint("tracked_items", __name__,
                description="Tracked items (列管): major projects, the mayor's policies, meeting assignments, "
                            "project-manager items, township support plans, commissioned studies, low-use buildings.")

KINDS = ("major_project", "mayor_policy", "county_meeting", "project_manager", "township_support",
         "commissioned_study", "low_use_building")
STATUSES = ("planning", "tracking", "released", "cancelled")
_MONTH = ma.validate.Regexp(r"^2[01][0-9]{2}-(0[1-9]|1[0-2])$", error="a month as YYYY-MM, from 2000 to 2199")
_PERCENT = ma.validate.Range(min=0, max=100)
_ID = ma.validate.Range(min=1, max=2**63 - 1)


class TrackedListArgs(ma.Schema):
    kind = ma.fields.String(validate=ma.validate.OneOf(KINDS))
    agency_code = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=500))


class TrackedSummarySchema(ma.Schema):
    """A tracked item and its latest report (percentages)."""

    case_id = ma.fields.Integer(required=True)
    case_no = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    agency_code = ma.fields.String(required=True)
    agency_name = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"description": "planning, tracking, released or cancelled"})
    plan_status = ma.fields.String(required=True, metadata={"description": "none, proposed or approved"})
    cadence = ma.fields.String(required=True, metadata={"description": "monthly or quarterly"})
    budget = ma.fields.Integer(allow_none=True, metadata={"description": "NT$"})
    policy = ma.fields.String(allow_none=True)
    latest_period = ma.fields.Date(allow_none=True)
    planned_percent = ma.fields.Float(allow_none=True)
    actual_percent = ma.fields.Float(allow_none=True)
    gap_percent = ma.fields.Float(allow_none=True, metadata={"description": "planned - actual: > 0 is behind"})
    bucket = ma.fields.String(allow_none=True, metadata={
        "description": "on_or_ahead, behind_under_10 or behind_10_or_more while tracked; null once closed"})
    special_report_due = ma.fields.Boolean(required=True)
    closure_request = ma.fields.String(allow_none=True, metadata={"description": "release or cancel, asked"})
    follow_up = ma.fields.String(allow_none=True)


class TrackedReportSchema(ma.Schema):
    period = ma.fields.Date(required=True)
    planned_percent = ma.fields.Float(allow_none=True)
    actual_percent = ma.fields.Float(required=True)
    gap_percent = ma.fields.Float(required=True)
    note = ma.fields.String(allow_none=True)
    reported_at = ma.fields.DateTime(required=True)


class TrackedVisitSchema(ma.Schema):
    visit_kind = ma.fields.String(required=True)
    visited_on = ma.fields.Date(required=True)
    findings = ma.fields.String(required=True)
    score = ma.fields.Integer(allow_none=True)
    recorded_at = ma.fields.DateTime(required=True)


class TrackedPlanMonthSchema(ma.Schema):
    month = ma.fields.Date(required=True)
    planned_percent = ma.fields.Float(required=True)


class TrackedDetailSchema(ma.Schema):
    item = ma.fields.Nested(TrackedSummarySchema, required=True)
    start_month = ma.fields.Date(required=True)
    end_month = ma.fields.Date(required=True)
    plan = ma.fields.List(ma.fields.Nested(TrackedPlanMonthSchema), required=True)
    reports = ma.fields.List(ma.fields.Nested(TrackedReportSchema), required=True)
    visits = ma.fields.List(ma.fields.Nested(TrackedVisitSchema), required=True)


class TrackedRegisterSchema(ma.Schema):
    """What is tracked, by whom, over which months."""

    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    agency_code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    start_month = ma.fields.String(required=True, validate=_MONTH)
    end_month = ma.fields.String(required=True, validate=_MONTH)
    budget = ma.fields.Integer(load_default=None, allow_none=True, validate=ma.validate.Range(min=0, max=10**15),
                               metadata={"description": "NT$; a major project needs at least 10,000,000"})
    policy = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=200))


class TrackedRegisteredSchema(ma.Schema):
    case_id = ma.fields.Integer(required=True)
    case_no = ma.fields.String(required=True)
    tracked_item_id = ma.fields.Integer(required=True)
    work_item_ids = ma.fields.List(ma.fields.Integer(), required=True)


class TrackedStepSchema(ma.Schema):
    """The step taken: the case's workflow status after it and the work it opened."""

    case_id = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    opened = ma.fields.List(ma.fields.Integer(), required=True)


class TrackedPlanSchema(ma.Schema):
    planned_percents = ma.fields.List(ma.fields.Float(validate=_PERCENT), required=True,
                                      validate=ma.validate.Length(min=1, max=120),
                                      metadata={"description": "Cumulative planned % for each month, first to last"})
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))


class TrackedDecisionSchema(ma.Schema):
    approve = ma.fields.Boolean(required=True)
    comment = ma.fields.String(load_default="", validate=ma.validate.Length(max=1000))


class TrackedCommentSchema(ma.Schema):
    comment = ma.fields.String(load_default="", validate=ma.validate.Length(max=1000))


class TrackedProgressSchema(ma.Schema):
    actual_percent = ma.fields.Float(required=True, validate=_PERCENT)
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))
    closure_request = ma.fields.String(load_default="none", validate=ma.validate.OneOf(("none", "release", "cancel")))
    closure_reason = ma.fields.String(load_default="", validate=ma.validate.Length(max=1000))


class TrackedSiteVisitSchema(ma.Schema):
    visited_on = ma.fields.Date(required=True)
    findings = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=4000))
    score = ma.fields.Integer(load_default=None, allow_none=True, validate=ma.validate.Range(min=0, max=100))


class TrackedSiteVisitRecordedSchema(ma.Schema):
    visit_id = ma.fields.Integer(required=True)
    case_id = ma.fields.Integer(required=True)


class TrackedCountsSchema(ma.Schema):
    tracked = ma.fields.Integer(required=True)
    released = ma.fields.Integer(required=True)
    cancelled = ma.fields.Integer(required=True)
    continuing = ma.fields.Integer(required=True)
    on_or_ahead = ma.fields.Integer(required=True)
    behind_under_10 = ma.fields.Integer(required=True)
    behind_10_or_more = ma.fields.Integer(required=True)


class TrackedAllCountsSchema(ma.Schema):
    total = ma.fields.Nested(TrackedCountsSchema, required=True)
    by_kind = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(TrackedCountsSchema), required=True)
    by_agency = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(TrackedCountsSchema), required=True)


class TrackedCountArgs(ma.Schema):
    year = ma.fields.Integer(validate=ma.validate.Range(min=2000, max=2200))
    kind = ma.fields.String(validate=ma.validate.OneOf(KINDS))


def _month(text: str) -> date:
    year, month = text.split("-")
    return date(int(year), int(month), 1)


def _step(done) -> dict:
    return {"case_id": done.case_id, "status": done.status, "opened": list(done.opened)}


@blp.route("")
@blp.doc(security=SIGNED_IN)
@blp.arguments(TrackedListArgs, location="query", as_kwargs=True)
@blp.response(200, TrackedSummarySchema(many=True))
def list_items(**args):
    """The tracked items I may see (the commission all, an agency its own), newest first."""
    return read(list_tracked_items, auth.principal(), **args)


@blp.route("", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(TrackedRegisterSchema)
@blp.response(201, TrackedRegisteredSchema)
def register(body):
    """Put an item under tracking (the commission's reviewers); its agency is asked for the plan."""
    return run(register_tracked_item, RegisterTrackedItem(
        body["kind"], body["title"], body["agency_code"], _month(body["start_month"]), _month(body["end_month"]),
        auth.principal(), budget=body["budget"], policy=body["policy"]))


@blp.route("/agenda")
@blp.doc(security=SIGNED_IN)
@blp.response(200, TrackedSummarySchema(many=True))
def agenda():
    """The monthly progress review meeting's agenda: items behind their plan by 10% or more."""
    return read(meeting_agenda, auth.principal())


@blp.route("/counts")
@blp.doc(security=SIGNED_IN)
@blp.arguments(TrackedCountArgs, location="query", as_kwargs=True)
@blp.response(200, TrackedAllCountsSchema)
def counts(**args):
    """Tracked, released, cancelled, continuing (on or ahead, behind under 10%, behind 10% or more), by kind and agency."""
    return read(tracked_item_counts, auth.principal(), **args)


@blp.route("/<id:case_id>")
@blp.doc(security=SIGNED_IN)
@blp.response(200, TrackedDetailSchema)
def detail(case_id):
    """One tracked item with its plan, its reports and the commission's visits."""
    found = read(tracked_item, auth.principal(), case_id)
    return {"item": found.item, "start_month": found.start_month, "end_month": found.end_month,
            "plan": [{"month": m, "planned_percent": p} for m, p in found.plan.items()],
            "reports": found.reports, "visits": found.visits}


@blp.route("/<id:case_id>/plan", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(TrackedPlanSchema)
@blp.response(200, TrackedStepSchema)
@blp.alt_response(409, response="DEFAULT_ERROR", description="The item is not waiting for a plan")
def plan(body, case_id):
    """The executing agency's plan: one cumulative planned percentage per month."""
    return _step(run(submit_plan, SubmitPlan(case_id, tuple(body["planned_percents"]), auth.principal(),
                                             body["note"])))


@blp.route("/<id:case_id>/plan/review", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(TrackedDecisionSchema)
@blp.response(200, TrackedStepSchema)
@blp.alt_response(409, response="DEFAULT_ERROR", description="No plan is waiting for review")
def review(body, case_id):
    """The commission approves the plan (tracking starts) or returns it."""
    return _step(run(review_plan, ReviewPlan(case_id, body["approve"], auth.principal(), body["comment"])))


@blp.route("/<id:case_id>/progress", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(TrackedProgressSchema)
@blp.response(200, TrackedStepSchema)
@blp.alt_response(409, response="DEFAULT_ERROR", description="No report round is open")
def progress(body, case_id):
    """The agency's report of the open period, optionally asking to release or cancel the item."""
    return _step(run(report_progress, ReportProgress(case_id, body["actual_percent"], auth.principal(), body["note"],
                                                     body["closure_request"], body["closure_reason"])))


@blp.route("/<id:case_id>/site-visits", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(TrackedSiteVisitSchema)
@blp.response(201, TrackedSiteVisitRecordedSchema)
def site_visit(body, case_id):
    """A site verification visit by the commission, with its findings."""
    return run(record_site_visit, RecordSiteVisit(case_id, body["visited_on"], body["findings"], auth.principal(),
                                                  body["score"]))


@blp.route("/<id:case_id>/release", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(TrackedCommentSchema)
@blp.response(200, TrackedStepSchema)
@blp.alt_response(409, response="DEFAULT_ERROR", description="The agency has not asked to release the item")
def release(body, case_id):
    """解除列管: approve the agency's request to release the item."""
    return _step(run(release_tracked_item, DecideClosure(case_id, True, auth.principal(), body["comment"])))


@blp.route("/<id:case_id>/cancel", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(TrackedCommentSchema)
@blp.response(200, TrackedStepSchema)
@blp.alt_response(409, response="DEFAULT_ERROR", description="The agency has not asked to cancel the item")
def cancel(body, case_id):
    """撤銷列管: approve the agency's request to cancel the item."""
    return _step(run(cancel_tracked_item, DecideClosure(case_id, True, auth.principal(), body["comment"])))


@blp.route("/<id:case_id>/closure-request/decline", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(TrackedCommentSchema)
@blp.response(200, TrackedStepSchema)
@blp.alt_response(409, response="DEFAULT_ERROR", description="No request to release or cancel is waiting")
def decline(body, case_id):
    """Turn down the agency's request: the item stays tracked."""
    return _step(run(decide_closure, DecideClosure(case_id, False, auth.principal(), body["comment"])))
