"""Incidents: what the machinery could not do by itself, kept until someone retries or resolves it.

As in Camunda, a job whose retries ran out (a timer that kept failing, a notification that
could not be delivered) stops and leaves an incident naming the failed row. Retrying an
incident makes the row pending again, so the scheduler or the outbox relay picks it up.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, insert, select, update

from engine.store import outbox as outbox_queue
from ..errors import Conflict, InvalidInput, NotFound
from engine.cases.history import event
from engine.store.schema import case_events, timers
from engine.store.schema import incidents

#: Kinds of incident the engine opens (others may be added without a migration).
TIMER_FAILED = "timer_failed"
NOTIFICATION_FAILED = "notification_failed"

#: An error text longer than this (a traceback, say) is cut: the start says what went wrong.
MAX_MESSAGE = 4000


@dataclass(frozen=True)
class Incident:
    """One incident as an operator sees it."""

    id: int
    kind: str
    subject_table: str
    subject_id: int
    case_id: int | None
    message: str
    attempts: int
    status: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


def _record(uow, case_id: int | None, kind: str, **data) -> None:
    if case_id is not None:
        uow.conn.execute(insert(case_events), event(case_id, uow.clock.now(), kind, **data))


def open_incident(uow, *, kind: str, subject_table: str, subject_id: int, message: str,
                  case_id: int | None = None, attempts: int = 0) -> int:
    """Open an incident for a failed row and return its id.

    An incident already open for the same kind and row is brought up to date instead, so a
    failure reported twice (messages are delivered at least once) leaves one incident.
    """
    message = (message or "unknown error")[:MAX_MESSAGE]
    existing = uow.conn.execute(select(incidents.c.id).where(
        incidents.c.kind == kind, incidents.c.subject_table == subject_table,
        incidents.c.subject_id == subject_id, incidents.c.status == "open")).scalar_one_or_none()
    if existing is not None:
        uow.conn.execute(update(incidents).where(incidents.c.id == existing)
                         .values(message=message, attempts=attempts))
        return existing
    incident_id = uow.conn.execute(insert(incidents).returning(incidents.c.id), {
        "kind": kind, "subject_table": subject_table, "subject_id": subject_id, "case_id": case_id,
        "message": message, "attempts": attempts, "status": "open", "created_at": uow.clock.now(),
    }).scalar_one()
    _record(uow, case_id, "incident_opened", incident_id=incident_id, incident_kind=kind,
            subject=f"{subject_table}/{subject_id}")
    return incident_id


def list_open_incidents(uow, *, kind: str | None = None, case_id: int | None = None,
                        limit: int = 100) -> list[Incident]:
    """Open incidents, oldest first, optionally of one kind or one case."""
    query = select(incidents).where(incidents.c.status == "open")
    if kind is not None:
        query = query.where(incidents.c.kind == kind)
    if case_id is not None:
        query = query.where(incidents.c.case_id == case_id)
    rows = uow.conn.execute(query.order_by(incidents.c.created_at, incidents.c.id).limit(limit))
    return [Incident(**row._mapping) for row in rows]


def get_incident(uow, incident_id: int) -> Incident:
    """One incident; raises NotFound."""
    row = uow.conn.execute(select(incidents).where(incidents.c.id == incident_id)).one_or_none()
    if row is None:
        raise NotFound(f"incident {incident_id} does not exist")
    return Incident(**row._mapping)


def _close(uow, incident_id: int, status: str, by: str, resolution: str | None) -> Incident:
    closed = uow.conn.execute(
        update(incidents).where(and_(incidents.c.id == incident_id, incidents.c.status == "open"))
        .values(status=status, resolved_at=uow.clock.now(), resolved_by=by, resolution=resolution)
        .returning(incidents.c.id)
    ).scalar_one_or_none()
    incident = get_incident(uow, incident_id)  # raises NotFound when there is none
    if closed is None:
        raise Conflict(f"incident {incident_id} is no longer open")
    return incident


def _reset_timer(uow, timer_id: int) -> bool:
    # Due in the past, pending and unleased: the scheduler's next sweep fires it.
    return uow.conn.execute(
        update(timers).where(and_(timers.c.id == timer_id, timers.c.status == "failed"))
        .values(status="pending", attempts=0, lease_owner=None, lease_expires_at=None)
        .returning(timers.c.id)
    ).scalar_one_or_none() is not None


#: How each kind of failed row is made pending again, by table.
_RESETS = {"outbox": outbox_queue.reset_to_pending, "timers": _reset_timer}


def retry_incident(uow, incident_id: int, by: str) -> Incident:
    """Make the failed row pending again and mark the incident retried.

    If the retry fails too, a new incident opens. Raises NotFound, Conflict (the incident
    is closed, or its row is no longer failed) or InvalidInput (a row that cannot be retried).
    """
    incident = get_incident(uow, incident_id)
    if incident.status != "open":
        raise Conflict(f"incident {incident_id} is no longer open")
    reset = _RESETS.get(incident.subject_table)
    if reset is None:
        raise InvalidInput(f"rows of {incident.subject_table!r} cannot be retried; resolve the incident")
    if not reset(uow, incident.subject_id):
        raise Conflict(f"{incident.subject_table} row {incident.subject_id} is no longer failed; "
                       "resolve the incident instead")
    retried = _close(uow, incident_id, "retried", by, None)
    _record(uow, incident.case_id, "incident_retried", incident_id=incident_id, by=by)
    return retried


def resolve_incident(uow, incident_id: int, by: str, resolution: str | None = None) -> Incident:
    """Close an open incident without retrying (handled by hand); raises NotFound or Conflict."""
    resolved = _close(uow, incident_id, "resolved", by, resolution)
    _record(uow, resolved.case_id, "incident_resolved", incident_id=incident_id, by=by, resolution=resolution)
    return resolved


def fail_timer(uow, timer_id: int, message: str, attempts: int | None = None) -> int | None:
    """Mark a pending timer failed and open a 'timer_failed' incident for it; returns its id.

    Returns None, changing nothing, when the timer is not pending (it fired, was cancelled,
    or failed before): the timer actor's retries-exhausted hook calls this.
    """
    row = uow.conn.execute(
        update(timers).where(and_(timers.c.id == timer_id, timers.c.status == "pending"))
        .values(status="failed", last_error=(message or "")[:MAX_MESSAGE], lease_owner=None,
                lease_expires_at=None)
        .returning(timers.c.case_id, timers.c.attempts)
    ).one_or_none()
    if row is None:
        return None
    return open_incident(uow, kind=TIMER_FAILED, subject_table="timers", subject_id=timer_id,
                         message=message, case_id=row.case_id,
                         attempts=row.attempts if attempts is None else attempts)
