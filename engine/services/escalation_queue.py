"""What the supervisors' escalation queue shows: overdue and at-risk work per agency and level."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select

from engine.deadlines.calendar import calendar_for
from engine.store.schema import agencies, cases, work_items

#: Work due within this many working days counts as at risk.
AT_RISK_WORKING_DAYS = 1


@dataclass(frozen=True)
class QueueItem:
    """One open work item that is late or about to be."""

    work_item_id: int
    case_id: int
    case_no: str
    name: str
    role: str | None
    agency_id: int | None
    agency_name: str | None
    due_at: datetime
    escalation_level: int
    state: str  # 'overdue' or 'at_risk'
    working_days_late: int  # 0 when not yet late


@dataclass(frozen=True)
class EscalationQueue:
    """The queue as of a moment (the first `limit` items, most late first), and its counts per
    (agency, level, state) over all of it, whatever the limit."""

    as_of: datetime
    items: list
    counts: dict


def escalation_queue(uow, *, agency_id: int | None = None, min_level: int = 0,
                     at_risk_days: int = AT_RISK_WORKING_DAYS, limit: int = 500) -> EscalationQueue:
    """Open work that is overdue, or due within `at_risk_days` working days, most late first."""
    now = uow.clock.now()
    cal = calendar_for(uow)
    today = cal.local_date(now)
    horizon = cal.closing(cal.add_working_days(today, at_risk_days))
    wanted = [work_items.c.status == "open", work_items.c.due_at.is_not(None),
              work_items.c.due_at <= horizon, work_items.c.escalation_level >= min_level]
    if agency_id is not None:
        wanted.append(work_items.c.agency_id == agency_id)
    query = (
        select(work_items.c.id, work_items.c.case_id, cases.c.case_no, work_items.c.name, work_items.c.role,
               work_items.c.agency_id, agencies.c.name.label("agency_name"), work_items.c.due_at,
               work_items.c.escalation_level)
        .join(cases, cases.c.id == work_items.c.case_id)
        .outerjoin(agencies, agencies.c.id == work_items.c.agency_id)
        .where(and_(*wanted))
        .order_by(work_items.c.due_at, work_items.c.id).limit(limit)
    )
    items = []
    for row in uow.conn.execute(query):
        overdue = row.due_at < now
        late = max(cal.working_days_between(cal.local_date(row.due_at), today), 0) if overdue else 0
        items.append(QueueItem(row.id, row.case_id, row.case_no, row.name, row.role, row.agency_id,
                               row.agency_name, row.due_at, row.escalation_level,
                               "overdue" if overdue else "at_risk", late))
    state = case((work_items.c.due_at < now, "overdue"), else_="at_risk")
    counted = (select(agencies.c.name, work_items.c.escalation_level, state, func.count())
               .select_from(work_items).outerjoin(agencies, agencies.c.id == work_items.c.agency_id)
               .where(and_(*wanted)).group_by(agencies.c.name, work_items.c.escalation_level, state))
    counts = {(name, level, kind): n for name, level, kind, n in uow.conn.execute(counted)}
    return EscalationQueue(now, items, counts)
