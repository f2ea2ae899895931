"""The counts on an inbox's badges, each the length of the list the inbox would show."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select

from engine.accounts.identity import Principal
from engine.store.schema import work_items

from .inbox_scope import InboxFilter, any_of, filtered, groups, mine, supervised
from .lateness import horizon
from .visibility import supervision_scope


@dataclass(frozen=True)
class InboxCounts:
    """Open work as of a moment: assigned to me, open to my groups, and of those two lists the
    overdue, due today and at risk (see engine.queries.lateness: due today is also at risk);
    all open work I supervise, or None when I supervise none."""

    as_of: datetime
    assigned_to_me: int
    open_to_my_groups: int
    overdue: int
    due_today: int
    at_risk: int
    supervised: int | None


def inbox_counts(uow, principal: Principal, filters: InboxFilter = InboxFilter()) -> InboxCounts:
    """The badge counts of open work under a filter (its status and due-state flags are ignored:
    the states are what is counted), in one statement."""
    h = horizon(uow)
    where = filtered(filters.without_states(), h)
    scope = supervision_scope(uow, principal)
    assigned, grouped, overseen = any_of(mine(principal)), any_of(groups(principal)), any_of(supervised(scope))
    listed, due = or_(assigned, grouped), work_items.c.due_at

    def counted(condition):
        return func.count(case((condition, 1)))

    query = (select(counted(assigned), counted(grouped), counted(and_(listed, h.overdue(due))),
                    counted(and_(listed, h.due_today(due))), counted(and_(listed, h.at_risk(due))),
                    counted(overseen))
             .select_from(work_items).where(*where, or_(assigned, grouped, overseen)))
    row = uow.conn.execute(query).one()
    return InboxCounts(h.now, *row[:5], supervised=None if scope.empty else row[5])
