"""Case pages: finding a case, and a case's page with its diagram, timeline and the actions open to me."""
from __future__ import annotations

from flask import jsonify, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import InvalidInput, PetiflowError
from engine.queries.attachments import attachments_of
from engine.queries.case_search import STATUSES, CaseSearch, search_cases
from engine.queries.diagrams import case_diagram
from engine.queries.duplicates import duplicate_links
from engine.services.attachments import AddAttachment, add_attachment
from engine.services.case_actions import OfferActions, actions_offered
from engine.services.case_views import ViewCase, view_case
from engine.services.duplicates import (
    MERGING_ROLES,
    MergeDuplicate,
    SeparateDuplicate,
    merge_duplicate,
    separate_duplicate,
)

from ..units import read, reading, run
from .pages import done, refused, signed_in, web_blueprint

bp = web_blueprint("cases", __name__)

#: Cases on one page of the list.
PAGE = 50

_SEARCHED = ("text", "case_no", "category", "district")


def _labels() -> dict:
    """Case actions as the page offers them (engine.services.case_actions.CARRIERS names them)."""
    return {"RequestTransfer": _("Ask for a transfer to another agency"), "DecideTransfer": _("Decide on a transfer"),
            "RequestExtension": _("Ask for an extension"), "DecideExtension": _("Decide on an extension"),
            "AskForSupplement": _("Pause the clock: ask the petitioner for more (補陳)"),
            "RecordSupplement": _("Record the petitioner's supplement: the clock runs again"),
            "CloseWithoutProcessing": _("Close without processing (art. 173)"),
            "MergeInto": _("Link a duplicate: merge into another case")}


def _event_labels() -> dict:
    """The timeline's kinds of event in words (the code is shown for any other)."""
    return {"case_received": _("Received"), "deadline_set": _("Due time set"), "task_ready": _("Task opened"),
            "task_assigned": _("Task assigned"), "task_unclaimed": _("Task given back to the group"),
            "task_completed": _("Task done"), "task_claimed": _("Task claimed"), "case_transferred": _("Transferred"),
            "deadline_extended": _("Deadline extended"), "deadline_restarted": _("Deadline restarted"),
            "clock_paused": _("Clock paused"), "clock_resumed": _("Clock resumed"),
            "escalation_acknowledged": _("Lateness acknowledged"), "reminded_by_supervisor": _("Reminded"),
            "notification_sent": _("Notice sent"), "citizen_notified": _("Citizen told"),
            "duplicate_merged": _("A duplicate merged in"), "linked_case_opened": _("Linked case opened"),
            "duplicate_linked": _("Linked as a duplicate report"),
            "duplicate_reported": _("Reported again (a duplicate linked)"),
            "merged_as_duplicate": _("Merged into the case it repeats"),
            "duplicate_separated": _("Duplicate link undone"),
            "engine_steps": _("Workflow steps"), "escalated": _("Escalated"), "merged": _("Merged"),
            "closed_without_processing": _("Closed without processing"), "case_closed": _("Closed"),
            "case_migrated": _("Moved to a new process version"),
            "task_cancelled": _("Task withdrawn"), "reminder_sent": _("Reminder sent"),
            "attachment_added": _("Attachment added"),
            "tracked_plan_submitted": _("Tracking plan submitted"),
            "tracked_progress_reported": _("Progress reported"),
            "tracked_study_followed_up": _("Study recommendations followed up"),
            "tracked_visit_recorded": _("Site visit recorded"),
            "tracked_plan_approved": _("Tracking plan approved"),
            "tracked_plan_returned": _("Tracking plan returned"),
            "tracked_item_released": _("Released from tracking"),
            "tracked_item_cancelled": _("Tracking cancelled"),
            "incident_opened": _("Failure recorded"), "incident_retried": _("Failure retried"),
            "incident_resolved": _("Failure marked handled"),
            "call_transferred": _("Call transferred"),
            "filed_on_web_mailbox": _("Filed on the web mailbox"),
            "survey_answered_on_web": _("Satisfaction survey answered on the web")}


@bp.get("/cases")
def search():
    """The cases I may see, newest first, by number, text (Chinese included), status, category, district."""
    principal = signed_in()
    shown = {name: (request.args.get(name) or "").strip()[:200] for name in _SEARCHED}
    status = request.args.get("status") or ""
    wanted = CaseSearch(status=status if status in STATUSES else None,
                        **{name: value for name, value in shown.items() if value})
    page = read(search_cases, principal, wanted, cursor=request.args.get("cursor") or None, limit=PAGE)
    return render_template("web/cases.html", page=page, shown=shown, status=status, statuses=STATUSES)


@bp.get("/cases/<id:case_id>")
def page(case_id: int):
    """The case: summary, petitioner (when my role needs it: the showing is recorded), attachments,
    open work and the actions open to me, pending deadlines, the diagram and the whole timeline."""
    return _case_page(ViewCase(signed_in(), case_id=case_id, via="case_page"))


@bp.get("/cases/by-number/<case_no>")
def by_number(case_no: str):
    """The case of this number (P20261126000123), as its page."""
    return _case_page(ViewCase(signed_in(), case_no=case_no[:40], via="case_page"))


def _case_page(asked: ViewCase):
    principal = asked.principal
    case = run(view_case, asked)
    files = read(attachments_of, principal, case.case_id)
    with reading() as uow:  # the service only reads
        offered = actions_offered(OfferActions(principal, case.case_id), uow)
    links = read(duplicate_links, case.case_id)
    merges = principal.is_admin or any(role in MERGING_ROLES for role, _ in principal.roles)
    return render_template("web/case.html", case=case, files=files, offered=offered, labels=_labels(),
                           links=links, merges=merges,
                           event_labels=_event_labels(),
                           timer_labels={"reminder": _("Reminder"), "escalation": _("Escalation"),
                                         "bpmn_timer": _("Timer of the diagram")})


@bp.get("/cases/<id:case_id>/diagram")
def diagram(case_id: int):
    """The case's BPMN and where it stands, for the diagram viewer of the case page."""
    found = read(case_diagram, signed_in(), case_id)
    response = jsonify(xml=found.xml, open=list(found.open_tasks), done=list(found.done_tasks),
                       process_key=found.process_key, version=found.version)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/cases/<id:case_id>/attachments")
def attach(case_id: int):
    """Attach a file to the case (its kind found from its content, its size limited, kept in the history)."""
    principal = signed_in()
    target = url_for("ui.cases.page", case_id=case_id) + "#files-h"
    given = request.files.get("file")
    try:
        if given is None or not given.filename:
            raise InvalidInput(_("Choose a file to attach."))
        added = run(add_attachment, AddAttachment(principal, case_id, given.filename, given.stream))
    except PetiflowError as error:
        return refused(error, target)
    return done(_("Attached: %(name)s", name=added.filename), target)


@bp.post("/cases/<id:case_id>/duplicate/<any(merge, separate):decision>")
def decide_duplicate(case_id: int, decision: str):
    """The dispatcher merges the case into the case it repeats, or undoes the link."""
    principal = signed_in()
    target = url_for("ui.cases.page", case_id=case_id)
    note = (request.form.get("note") or "").strip()[:500] or None
    try:
        if decision == "merge":
            decided = run(merge_duplicate, MergeDuplicate(principal, case_id, note))
            return done(_("Merged into %(case_no)s as a duplicate.", case_no=decided.original_no), target)
        decided = run(separate_duplicate, SeparateDuplicate(principal, case_id, note))
        return done(_("No longer linked to %(case_no)s.", case_no=decided.original_no), target)
    except PetiflowError as error:
        return refused(error, target)
