"""Claim due timers with a lease, and fire them idempotently."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update

from ..schema import timers
from .steps import RunInstance, run_instance

#: How long a claimed timer stays with its claimer before another scheduler may take it.
DEFAULT_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class ClaimDueTimers:
    """Lease up to `limit` pending timers due by now to `owner`."""

    owner: str
    limit: int = 100
    lease: timedelta = DEFAULT_LEASE


@dataclass(frozen=True)
class FireTimer:
    """Fire one timer if it is still pending."""

    timer_id: int


def claim_due_timers(cmd: ClaimDueTimers, uow) -> list[int]:
    """Lease due timers; several schedulers may claim at once without sharing a timer.

    PostgreSQL skips rows another claimer holds (FOR UPDATE SKIP LOCKED); SQLite
    serialises writers with BEGIN IMMEDIATE, so the plain statement is safe there.
    """
    now = uow.clock.now()
    due = (
        select(timers.c.id)
        .where(timers.c.status == "pending", timers.c.due_at <= now,
               or_(timers.c.lease_expires_at.is_(None), timers.c.lease_expires_at < now))
        .order_by(timers.c.due_at)
        .limit(cmd.limit)
        .with_for_update(skip_locked=True)
    )
    claimed = uow.conn.execute(
        update(timers).where(timers.c.id.in_(due.scalar_subquery()))
        .values(lease_owner=cmd.owner, lease_expires_at=now + cmd.lease, attempts=timers.c.attempts + 1)
        .returning(timers.c.id)
    ).scalars().all()
    return sorted(claimed)


def fire_timer(cmd: FireTimer, uow) -> bool:
    """Fire a pending timer; returns False (doing nothing) if it was already fired or cancelled."""
    row = uow.conn.execute(
        select(timers.c.id, timers.c.status, timers.c.kind, timers.c.instance_id)
        .where(timers.c.id == cmd.timer_id).with_for_update()
    ).one_or_none()
    if row is None or row.status != "pending":
        return False
    uow.conn.execute(update(timers).where(timers.c.id == row.id).values(
        status="done", fired_at=uow.clock.now(), lease_owner=None, lease_expires_at=None))
    if row.kind == "bpmn_timer":
        run_instance(RunInstance(row.instance_id, reason="timer"), uow)
    return True
