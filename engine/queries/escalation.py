"""The escalation queue: open work that is overdue or at risk, per agency and level, scoped to its reader."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import and_, bindparam, case, func, literal_column, or_, select

from engine.accounts.identity import SYSTEM, Principal
from engine.deadlines.calendar import calendar_for
from engine.errors import Forbidden
from engine.store.schema import agencies, cases, units, users, work_items

from .lateness import AT_RISK_WORKING_DAYS, horizon_for, working_days_late_all
from .visibility import queue_scope


@dataclass(frozen=True)
class QueueItem:
    """One open work item that is late or about to be."""

    work_item_id: int
    case_id: int
    case_no: str
    name: str
    role: str | None
    agency_id: int | None
    agency_name: str | None
    due_at: datetime
    escalation_level: int
    assignee: str | None  # who holds it (username); None: open to the group
    since: datetime  # when the item opened
    state: str  # 'overdue' or 'at_risk'
    working_days_late: int  # 0 when not yet late


@dataclass(frozen=True)
class QueueCount:
    """How many items of an agency (None: central work) at a level are in a state."""

    agency_id: int | None
    agency_name: str | None
    level: int
    state: str
    count: int


@dataclass(frozen=True)
class UnitCount:
    """How many items of one agency's unit (科; None: cases placed in no unit) at a level are in a state."""

    unit_id: int | None
    unit_name: str | None
    level: int
    state: str
    count: int


@dataclass(frozen=True)
class EscalationQueue:
    """The queue as of a moment: its first `limit` items, most late first, and the counts per
    (agency, level, state) over all of it, whatever the limit; when the queue is one agency's,
    the counts per unit of its cases too (empty otherwise)."""

    as_of: datetime
    items: tuple
    counts: tuple
    unit_counts: tuple = ()


def escalation_queue(uow, principal: Principal = SYSTEM, *, agency_id: int | None = None,
                     level: int | None = None, min_level: int = 0, at_risk_days: int = AT_RISK_WORKING_DAYS,
                     limit: int = 500) -> EscalationQueue:
    """Open work overdue or due within `at_risk_days` working days, in the principal's scope
    (engine.queries.visibility), optionally of one agency and one level or above one.

    Raises Forbidden for a principal who reads no queue, or asks for an agency outside theirs.
    """
    scope = queue_scope(uow, principal)
    if scope.empty:
        raise Forbidden("the escalation queue is read by section chiefs, agency heads and the commission")
    if agency_id is not None and not scope.everything and agency_id not in scope.agency_ids:
        raise Forbidden(f"agency {agency_id}'s escalation queue is not yours to read")
    cal = calendar_for(uow)
    h = horizon_for(cal, uow.clock.now(), at_risk_days)
    shape = _Shape(_scope_kind(scope), agency_id is not None, level is not None)
    params = {"b_now": h.now, "b_until": h.at_risk_until, "b_min_level": min_level, "b_limit": limit,
              "b_agencies": sorted(scope.agency_ids), "b_agency": agency_id, "b_level": level}
    rows = uow.conn.execute(_statements(shape).listed, params).all()
    late = working_days_late_all(cal, {row.due_at for row in rows}, h.now)
    items = tuple(QueueItem(*row, state="overdue" if row.due_at < h.now else "at_risk",
                            working_days_late=late[row.due_at]) for row in rows)
    one_agency = agency_id if agency_id is not None else (
        next(iter(scope.agency_ids)) if not scope.everything and not scope.central and len(scope.agency_ids) == 1
        else None)
    if one_agency is None:
        return EscalationQueue(h.now, items, _agency_counts(uow, shape, params))
    unit_counts = _unit_counts(uow, shape, params)
    return EscalationQueue(h.now, items, _summed(uow, one_agency, unit_counts, items), unit_counts)


@dataclass(frozen=True)
class _Shape:
    """What a queue's statements depend on, beside their parameters: which agencies (every one,
    some, central work, some and central work), one agency asked for, one level asked for."""

    scope: str
    one_agency: bool
    one_level: bool


def _scope_kind(scope) -> str:
    if scope.everything:
        return "everything"
    return ("some" if scope.agency_ids else "") + ("central" if scope.central else "")


@dataclass(frozen=True)
class _Statements:
    listed: object
    agency_counts: object
    unit_counts: object


