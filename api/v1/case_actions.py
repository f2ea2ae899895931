"""Case actions: transfer, extension, 補陳, closing under art. 173 and merging, each a step of the case's workflow.

Each completes the case's open work item of the task that carries the action (see
engine.services.case_actions): a case not at that step is a 409 naming the tasks open now, a
role that may not complete that task a 403, another agency's case a 404 as a missing one.
"""
from __future__ import annotations

import marshmallow as ma

from engine.services.case_actions import (
    ART_173_GROUNDS,
    SUPPLEMENT_CHANNELS,
    AskForSupplement,
    CloseWithoutProcessing,
    DecideExtension,
    DecideTransfer,
    MergeInto,
    RecordSupplement,
    RequestExtension,
    RequestTransfer,
    ask_for_supplement,
    close_without_processing,
    decide_extension,
    decide_transfer,
    merge_into,
    record_supplement,
    request_extension,
    request_transfer,
)

from .. import auth
from ..units import run
from .common import SIGNED_IN, Blueprint

PATH = "/cases"

blp = Blueprint("case_actions", __name__,
                description="Case actions: transfer, extension, 補陳 (supplement), closing under art. 173, merging.")

#: An agency or unit code as the forms take it.
_CODE = ma.validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$", error="a code such as public_works")


def _text(max_length: int, **kw):
    return ma.fields.String(validate=ma.validate.Length(min=1, max=max_length), **kw)


class TransferSchema(ma.Schema):
    """改分: why the case is not this agency's, and which agency it should go to."""

    reason = _text(500, required=True, metadata={"description": "改分理由: why the case is not ours"})
    suggested_agency = ma.fields.String(validate=_CODE, metadata={
        "description": "建議改分機關: the agency it belongs to, by code (the dispatcher decides)"})


class TransferDecisionSchema(ma.Schema):
    """The dispatcher's decision on a transfer asked for."""

    approve = ma.fields.Boolean(required=True, metadata={"description": "true: transfer; false: refuse (note needed)"})
    agency_code = ma.fields.String(validate=_CODE, metadata={"description": "改分機關: needed when approving"})
    unit_code = ma.fields.String(validate=_CODE, metadata={"description": "改分科室 (optional)"})
    note = _text(1000, metadata={"description": "說明: needed when refusing"})


class ExtensionSchema(ma.Schema):
    """展延: how many more working days, and why (the citizen is told the reason)."""

    working_days = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=24), metadata={
        "description": "展延日數（工作日）; the rule's caps (30 days in all) are checked when it is approved"})
    reason = _text(500, required=True, metadata={"description": "展延理由"})


class ExtensionDecisionSchema(ma.Schema):
    """The section chief's decision on an extension asked for."""

    approve = ma.fields.Boolean(required=True, metadata={"description": "true: the due time moves; false: refused"})
    note = _text(1000, metadata={"description": "意見: needed when refusing"})


class SupplementRequestSchema(ma.Schema):
    """補陳: what the petitioner must send, and by when; the reply clock stops meanwhile."""

    what = _text(1000, required=True, metadata={"description": "請補陳事項"})
    due_at = ma.fields.AwareDateTime(required=True, metadata={
        "description": "補陳期限, with its offset: with nothing by then the case closes"})


class SupplementSchema(ma.Schema):
    """What the petitioner sent, and how; the reply clock starts again with the time that was left."""

    text = _text(4000, required=True, metadata={"description": "補陳內容"})
    received_via = ma.fields.String(required=True, validate=ma.validate.OneOf(SUPPLEMENT_CHANNELS), metadata={
        "description": "收件方式"})


class CloseSchema(ma.Schema):
    """存查: closing without processing under 行政程序法 art. 173; the case is still logged."""

    ground = ma.fields.String(required=True, validate=ma.validate.OneOf(tuple(ART_173_GROUNDS)), metadata={
        "description": "行政程序法第173條 (Administrative Procedure Act art. 173), which subsection: "
                       + "; ".join(f"`{code}`: {words}" for code, words in ART_173_GROUNDS.items())})
    note = _text(1000, metadata={"description": "備註"})


