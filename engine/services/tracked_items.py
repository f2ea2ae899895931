"""Tracked items (列管): register one, and work its plan, reports, visits and closing.

A tracked item is a case of type `tracked_item` (workflows/tracked_item.bpmn) with a row in
`tracked_items`. Registering opens the case and writes the row; the other commands complete the
item's open task of the workflow (the same as completing it from the inbox), whose engine
actions write the plan and the progress rows (engine/actions/tracked_actions.py). A site
verification visit is not part of the workflow: it is written here, with a history entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import insert, select

from engine.accounts.identity import Principal
from engine.cases import tracking
from engine.cases.history import event
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.store import tracked
from engine.store.schema import agencies, case_events, work_items

from .cases import StartCase, start_case
from .work import CompleteWorkItem, WorkItemCompleted, complete_work_item

#: The roles that register tracked items and decide on them: the commission's reviewers.
COMMISSION_ROLE = "reviewer"


@dataclass(frozen=True)
class RegisterTrackedItem:
    """Put an item under tracking (列管): its kind, executing agency, title and planned months."""

    kind: str
    title: str
    agency_code: str
    start_month: date
    end_month: date
    principal: Principal
    budget: int | None = None  # NT$
    policy: str | None = None  # the policy, meeting or programme it belongs to
    registered_at: datetime | None = None


@dataclass(frozen=True)
class TrackedItemRegistered:
    """The item's case, and the plan task its agency now has."""

    case_id: int
    case_no: str
    tracked_item_id: int
    work_item_ids: list


def _commission(principal: Principal) -> None:
    if not (principal.is_admin or principal.holds(COMMISSION_ROLE, None)):
        raise Forbidden("tracked items are registered and decided by the commission's reviewers")


def _fields(**problems) -> InvalidInput:
    first = next(iter(problems.values()))
    return InvalidInput(first, details={"fields": {k: [v] for k, v in problems.items()}})


def _check(cmd: RegisterTrackedItem) -> None:
    if cmd.kind not in tracking.KINDS:
        raise _fields(kind=f"kind must be one of {', '.join(tracking.KINDS)}")
    if not isinstance(cmd.title, str) or not cmd.title.strip() or len(cmd.title) > 200:
        raise _fields(title="a title of 1 to 200 characters")
    if cmd.policy is not None and (not isinstance(cmd.policy, str) or len(cmd.policy) > 200):
        raise _fields(policy="at most 200 characters")
    if not isinstance(cmd.start_month, date) or not isinstance(cmd.end_month, date):
        raise _fields(start_month="start and end months are dates")
    if not (2000 <= cmd.start_month.year and cmd.end_month.year < 2200):
        raise _fields(start_month="months from 2000 to 2199")
    if cmd.end_month < cmd.start_month:
        raise _fields(end_month="the last month may not come before the first")
    if tracking.months_between(cmd.start_month, cmd.end_month) > 120:
        raise _fields(end_month="at most 120 months of plan")
    if cmd.budget is not None and (isinstance(cmd.budget, bool) or not isinstance(cmd.budget, int)
                                   or cmd.budget < 0):
        raise _fields(budget="a budget is a whole number of NT$")
    if cmd.kind == "major_project" and (cmd.budget or 0) < tracking.MAJOR_PROJECT_MIN_BUDGET:
        raise _fields(budget="a major project (重大工程) has a capital budget of at least NT$10,000,000")


