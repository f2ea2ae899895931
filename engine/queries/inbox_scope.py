"""What each view of the inbox holds, and the filters: SQL conditions on work_items and cases.

A view is a list of branches, each a list of conditions that one partial index serves
(engine.store.schema, migration 0007); the branches of a view never hold the same item.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import and_, false, literal_column, or_, select

from engine.accounts.identity import Principal
from engine.errors import InvalidInput
from engine.store.schema import cases, process_definitions, work_items, workflow_instances

from .lateness import Horizon
from .visibility import Scope, supervision_scope

#: The views of the inbox: what I hold and what my groups may take (the default), each of them
#: alone, and a section chief's or agency head's view of all open work of their agencies.
VIEWS = ("inbox", "mine", "groups", "supervised")

#: Work item statuses the inbox lists; completed work only in the view "mine" (what I completed).
STATUSES = ("open", "completed")

# Literals, not bound parameters: a partial index is used only when the query's condition
# implies the index's, which neither database can prove of a parameter.
OPEN = work_items.c.status == literal_column("'open'")
COMPLETED = work_items.c.status == literal_column("'completed'")


@dataclass(frozen=True)
class InboxFilter:
    """What to narrow an inbox to; every field left at its default lets everything through.

    overdue, due_today and at_risk (see engine.queries.lateness) together keep items in any of
    the states asked for: "overdue or at risk" is the escalation queue's selection.
    """

    case_type: str | None = None
    process_key: str | None = None
    task_spec: str | None = None
    status: str = "open"
    category: str | None = None
    district: str | None = None
    due_before: datetime | None = None
    overdue: bool = False
    due_today: bool = False
    at_risk: bool = False

    def without_states(self) -> "InboxFilter":
        """The same filter for open work, whatever the state of its due time."""
        return replace(self, status="open", overdue=False, due_today=False, at_risk=False)


def mine(principal: Principal, status: str = "open") -> list[list]:
    """Open work assigned to me; or the work I completed."""
    if principal.user_id is None:
        return []
    if status == "completed":
        return [[COMPLETED, work_items.c.completed_by == principal.user_id]]
    return [[OPEN, work_items.c.assignee_id == principal.user_id]]


def groups(principal: Principal) -> list[list]:
    """Unassigned open work of a role I hold, in the agency I hold it for (or any agency)."""
    everywhere = sorted({role for role, agency in principal.roles if agency is None})
    branches = []
    for role in everywhere:
        # Central work has no agency: its own branch reads it in due order from the index.
        branches += [[work_items.c.role == role, work_items.c.agency_id.is_(None)],
                     [work_items.c.role == role, work_items.c.agency_id.is_not(None)]]
    for role, agency in sorted((r, a) for r, a in principal.roles if a is not None and r not in everywhere):
        branches.append([work_items.c.role == role, work_items.c.agency_id == agency])
    return [[OPEN, work_items.c.assignee_id.is_(None), *branch] for branch in branches]


def supervised(scope: Scope) -> list[list]:
    """All open work of the agencies in scope, assigned or not."""
    if scope.everything:
        return [[OPEN]]
    branches = [[OPEN, work_items.c.agency_id == agency] for agency in sorted(scope.agency_ids)]
    if scope.central:
        branches.append([OPEN, work_items.c.agency_id.is_(None)])
    return branches


def view_branches(uow, principal: Principal, view: str, status: str = "open") -> list[list]:
    """The branches of a view; raises InvalidInput for an unknown view or status."""
    if view not in VIEWS:
        raise InvalidInput(f"unknown inbox view {view!r}; one of {', '.join(VIEWS)}",
                           details={"fields": {"view": ["unknown view"]}})
    if status not in STATUSES or (status != "open" and view != "mine"):
        raise InvalidInput("the inbox lists open work, and in the view 'mine' the work you completed",
                           details={"fields": {"status": [f"{status!r} is not listed in view {view!r}"]}})
    if view == "mine":
        return mine(principal, status)
    if view == "groups":
        return groups(principal)
    if view == "inbox":
        return mine(principal) + groups(principal)
    return supervised(supervision_scope(uow, principal))


def any_of(branches: list[list]):
    """SQL: an item in any of the branches."""
    return or_(*(and_(*branch) for branch in branches)) if branches else false()


def filtered(f: InboxFilter, h: Horizon) -> list:
    """The conditions of a filter on work_items.

    What a filter asks of the case or the process is read per item through the case's and the
    instance's primary keys (scalar subqueries), never by joining: an inbox page is read in due
    order from an index and stops at its limit, where a join may hash every case of a district.
    """
    due, where = work_items.c.due_at, []
    for name in ("case_type", "category", "district"):
        value = getattr(f, name)
        if value is not None:
            where.append(_of_case(cases.c[name]) == value)
    if f.process_key is not None:
        where.append(_process_key() == f.process_key)
    if f.task_spec is not None:
        where.append(work_items.c.task_spec == f.task_spec)
    if f.due_before is not None:
        if not isinstance(f.due_before, datetime) or f.due_before.utcoffset() is None:
            raise InvalidInput("due_before must be a date and time with its UTC offset",
                               details={"fields": {"due_before": ["needs a UTC offset"]}})
        where.append(due < f.due_before)
    if f.overdue or f.due_today or f.at_risk:
        where.append(h.in_states(due, overdue=f.overdue, due_today=f.due_today, at_risk=f.at_risk))
    return where


def _of_case(column):
    return select(column).where(cases.c.id == work_items.c.case_id).scalar_subquery()


def _process_key():
    return (select(process_definitions.c.process_key)
            .join(workflow_instances, workflow_instances.c.definition_id == process_definitions.c.id)
            .where(workflow_instances.c.id == work_items.c.instance_id).scalar_subquery())
