"""A user's inbox: work assigned to them, open to their groups, or under their supervision.

Items come in due order, the soonest first, items without a due time last, then by id, a page
at a time with a keyset cursor (engine.queries.keyset): a page reads its items from the
partial indexes of open work, however long the inbox.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select

from engine.accounts.identity import Principal
from engine.store.schema import agencies, cases, process_definitions, users, work_items, workflow_instances

from .inbox_scope import InboxFilter, filtered, view_branches
from .keyset import Cursor, page_ids
from .lateness import horizon

#: Items per page unless asked otherwise, and the most a page holds.
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class InboxItem:
    """One work item as an inbox row shows it (no personal data of the petitioner)."""

    work_item_id: int
    case_id: int
    case_no: str
    case_type: str
    category: str | None
    district: str | None
    subject: str | None
    process_key: str
    task_spec: str
    name: str
    role: str | None
    agency_id: int | None
    agency_name: str | None
    assignee_id: int | None
    assignee: str | None  # username
    status: str
    due_at: datetime | None
    escalation_level: int
    due_state: str | None  # overdue, due_today, at_risk, on_time; None without a due time


@dataclass(frozen=True)
class InboxPage:
    """A page of an inbox as of a moment, and the cursor of the next page (None: this is the last)."""

    as_of: datetime
    items: tuple
    next_cursor: str | None


_assignee = users.alias("assignee")


def inbox(uow, principal: Principal, *, view: str = "inbox", filters: InboxFilter = InboxFilter(),
          cursor: str | None = None, limit: int = PAGE_SIZE) -> InboxPage:
    """A page of the principal's inbox in due order; raises InvalidInput for a bad view, status or cursor."""
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    after = Cursor.decode(cursor) if cursor is not None else None
    h = horizon(uow)
    if view == "supervised" or filters.overdue or filters.due_today or filters.at_risk:
        # The supervised scope is read from the database, the states of due times from the clock.
        query = _page_query(uow, principal, view, filters, after, limit, h)
    else:
        query = _cached_page_query(principal, view, filters, after, limit)
    if query is None:
        return InboxPage(h.now, (), None)
    rows = uow.conn.execute(query).all()
    items = tuple(InboxItem(*row, due_state=h.state(row.due_at)) for row in rows[:limit])
    more = len(rows) > limit
    return InboxPage(h.now, items, Cursor(items[-1].due_at, items[-1].work_item_id).encode() if more else None)


@lru_cache(maxsize=512)
def _cached_page_query(principal: Principal, view: str, filters: InboxFilter, after: Cursor | None, limit: int):
    """_page_query of a view that depends on its arguments alone, built once per process for the
    same arguments (a caseworker reading their inbox again): building the statement and its
    cache key cost about as much as running it on SQLite."""
    return _page_query(None, principal, view, filters, after, limit, None)


def _page_query(uow, principal: Principal, view: str, filters: InboxFilter, after: Cursor | None, limit: int, h):
    """The statement of a page, or None if the view has no branch."""
    where = filtered(filters, h)
    # One item more than the page: whether there is a next page, without counting.
    page = page_ids(view_branches(uow, principal, view, filters.status), where, after, limit + 1)
    if page is None:
        return None
    return (
        select(work_items.c.id, work_items.c.case_id, cases.c.case_no, cases.c.case_type, cases.c.category,
               cases.c.district, cases.c.subject, process_definitions.c.process_key, work_items.c.task_spec,
               work_items.c.name, work_items.c.role, work_items.c.agency_id, agencies.c.name.label("agency_name"),
               work_items.c.assignee_id, _assignee.c.username.label("assignee"), work_items.c.status,
               work_items.c.due_at, work_items.c.escalation_level)
        .select_from(page.join(work_items, work_items.c.id == page.c.id)
                     .join(cases, cases.c.id == work_items.c.case_id)
                     .join(workflow_instances, workflow_instances.c.id == work_items.c.instance_id)
                     .join(process_definitions, process_definitions.c.id == workflow_instances.c.definition_id)
                     .outerjoin(agencies, agencies.c.id == work_items.c.agency_id)
                     .outerjoin(_assignee, _assignee.c.id == work_items.c.assignee_id))
        .order_by(page.c.due_at.asc().nulls_last(), page.c.id)
        .limit(limit + 1)
    )