def register_tracked_item(cmd: RegisterTrackedItem, uow) -> TrackedItemRegistered:
    """Open the item's case and its row; its agency is asked for the plan.

    Raises Forbidden (not the commission), InvalidInput (kind, months, budget, unknown agency).
    """
    _commission(cmd.principal)
    _check(cmd)
    agency_id = uow.conn.execute(select(agencies.c.id).where(agencies.c.code == cmd.agency_code)).scalar_one_or_none()
    if agency_id is None:
        raise _fields(agency_code=f"agency {cmd.agency_code!r} does not exist")
    now = uow.clock.now()
    uow.begin()  # the case and the item's row commit together
    started = start_case(StartCase(
        case_type="tracked_item", channel="commission", category=cmd.kind, subject=cmd.title.strip(),
        agency_code=cmd.agency_code, data={"kind": cmd.kind}, received_at=cmd.registered_at,
        principal=cmd.principal), uow)
    item_id = tracked.insert_item(uow.conn, {
        "case_id": started.case_id, "kind": cmd.kind, "agency_id": agency_id, "title": cmd.title.strip(),
        "budget": cmd.budget, "policy": cmd.policy, "cadence": tracking.cadence(cmd.kind),
        "start_month": tracking.first_of_month(cmd.start_month), "end_month": tracking.first_of_month(cmd.end_month),
        "status": "planning", "plan_status": "none", "behind_20_streak": 0,
        "registered_at": cmd.registered_at or now})
    return TrackedItemRegistered(started.case_id, started.case_no, item_id, started.work_item_ids)


def _open_item(uow, case_id: int, task: str) -> int:
    """The open work item of a task of the case; Conflict when the item is not waiting for it."""
    if tracked.item_of_case(uow.conn, case_id) is None:
        raise NotFound(f"case {case_id} is not a tracked item")
    found = uow.conn.execute(select(work_items.c.id, work_items.c.task_spec).where(
        work_items.c.case_id == case_id, work_items.c.status == "open")).all()
    for row in found:
        if row.task_spec.split(" [")[0] == task:
            return row.id
    waiting = sorted(r.task_spec for r in found) or ["nothing"]
    raise Conflict(f"the tracked item is not waiting for {task} (it waits for {', '.join(waiting)})",
                   details={"waiting_for": waiting})


def _complete(uow, case_id: int, task: str, data: dict, principal: Principal) -> WorkItemCompleted:
    item_id = _open_item(uow, case_id, task)
    return complete_work_item(CompleteWorkItem(item_id, data, principal), uow)


@dataclass(frozen=True)
class SubmitPlan:
    """The executing agency's planned progress: one cumulative percentage per month of the item."""

    case_id: int
    planned_percents: tuple
    principal: Principal
    note: str = ""


def submit_plan(cmd: SubmitPlan, uow) -> WorkItemCompleted:
    """Raises NotFound, Conflict (not waiting for a plan), Forbidden, InvalidInput (one value a month, never down)."""
    item = tracked.item_of_case(uow.conn, cmd.case_id)
    if item is None:
        raise NotFound(f"case {cmd.case_id} is not a tracked item")
    tracking.plan_months(item.start_month, item.end_month, list(cmd.planned_percents))  # refused before any step
    data = {"planned_percents": list(cmd.planned_percents)}
    if cmd.note:
        data["plan_note"] = cmd.note
    return _complete(uow, cmd.case_id, "plan_submit", data, cmd.principal)


@dataclass(frozen=True)
class ReviewPlan:
    """The commission approves the plan (tracking starts) or returns it."""

    case_id: int
    approve: bool
    principal: Principal
    comment: str = ""


def review_plan(cmd: ReviewPlan, uow) -> WorkItemCompleted:
    """Raises NotFound, Conflict (no plan waiting), Forbidden (not a reviewer)."""
    return _complete(uow, cmd.case_id, "plan_review", {
        "plan_decision": "approve" if cmd.approve else "return", "plan_comment": cmd.comment}, cmd.principal)


@dataclass(frozen=True)
class ReportProgress:
    """The agency's report of a period: actual cumulative progress, and optionally a request to close."""

    case_id: int
    actual_percent: float
    principal: Principal
    note: str = ""
    closure_request: str = "none"  # release / cancel
    closure_reason: str = ""


