"""Claim due timers with a lease, fire them idempotently, and look at what is pending.

The database is the source of truth for every deadline (DESIGN.md decision 3): a timer is
a row; a scheduler leases due rows and hands their ids to workers; a worker fires a row
only while it is still pending. A message that is lost (Redis flushed, a worker killed)
costs at most one lease: the row becomes claimable again when its lease expires.

A timer keeps the correlation id of the request whose step set it (engine/correlation.py): the
claim hands it to the scheduler, which sends the firing's message under it, and the firing binds
it while it runs, so its log lines, the notifications it queues and the timers it sets carry it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, select, update

from engine import correlation
from engine.deadlines.ladder import KINDS as LADDER_KINDS
from engine.services.escalation import FireRung, fire_rung
from engine.services.steps import RunInstance, run_instance
from engine.store.schema import cases, timers, workflow_instances

log = logging.getLogger(__name__)

#: How long a claimed timer stays with its claimer before another scheduler may take it.
#: It must be longer than a message waits in the queue plus the time a firing takes (the
#: actor's time limit is 60 s); a message lost in Redis is re-sent after at most this long.
DEFAULT_LEASE = timedelta(minutes=5)

#: How much of an error is kept on the timer row.
MAX_ERROR_LENGTH = 2_000


@dataclass(frozen=True)
class ClaimDueTimers:
    """Lease up to `limit` pending timers due by now to `owner`."""

    owner: str
    limit: int = 100
    lease: timedelta = DEFAULT_LEASE


@dataclass(frozen=True)
class ClaimedTimer:
    """A timer leased to be fired, and the correlation id it keeps (None: set with none bound)."""

    timer_id: int
    correlation_id: str | None


@dataclass(frozen=True)
class FireTimer:
    """Fire one timer if it is still pending."""

    timer_id: int


@dataclass(frozen=True)
class ReleaseTimers:
    """Give back the leases of claimed timers that were not sent or not fired."""

    timer_ids: tuple[int, ...]
    owner: str | None = None


@dataclass(frozen=True)
class RecordTimerFailure:
    """Note why firing a timer failed, and let it be claimed again at once when `release`."""

    timer_id: int
    error: str
    release: bool = False


def claim_statement(owner: str, limit: int, lease: timedelta, now: datetime, dialect: str = "postgresql"):
    """The claim: one UPDATE leasing the oldest due, unleased pending rows (RETURNING their ids).

    A timer is due once its moment has passed (due_at < now), as SpiffWorkflow decides it
    (an expired timer is one whose date is before its clock's now): a row claimed at the
    very moment of its due time would be marked done while the workflow kept waiting.

    The inner SELECT walks the (status, due_at) index from the oldest due row and stops at
    `now` or after `limit` rows, so its cost does not grow with the number of timers
    pending in the future. PostgreSQL skips rows another claimer or a firing worker holds
    (FOR UPDATE SKIP LOCKED); SQLite drops the clause and serialises writers with BEGIN
    IMMEDIATE, so the plain statement is safe there.

    On PostgreSQL the claimed ids are matched with `id = ANY(ARRAY(subquery))`: the planner
    then probes the primary key once per claimed id. With `id IN (subquery)` it may hash
    the ids and scan the whole table to find them (bench/timers.py saw it at 14,000 rows):
    a sweep that costs more as done and future timers pile up.
    """
    due = (
        select(timers.c.id)
        .where(timers.c.status == "pending", timers.c.due_at < now,
               or_(timers.c.lease_expires_at.is_(None), timers.c.lease_expires_at < now))
        .order_by(timers.c.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if dialect == "postgresql":
        claimed = timers.c.id == func.any(func.array(due.scalar_subquery()))
    else:
        claimed = timers.c.id.in_(due.scalar_subquery())
    return (
        update(timers).where(claimed)
        .values(lease_owner=owner, lease_expires_at=now + lease, attempts=timers.c.attempts + 1)
        .returning(timers.c.id, timers.c.correlation_id)
    )


def claim_due_timers(cmd: ClaimDueTimers, uow) -> list[int]:
    """Lease due timers; several schedulers may claim at once without sharing a timer. Returns their ids."""
    return [claimed.timer_id for claimed in claim_due_timers_correlated(cmd, uow)]


def claim_due_timers_correlated(cmd: ClaimDueTimers, uow) -> list[ClaimedTimer]:
    """Lease due timers as claim_due_timers does; returns each with the correlation id it keeps, by id."""
    if cmd.lease <= timedelta(0):
        raise ValueError("a timer lease must be longer than zero (a zero lease fires timers twice)")
    stmt = claim_statement(cmd.owner, cmd.limit, cmd.lease, uow.clock.now(), uow.dialect)
    return [ClaimedTimer(row.id, row.correlation_id) for row in sorted(uow.conn.execute(stmt), key=lambda r: r.id)]


_timer_row = select(timers.c.id, timers.c.status, timers.c.kind, timers.c.instance_id, timers.c.case_id,
                    timers.c.due_at, timers.c.work_item_id, timers.c.payload, timers.c.correlation_id).where(
    timers.c.id == bindparam("b_id"))
_lock_timer = _timer_row.with_for_update()
_lock_instance = (
    select(workflow_instances.c.status, cases.c.status.label("case_status"))
    .join(cases, cases.c.id == workflow_instances.c.case_id)
    .where(workflow_instances.c.id == bindparam("b_instance"))
    .with_for_update()
)


def fire_timer(cmd: FireTimer, uow) -> bool:
    """Fire a pending timer; returns False (doing nothing) if it was already fired or cancelled.

    Locks are taken in the order every other step takes them, the case's instance first
    and its timer rows after (completing a work item locks the instance and then cancels
    the task's timers), so a timer firing while its work item is being completed waits
    for that and then finds the timer cancelled, instead of deadlocking with it.
    A timer whose case was closed or whose workflow ended meanwhile is cancelled, not run;
    a workflow timer not yet due on this unit of work's clock is left pending, unleased.
    The firing runs under the correlation id the timer keeps (the one bound now if it keeps none).
    """
    seen = uow.conn.execute(_timer_row, {"b_id": cmd.timer_id}).one_or_none()
    if seen is None or seen.status != "pending":
        return False
    with correlation.bound(seen.correlation_id or correlation.current()):
        return _fire(cmd, uow, seen)


def _fire(cmd: FireTimer, uow, seen) -> bool:
    conn = uow.conn
    owner = conn.execute(_lock_instance, {"b_instance": seen.instance_id}).one_or_none()
    row = conn.execute(_lock_timer, {"b_id": cmd.timer_id}).one_or_none()
    if row is None or row.status != "pending":
        return False
    now = uow.clock.now()
    if owner is None or owner.case_status != "open" or owner.status in ("completed", "cancelled"):
        conn.execute(update(timers).where(timers.c.id == row.id).values(
            status="cancelled", lease_owner=None, lease_expires_at=None))
        return False
    if row.kind == "bpmn_timer" and row.due_at >= now:
        # Not due yet on this clock (the claimer's clock ran ahead of this worker's): the
        # workflow would not fire it, and a row marked done would leave it waiting for good.
        conn.execute(update(timers).where(timers.c.id == row.id).values(lease_owner=None, lease_expires_at=None))
        return False
    conn.execute(update(timers).where(timers.c.id == row.id).values(
        status="done", fired_at=now, lease_owner=None, lease_expires_at=None))
    log.info("firing timer %d: %s of case %d, due %s", row.id, row.kind, row.case_id, row.due_at.isoformat())
    if row.kind == "bpmn_timer":
        run_instance(RunInstance(row.instance_id, reason="timer"), uow)
    elif row.kind in LADDER_KINDS:
        fire_rung(FireRung(row), uow)
    return True


def release_timers(cmd: ReleaseTimers, uow) -> int:
    """Clear the leases of still-pending timers (of `owner` only, when given); returns how many."""
    if not cmd.timer_ids:
        return 0
    stmt = update(timers).where(timers.c.id.in_(list(cmd.timer_ids)), timers.c.status == "pending")
    if cmd.owner is not None:
        stmt = stmt.where(timers.c.lease_owner == cmd.owner)
    return uow.conn.execute(stmt.values(lease_owner=None, lease_expires_at=None)).rowcount


def record_timer_failure(cmd: RecordTimerFailure, uow) -> None:
    """Keep the error on the (still pending) timer row; release its lease if asked."""
    values = {"last_error": cmd.error[:MAX_ERROR_LENGTH]}
    if cmd.release:
        values.update(lease_owner=None, lease_expires_at=None)
    uow.conn.execute(update(timers).where(timers.c.id == cmd.timer_id, timers.c.status == "pending")
                     .values(**values))
