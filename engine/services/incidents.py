"""Incidents: what the machinery could not do by itself, kept until someone retries or resolves it.

As in Camunda, a job whose retries ran out (a timer that kept failing, a notification that
could not be delivered) stops and leaves an incident naming the failed row. Retrying an
incident makes the row pending again, so the scheduler or the outbox relay picks it up.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, insert, select, update

from engine.accounts.identity import SYSTEM, Principal
from engine.cases.history import event
from engine.errors import Conflict, InvalidInput
from engine.queries.incidents import Incident, get_incident, incident_for
from engine.store import outbox as outbox_queue
from engine.store.schema import case_events, incidents, timers

#: Kinds of incident the engine opens (others may be added without a migration).
TIMER_FAILED = "timer_failed"
NOTIFICATION_FAILED = "notification_failed"

#: An error text longer than this (a traceback, say) is cut: the start says what went wrong.
MAX_MESSAGE = 4000


def _record(uow, case_id: int | None, kind: str, **data) -> None:
    if case_id is not None:
        uow.conn.execute(insert(case_events), event(case_id, uow.clock.now(), kind, **data))


@dataclass(frozen=True)
class OpenIncident:
    """Open an incident for a row that failed for good (or bring the open one up to date)."""

    kind: str
    subject_table: str
    subject_id: int
    message: str
    case_id: int | None = None
    attempts: int = 0


@dataclass(frozen=True)
class RetryIncident:
    """Make an incident's failed row pending again."""

    incident_id: int
    by: str
    principal: Principal = SYSTEM


@dataclass(frozen=True)
class ResolveIncident:
    """Close an incident without retrying: it was handled by hand."""

    incident_id: int
    by: str
    resolution: str | None = None
    principal: Principal = SYSTEM


@dataclass(frozen=True)
class FailTimer:
    """Give a timer up: mark it failed and open an incident for it."""

    timer_id: int
    message: str
    attempts: int | None = None


def open_incident(cmd: OpenIncident, uow) -> int:
    """Open an incident for a failed row and return its id.

    An incident already open for the same kind and row is brought up to date instead, so a
    failure reported twice (messages are delivered at least once) leaves one incident.
    """
    kind, subject_table, subject_id, case_id = cmd.kind, cmd.subject_table, cmd.subject_id, cmd.case_id
    message, attempts = (cmd.message or "unknown error")[:MAX_MESSAGE], cmd.attempts
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


def retry_incident(cmd: RetryIncident, uow) -> Incident:
    """Make the failed row pending again and mark the incident retried.

    If the retry fails too, a new incident opens. Raises NotFound, Conflict (the incident
    is closed, or its row is no longer failed) or InvalidInput (a row that cannot be retried).
    """
    incident_id, by = cmd.incident_id, cmd.by
    incident = incident_for(uow, cmd.principal, incident_id)
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


def resolve_incident(cmd: ResolveIncident, uow) -> Incident:
    """Close an open incident without retrying (handled by hand); raises NotFound or Conflict."""
    incident_for(uow, cmd.principal, cmd.incident_id)
    resolved = _close(uow, cmd.incident_id, "resolved", cmd.by, cmd.resolution)
    _record(uow, resolved.case_id, "incident_resolved", incident_id=cmd.incident_id, by=cmd.by,
            resolution=cmd.resolution)
    return resolved


def fail_timer(cmd: FailTimer, uow) -> int | None:
    """Mark a pending timer failed and open a 'timer_failed' incident for it; returns its id.

    Returns None, changing nothing, when the timer is not pending (it fired, was cancelled,
    or failed before): the timer actor's retries-exhausted hook calls this.
    """
    timer_id, message, attempts = cmd.timer_id, cmd.message, cmd.attempts
    row = uow.conn.execute(
        update(timers).where(and_(timers.c.id == timer_id, timers.c.status == "pending"))
        .values(status="failed", last_error=(message or "")[:MAX_MESSAGE], lease_owner=None,
                lease_expires_at=None)
        .returning(timers.c.case_id, timers.c.attempts)
    ).one_or_none()
    if row is None:
        return None
    return open_incident(OpenIncident(TIMER_FAILED, "timers", timer_id, message, case_id=row.case_id,
                                      attempts=row.attempts if attempts is None else attempts), uow)