@lru_cache(maxsize=None)
def _statements(shape: _Shape) -> _Statements:
    """The queue's three statements for a shape, built once per process (building them and their cache
    keys took as long as running the list); every value is a parameter (see escalation_queue)."""
    due, agency = work_items.c.due_at, work_items.c.agency_id
    some = agency.in_(bindparam("b_agencies", expanding=True))
    in_scope = {"everything": [], "some": [some], "central": [agency.is_(None)],
                "somecentral": [or_(some, agency.is_(None))]}[shape.scope]
    wanted = [work_items.c.status == literal_column("'open'"), due <= bindparam("b_until"),
              work_items.c.escalation_level >= bindparam("b_min_level"), *in_scope]
    if shape.one_agency:
        wanted.append(agency == bindparam("b_agency"))
    if shape.one_level:
        wanted.append(work_items.c.escalation_level == bindparam("b_level"))
    # The items' case numbers, agencies' and holders' names as subqueries on their primary keys, not
    # joins: the same rows, and PostgreSQL plans the statement (anew at each call: its due time and
    # limit decide the plan) in a quarter of the time it took to plan the four-table join (0.6 ms).
    listed = (
        select(work_items.c.id, work_items.c.case_id,
               select(cases.c.case_no).where(cases.c.id == work_items.c.case_id).scalar_subquery().label("case_no"),
               work_items.c.name, work_items.c.role, agency,
               select(agencies.c.name).where(agencies.c.id == agency).scalar_subquery().label("agency_name"),
               due, work_items.c.escalation_level,
               select(users.c.username).where(users.c.id == work_items.c.assignee_id)
               .scalar_subquery().label("username"),
               work_items.c.created_at)
        .where(and_(*wanted)).order_by(due, work_items.c.id).limit(bindparam("b_limit"))
    )
    # Per agency and level, on work_items alone: one pass over the index of open work by due time,
    # grouped by two integers (each group counts its items and those overdue; the rest are at risk),
    # the agencies' names joined to the groups.
    by_agency = (select(agency, work_items.c.escalation_level.label("level"),
                        func.count().filter(due < bindparam("b_now")).label("overdue"), func.count().label("n"))
                 .where(and_(*wanted)).group_by(agency, work_items.c.escalation_level).subquery())
    agency_counts = (select(by_agency.c.agency_id, agencies.c.name, by_agency.c.level, by_agency.c.overdue,
                            by_agency.c.n)
                     .select_from(by_agency.outerjoin(agencies, agencies.c.id == by_agency.c.agency_id)))
    # Per unit of the cases (one agency's), from the unit each open item keeps of its case: the agency's
    # index of open work alone, the units' names joined to the groups.
    state = case((due < bindparam("b_now"), "overdue"), else_="at_risk")
    by_unit = (select(work_items.c.unit_id, work_items.c.escalation_level.label("level"), state.label("state"),
                      func.count().label("n"))
               .where(and_(*wanted)).group_by(work_items.c.unit_id, work_items.c.escalation_level, state).subquery())
    unit_counts = (select(by_unit.c.unit_id, units.c.name, by_unit.c.level, by_unit.c.state, by_unit.c.n)
                   .select_from(by_unit.outerjoin(units, units.c.id == by_unit.c.unit_id)))
    return _Statements(listed, agency_counts, unit_counts)


def _agency_counts(uow, shape: _Shape, params: dict) -> tuple:
    """The queue's counts per agency, level and state."""
    rows = uow.conn.execute(_statements(shape).agency_counts, params).all()
    counts = [QueueCount(agency, name, level, st, n) for agency, name, level, overdue, total in rows
              for st, n in (("at_risk", total - overdue), ("overdue", overdue)) if n]
    return tuple(sorted(counts, key=lambda c: (c.agency_id is not None, c.agency_id or 0, c.level, c.state)))


def _unit_counts(uow, shape: _Shape, params: dict) -> tuple:
    """The queue's counts per unit of its cases (one agency's)."""
    rows = uow.conn.execute(_statements(shape).unit_counts, params).all()
    return tuple(sorted((UnitCount(*row) for row in rows),
                        key=lambda c: (c.unit_id is None, c.unit_name or "", c.level, c.state)))


_agency_name = select(agencies.c.name).where(agencies.c.id == bindparam("b_agency"))


def _summed(uow, agency_id: int, unit_counts: tuple, items: tuple) -> tuple:
    """One agency's counts per level and state: the sums of its units' (every item is the agency's,
    its name that of the items listed)."""
    if not unit_counts:
        return ()
    sums: dict = {}
    for c in unit_counts:
        sums[(c.level, c.state)] = sums.get((c.level, c.state), 0) + c.count
    name = items[0].agency_name if items else uow.conn.execute(_agency_name, {"b_agency": agency_id}).scalar_one()
    return tuple(QueueCount(agency_id, name, level, st, n) for (level, st), n in sorted(sums.items()))
