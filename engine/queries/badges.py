"""The counts on an inbox's badges, each the length of the list the inbox would show."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, select, union_all

from engine.accounts.identity import Principal
from engine.store.schema import work_items

from .inbox_scope import InboxFilter, filtered, groups, mine, supervised
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
    the states are what is counted), in one statement.

    The statement counts each branch of the three lists (engine.queries.inbox_scope) apart and adds
    them up here: a branch is what one partial index holds, so without a filter on the case each
    count reads that index alone, where one pass over the lists' OR read every item's row (18,000
    rows, 45 ms, for a caseworker of a large agency). The branches of a list never hold the same item.
    """
    h = horizon(uow)
    where = filtered(filters.without_states(), h)
    scope = supervision_scope(uow, principal)
    due = work_items.c.due_at
    lists = [("assigned", branch) for branch in mine(principal)] + [("grouped", branch) for branch in groups(principal)]
    lists += [("overseen", branch) for branch in supervised(scope)]
    if not lists:
        return InboxCounts(h.now, 0, 0, 0, 0, 0, None)
    parts = []
    for n, (_, branch) in enumerate(lists):
        parts.append(select(literal(n).label("part"), func.count().label("n"),
                            func.count().filter(h.overdue(due)).label("overdue"),
                            func.count().filter(h.due_today(due)).label("due_today"),
                            func.count().filter(h.at_risk(due)).label("at_risk"))
                     .select_from(work_items).where(*branch, *where))
    totals = {"assigned": [0, 0, 0, 0], "grouped": [0, 0, 0, 0], "overseen": [0, 0, 0, 0]}
    for part, n, overdue, due_today, at_risk in uow.conn.execute(union_all(*parts)):
        counted = totals[lists[part][0]]
        for i, value in enumerate((n, overdue, due_today, at_risk)):
            counted[i] += value
    mine_, ours = totals["assigned"], totals["grouped"]
    return InboxCounts(h.now, mine_[0], ours[0], *(mine_[i] + ours[i] for i in (1, 2, 3)),
                       supervised=None if scope.empty else totals["overseen"][0])
