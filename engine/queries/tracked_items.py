"""Tracked items (列管): the list, one item with its plan and history, the meeting's agenda, the counts."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import and_, case, func, or_, select

from engine.accounts.identity import Principal
from engine.cases import tracking
from engine.errors import NotFound
from engine.store.schema import (
    agencies,
    cases,
    tracked_items,
    tracked_plan_months,
    tracked_progress,
    tracked_site_visits,
)

#: Who sees every tracked item: the commission, auditors, administrators; others their agencies' only.
SEES_ALL = frozenset({"reviewer", "auditor"})

#: The most items one page of the list holds.
MAX_LIST = 500


def _sees_all(principal: Principal) -> bool:
    return principal.is_admin or any(role in SEES_ALL for role, _ in principal.roles)


def _scope(principal: Principal):
    """A condition limiting items to what the principal may see (None: everything)."""
    if _sees_all(principal):
        return None
    own = sorted({agency for _, agency in principal.roles if agency is not None})
    return tracked_items.c.agency_id.in_(own) if own else tracked_items.c.id.is_(None)


@dataclass(frozen=True)
class TrackedItemSummary:
    """One tracked item as the list and the agenda show it (percentages, not basis points)."""

    case_id: int
    case_no: str
    kind: str
    title: str
    agency_code: str
    agency_name: str
    status: str
    plan_status: str
    cadence: str
    budget: int | None
    policy: str | None
    latest_period: date | None
    planned_percent: float | None
    actual_percent: float | None
    gap_percent: float | None
    bucket: str | None  # the source's bucket while tracked; None once closed
    special_report_due: bool  # behind by 20% or more in two reports in a row
    closure_request: str | None
    follow_up: str | None


_SUMMARY = (select(tracked_items, cases.c.case_no, agencies.c.code.label("agency_code"),
                   agencies.c.name.label("agency_name"))
            .join(cases, cases.c.id == tracked_items.c.case_id)
            .join(agencies, agencies.c.id == tracked_items.c.agency_id))


def _summary(row) -> TrackedItemSummary:
    open_ = row.status in ("planning", "tracking")
    return TrackedItemSummary(
        row.case_id, row.case_no, row.kind, row.title, row.agency_code, row.agency_name, row.status,
        row.plan_status, row.cadence, row.budget, row.policy, row.latest_period,
        tracking.to_percent(row.latest_planned_bp), tracking.to_percent(row.latest_actual_bp),
        tracking.to_percent(row.latest_gap_bp), tracking.bucket(row.latest_gap_bp) if open_ else None,
        row.behind_20_streak >= tracking.SPECIAL_REPORT_STREAK, row.closure_request, row.follow_up)


def list_tracked_items(uow, principal: Principal, *, kind: str | None = None, agency_code: str | None = None,
                       status: str | None = None, limit: int = 100) -> list[TrackedItemSummary]:
    """The items the principal may see, newest first, filtered by kind, agency and status."""
    query = _SUMMARY
    scope = _scope(principal)
    if scope is not None:
        query = query.where(scope)
    if kind:
        query = query.where(tracked_items.c.kind == kind)
    if agency_code:
        query = query.where(agencies.c.code == agency_code)
    if status:
        query = query.where(tracked_items.c.status == status)
    query = query.order_by(tracked_items.c.id.desc()).limit(max(1, min(limit, MAX_LIST)))
    return [_summary(r) for r in uow.conn.execute(query)]


def meeting_agenda(uow, principal: Principal) -> list[TrackedItemSummary]:
    """The monthly progress review meeting's agenda: tracked items whose latest report is behind the
    plan by 10% or more, the furthest behind first (those owing a special report are flagged)."""
    query = _SUMMARY.where(tracked_items.c.status == "tracking",
                           tracked_items.c.latest_gap_bp >= tracking.AGENDA_GAP_BP)
    scope = _scope(principal)
    if scope is not None:
        query = query.where(scope)
    query = query.order_by(tracked_items.c.latest_gap_bp.desc(), tracked_items.c.id)
    return [_summary(r) for r in uow.conn.execute(query)]


@dataclass(frozen=True)
class ProgressReport:
    period: date
    planned_percent: float | None
    actual_percent: float
    gap_percent: float
    note: str | None
    reported_at: datetime


@dataclass(frozen=True)
class SiteVisit:
    visit_kind: str
    visited_on: date
    findings: str
    score: int | None
    recorded_at: datetime


@dataclass(frozen=True)
class TrackedItemDetail:
    """An item with its plan (month -> planned %), its reports and its visits, oldest first."""

    item: TrackedItemSummary
    start_month: date
    end_month: date
    plan: dict
    reports: list
    visits: list


def tracked_item(uow, principal: Principal, case_id: int) -> TrackedItemDetail:
    """One item; raises NotFound for an item that does not exist or that the principal may not see."""
    query = _SUMMARY.where(tracked_items.c.case_id == case_id)
    scope = _scope(principal)
    if scope is not None:
        query = query.where(scope)
    row = uow.conn.execute(query).one_or_none()
    if row is None:
        raise NotFound(f"tracked item {case_id} does not exist")
    plan = {r.month: r.planned_bp / 100 for r in uow.conn.execute(
        select(tracked_plan_months.c.month, tracked_plan_months.c.planned_bp)
        .where(tracked_plan_months.c.tracked_item_id == row.id).order_by(tracked_plan_months.c.month))}
    reports = [ProgressReport(r.period, tracking.to_percent(r.planned_bp), r.actual_bp / 100, r.gap_bp / 100,
                              r.note, r.reported_at)
               for r in uow.conn.execute(select(tracked_progress).where(tracked_progress.c.tracked_item_id == row.id)
                                         .order_by(tracked_progress.c.period))]
    visits = [SiteVisit(r.visit_kind, r.visited_on, r.findings, r.score, r.recorded_at)
              for r in uow.conn.execute(select(tracked_site_visits)
                                        .where(tracked_site_visits.c.tracked_item_id == row.id)
                                        .order_by(tracked_site_visits.c.visited_on, tracked_site_visits.c.id))]
    return TrackedItemDetail(_summary(row), row.start_month, row.end_month, plan, reports, visits)


@dataclass
class Counts:
    """The source's figures (截至...止): tracked, released, cancelled, continuing, and how the
    continuing stand against their plans."""

    tracked: int = 0
    released: int = 0
    cancelled: int = 0
    continuing: int = 0
    on_or_ahead: int = 0
    behind_under_10: int = 0
    behind_10_or_more: int = 0

    def add(self, status: str, bucket: str, n: int) -> None:
        self.tracked += n
        if status in ("released", "cancelled"):
            setattr(self, status, getattr(self, status) + n)
        else:
            self.continuing += n
            setattr(self, bucket, getattr(self, bucket) + n)


@dataclass
class TrackedCounts:
    """The counts over all items, and by kind and by agency code."""

    total: Counts = field(default_factory=Counts)
    by_kind: dict = field(default_factory=dict)
    by_agency: dict = field(default_factory=dict)


_BUCKET = case((or_(tracked_items.c.latest_gap_bp.is_(None), tracked_items.c.latest_gap_bp <= 0), "on_or_ahead"),
               (tracked_items.c.latest_gap_bp < tracking.AGENDA_GAP_BP, "behind_under_10"),
               else_="behind_10_or_more")


def tracked_item_counts(uow, principal: Principal, *, year: int | None = None, kind: str | None = None,
                        as_of: datetime | None = None) -> TrackedCounts:
    """The counts of the items the principal may see: with `year`, the items tracked during that
    year (registered by its end, not closed before it began), those closed by its end counted as
    closed; with `as_of` (default: now), what was closed by then."""
    if year is not None:
        begins = datetime.combine(date(year, 1, 1), time(), tzinfo=uow.zone)
        ends = datetime.combine(date(year + 1, 1, 1), time(), tzinfo=uow.zone)
        as_of = min(as_of or ends, ends)
    as_of = as_of or uow.clock.now()
    # Closed by as_of: counted as released or cancelled; otherwise still tracked, in its bucket.
    state = case((and_(tracked_items.c.status.in_(("released", "cancelled")), tracked_items.c.closed_at <= as_of),
                  tracked_items.c.status), else_="tracking")
    query = (select(tracked_items.c.kind, agencies.c.code, state.label("state"), _BUCKET.label("bucket"),
                    func.count().label("n"))
             .join(agencies, agencies.c.id == tracked_items.c.agency_id)
             .group_by(tracked_items.c.kind, agencies.c.code, state, _BUCKET))
    scope = _scope(principal)
    if scope is not None:
        query = query.where(scope)
    if kind:
        query = query.where(tracked_items.c.kind == kind)
    if year is not None:
        query = query.where(tracked_items.c.registered_at < ends,
                            or_(tracked_items.c.closed_at.is_(None), tracked_items.c.closed_at >= begins))
    result = TrackedCounts()
    for row in uow.conn.execute(query):
        for counts in (result.total, result.by_kind.setdefault(row.kind, Counts()),
                       result.by_agency.setdefault(row.code, Counts())):
            counts.add(row.state, row.bucket, row.n)
    return result