def report_progress(cmd: ReportProgress, uow) -> WorkItemCompleted:
    """Raises NotFound, Conflict (no report round open), Forbidden, InvalidInput (percent, request)."""
    if cmd.closure_request not in ("none", "release", "cancel"):
        raise _fields(closure_request="none, release or cancel")
    if cmd.closure_request != "none" and not cmd.closure_reason.strip():
        raise _fields(closure_reason="a request to release or cancel says why")
    tracking.percent_bp(cmd.actual_percent, "actual_percent")
    return _complete(uow, cmd.case_id, "progress_report", {
        "actual_percent": cmd.actual_percent, "progress_note": cmd.note, "closure_request": cmd.closure_request,
        "closure_reason": cmd.closure_reason}, cmd.principal)


@dataclass(frozen=True)
class DecideClosure:
    """The commission approves (or rejects) the agency's request to release or cancel the item."""

    case_id: int
    approve: bool
    principal: Principal
    comment: str = ""
    expect: str | None = None  # "release" or "cancel": refuse if the agency asked for the other


def decide_closure(cmd: DecideClosure, uow) -> WorkItemCompleted:
    """Raises NotFound, Conflict (no request waiting, or a request other than `expect`), Forbidden."""
    item_id = _open_item(uow, cmd.case_id, "closure_review")
    if cmd.expect is not None:
        asked = _requested(uow, cmd.case_id)
        if asked != cmd.expect:
            raise Conflict(f"the agency asked to {asked}, not to {cmd.expect}", details={"requested": asked})
    return complete_work_item(CompleteWorkItem(item_id, {
        "closure_decision": "approve" if cmd.approve else "reject", "closure_comment": cmd.comment},
        cmd.principal), uow)


def _requested(uow, case_id: int) -> str | None:
    """What the agency's latest report asked for: release, cancel, or None."""
    return tracked.item_of_case(uow.conn, case_id).closure_request


def release_tracked_item(cmd: DecideClosure, uow) -> WorkItemCompleted:
    """解除列管: approve the agency's request to release the item (Conflict if it asked for something else)."""
    return decide_closure(DecideClosure(cmd.case_id, True, cmd.principal, cmd.comment, expect="release"), uow)


def cancel_tracked_item(cmd: DecideClosure, uow) -> WorkItemCompleted:
    """撤銷列管: approve the agency's request to cancel the item (Conflict if it asked for something else)."""
    return decide_closure(DecideClosure(cmd.case_id, True, cmd.principal, cmd.comment, expect="cancel"), uow)


@dataclass(frozen=True)
class RecordSiteVisit:
    """The commission's site verification visit (實地查證) of a tracked item, with its findings."""

    case_id: int
    visited_on: date
    findings: str
    principal: Principal
    score: int | None = None


@dataclass(frozen=True)
class SiteVisitRecorded:
    visit_id: int
    case_id: int


def record_site_visit(cmd: RecordSiteVisit, uow) -> SiteVisitRecorded:
    """Raises Forbidden (not the commission), NotFound, InvalidInput (date, findings, score)."""
    _commission(cmd.principal)
    item = tracked.item_of_case(uow.conn, cmd.case_id)
    if item is None:
        raise NotFound(f"case {cmd.case_id} is not a tracked item")
    if not isinstance(cmd.visited_on, date):
        raise _fields(visited_on="a date")
    if not isinstance(cmd.findings, str) or not cmd.findings.strip() or len(cmd.findings) > 4000:
        raise _fields(findings="findings of 1 to 4000 characters")
    if cmd.score is not None and (isinstance(cmd.score, bool) or not isinstance(cmd.score, int)
                                  or not 0 <= cmd.score <= 100):
        raise _fields(score="a whole number from 0 to 100")
    now = uow.clock.now()
    visit_id = tracked.insert_visit(uow.conn, {
        "tracked_item_id": item.id, "visit_kind": "verification", "visited_on": cmd.visited_on,
        "findings": cmd.findings.strip(), "score": cmd.score, "recorded_by": cmd.principal.user_id,
        "recorded_at": now})
    uow.conn.execute(insert(case_events), event(cmd.case_id, now, "tracked_visit_recorded",
                                                actor_id=cmd.principal.user_id, visit_kind="verification",
                                                visited_on=cmd.visited_on.isoformat(), score=cmd.score))
    return SiteVisitRecorded(visit_id, cmd.case_id)
