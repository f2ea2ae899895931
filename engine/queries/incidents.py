"""Incidents as an operator reads them: what is open, and one by its id."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.errors import NotFound
from engine.store.schema import incidents


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
