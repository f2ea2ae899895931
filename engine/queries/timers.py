"""The pending timers as an operator and the scheduler see them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select

from engine.store.schema import cases, timers


@dataclass(frozen=True)
class PendingTimer:
    """One pending timer as an operator sees it."""

    id: int
    kind: str
    case_no: str
    case_status: str
    due_at: datetime
    name: str | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    attempts: int
    last_error: str | None


_next_due = select(func.min(timers.c.due_at)).where(
    timers.c.status == "pending",
    or_(timers.c.lease_expires_at.is_(None), timers.c.lease_expires_at < bindparam("b_now")))


def next_due_at(uow) -> datetime | None:
    """When the earliest unleased pending timer falls due (None when there is none).

    The scheduler sleeps until then instead of a whole interval, so a timer is sent as it
    falls due rather than up to one interval late. One index probe on (status, due_at).
    """
    return uow.conn.execute(_next_due, {"b_now": uow.clock.now()}).scalar_one_or_none()


def _pending(due_before: datetime | None):
    conditions = [timers.c.status == "pending"]
    if due_before is not None:
        conditions.append(timers.c.due_at < due_before)
    return conditions


def count_pending_timers(uow, due_before: datetime | None = None) -> int:
    """How many timers are pending (and due before `due_before`, when given)."""
    return uow.conn.execute(select(func.count()).select_from(timers).where(*_pending(due_before))).scalar_one()


def case_numbers(uow, timer_ids) -> dict[int, str]:
    """The case number of each timer id given."""
    if not timer_ids:
        return {}
    return dict(uow.conn.execute(select(timers.c.id, cases.c.case_no).join(cases, cases.c.id == timers.c.case_id)
                                 .where(timers.c.id.in_(list(timer_ids)))).all())


def timer_status(uow, timer_id: int) -> str | None:
    """The status of one timer (None if there is no such timer)."""
    return uow.conn.execute(select(timers.c.status).where(timers.c.id == timer_id)).scalar_one_or_none()


def list_pending_timers(uow, *, due_before: datetime | None = None, limit: int = 100) -> list[PendingTimer]:
    """Pending timers with their case numbers, earliest due first."""
    rows = uow.conn.execute(
        select(timers.c.id, timers.c.kind, cases.c.case_no, cases.c.status.label("case_status"),
               timers.c.due_at, timers.c.payload, timers.c.lease_owner, timers.c.lease_expires_at,
               timers.c.attempts, timers.c.last_error)
        .join(cases, cases.c.id == timers.c.case_id)
        .where(*_pending(due_before))
        .order_by(timers.c.due_at, timers.c.id)
        .limit(limit)
    )
    return [PendingTimer(r.id, r.kind, r.case_no, r.case_status, r.due_at, (r.payload or {}).get("name"),
                         r.lease_owner, r.lease_expires_at, r.attempts, r.last_error) for r in rows]
