"""In-app notices as their readers see them: their own and their groups', newest first."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from engine.accounts.identity import Principal
from engine.store.schema import notifications


@dataclass(frozen=True)
class Notice:
    """An in-app notification as its reader sees it."""

    id: int
    kind: str
    title: str
    body: str | None
    case_id: int | None
    work_item_id: int | None
    created_at: datetime
    read_at: datetime | None
    to_group: bool


def addressed_to(principal: Principal):
    """The notices a principal reads: their own, and those of each (role, agency) they hold."""
    clauses = []
    if principal.user_id is not None:
        clauses.append(notifications.c.user_id == principal.user_id)
    for role, agency_id in sorted(principal.roles, key=str):
        clauses.append(notifications.c.role == role if agency_id is None
                       else and_(notifications.c.role == role, notifications.c.agency_id == agency_id))
    return or_(*clauses) if clauses else None


def notices_for(uow, principal: Principal, *, unread_only: bool = False, limit: int = 50) -> list[Notice]:
    """A principal's notices, newest first; group notices resolve membership now, as the inbox does."""
    addressed = addressed_to(principal)
    if addressed is None:
        return []
    query = select(notifications).where(addressed)
    if unread_only:
        query = query.where(notifications.c.read_at.is_(None))
    rows = uow.conn.execute(query.order_by(notifications.c.created_at.desc(), notifications.c.id.desc())
                            .limit(limit))
    return [Notice(r.id, r.kind, r.title, r.body, r.case_id, r.work_item_id, r.created_at, r.read_at,
                   to_group=r.user_id is None) for r in rows]