class MergeSchema(ma.Schema):
    """併案: this case duplicates another; it closes, and both cases' timelines show the link."""

    target_case_no = ma.fields.String(required=True, validate=ma.validate.Regexp(
        r"^[A-Z][0-9]{14}$", error="a case number such as P20261126000123"), metadata={"description": "併入案號"})
    note = _text(1000, metadata={"description": "備註"})


class ActionTakenSchema(ma.Schema):
    """The step taken: the work item it completed, the case's workflow after it, the work opened and closed."""

    case_id = ma.fields.Integer(required=True)
    task = ma.fields.String(required=True, metadata={"description": "The task that carried the action"})
    work_item_id = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, metadata={"description": "The workflow's status: waiting, completed..."})
    version = ma.fields.Integer(required=True, metadata={"description": "The case's version now"})
    opened = ma.fields.List(ma.fields.Integer(), required=True, metadata={"description": "Work item ids opened"})
    cancelled = ma.fields.List(ma.fields.Integer(), required=True, metadata={"description": "Work item ids cancelled"})


def _action(path: str, schema):
    """Route an action: documented, signed in, its body checked, its refusals in the one error shape."""
    def register(view):
        documented = blp.alt_response(409, response="DEFAULT_ERROR", description=(
            "The case is not at the step that carries this action: the message names the tasks open now"))(view)
        documented = blp.alt_response(422, response="DEFAULT_ERROR", description=(
            "The body, or the task's form built from it, fails its checks: every field named"))(documented)
        documented = blp.response(200, ActionTakenSchema)(documented)
        documented = blp.arguments(schema)(documented)
        documented = blp.doc(security=SIGNED_IN)(documented)
        return blp.route(f"/<id:case_id>/{path}", methods=["POST"])(documented)
    return register


@_action("transfer", TransferSchema)
def transfer(body, case_id):
    """Ask for the case to be transferred to another agency (caseworkers of its agency, at the
    reply draft); the dispatcher decides."""
    return run(request_transfer, RequestTransfer(auth.principal(), case_id, **body), one_step=True)


@_action("transfer/decision", TransferDecisionSchema)
def transfer_decision(body, case_id):
    """Move the case to the agency named, or refuse the transfer asked for (dispatchers)."""
    return run(decide_transfer, DecideTransfer(auth.principal(), case_id, **body), one_step=True)


@_action("extension", ExtensionSchema)
def extension(body, case_id):
    """Ask for more working days (caseworkers, at the reply draft); the section chief decides."""
    return run(request_extension, RequestExtension(auth.principal(), case_id, **body), one_step=True)


@_action("extension/decision", ExtensionDecisionSchema)
def extension_decision(body, case_id):
    """Approve an extension (the due time moves within the rule's caps and the citizen is told why), or
    refuse it (section chiefs)."""
    return run(decide_extension, DecideExtension(auth.principal(), case_id, **body), one_step=True)


@_action("supplement-request", SupplementRequestSchema)
def supplement_request(body, case_id):
    """Ask the petitioner for more (補陳) by a date; the reply clock stops (caseworkers, at the reply draft)."""
    return run(ask_for_supplement, AskForSupplement(auth.principal(), case_id, **body), one_step=True)


@_action("supplement", SupplementSchema)
def supplement(body, case_id):
    """Record the petitioner's supplement; the reply clock starts again with the time that was left
    (caseworkers of the case's agency)."""
    return run(record_supplement, RecordSupplement(auth.principal(), case_id, **body), one_step=True)


@_action("close", CloseSchema)
def close(body, case_id):
    """Close the case without processing under art. 173 of the Administrative Procedure Act (行政程序法第173條),
    naming the subsection (dispatchers, at routing)."""
    return run(close_without_processing, CloseWithoutProcessing(auth.principal(), case_id, **body), one_step=True)


@_action("merge", MergeSchema)
def merge(body, case_id):
    """Merge the case into the case it duplicates (併案): it closes, and each case's timeline names the
    other (dispatchers, at routing)."""
    # Not one step: the target's history is written after the step, in the same transaction.
    return run(merge_into, MergeInto(auth.principal(), case_id, **body))
