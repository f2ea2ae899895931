"""Incidents as an operator reads them: what is open, and one by its id."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.accounts.identity import Principal
from engine.errors import Forbidden, NotFound
from engine.store.schema import cases, incidents

from .visibility import queue_scope

#: The statuses an incident can have.
STATUSES = ("open", "retried", "resolved")


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


def open_incidents(uow, *, kind: str | None = None, case_id: int | None = None,
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


def incidents_for(uow, principal: Principal, *, status: str = "open", kind: str | None = None,
                  case_id: int | None = None, limit: int = 100) -> list[Incident]:
    """The incidents the principal handles, oldest first: those of the cases of the agencies whose
    escalation queue they read, and, for the commission, those of no case.

    Raises Forbidden for a principal who reads no escalation queue.
    """
    scope = queue_scope(uow, principal)
    if scope.empty:
        raise Forbidden("incidents are handled by section chiefs, agency heads and the commission")
    query = select(incidents).where(incidents.c.status == status)
    if not scope.everything:
        query = query.where(incidents.c.case_id.in_(select(cases.c.id).where(scope.clause(cases.c.agency_id))))
    if kind is not None:
        query = query.where(incidents.c.kind == kind)
    if case_id is not None:
        query = query.where(incidents.c.case_id == case_id)
    rows = uow.conn.execute(query.order_by(incidents.c.created_at, incidents.c.id).limit(limit))
    return [Incident(**row._mapping) for row in rows]


def incident_for(uow, principal: Principal, incident_id: int) -> Incident:
    """One incident the principal handles; raises NotFound for another's, exactly as for none."""
    incident = get_incident(uow, incident_id)
    scope = queue_scope(uow, principal)
    if scope.everything:
        return incident
    if incident.case_id is not None and not scope.empty:
        agency = uow.conn.execute(select(cases.c.agency_id).where(cases.c.id == incident.case_id)).scalar()
        if (agency is None and scope.central) or agency in scope.agency_ids:
            return incident
    raise NotFound(f"incident {incident_id} does not exist")
