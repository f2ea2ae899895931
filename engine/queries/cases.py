"""One case as its page shows it: the case, its petitioner when allowed, open work, timers, timeline.

Who sees a case is engine.queries.visibility's case scope; a case outside it is NotFound, as
if it did not exist, so a refusal tells nothing about other agencies' cases. The petitioner is
personal data: it is read only when asked for (`personal_data=True`) and shown only to the
roles that need it (visibility.sees_petitioner). Every read of it must be recorded, so a page
that shows a case to a person reads it through engine.services.case_views.view_case, which
writes the record; a query does not write.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import JSON, bindparam, literal, literal_column, null, select, type_coerce, union_all

from engine.accounts.identity import Principal
from engine.errors import NotFound
from engine.store.schema import (
    agencies,
    case_events,
    cases,
    petitioners,
    process_definitions,
    timers,
    users,
    work_items,
    workflow_instances,
)

from .visibility import VISIBLE_TO_AGENCIES, case_scope, scope_parameters, sees_petitioner, visible_cases


@dataclass(frozen=True)
class Petitioner:
    """Who filed the case and how to reach them: personal data."""

    name: str | None
    id_number: str | None
    phone: str | None
    email: str | None
    address: str | None


@dataclass(frozen=True)
class OpenWork:
    """An open work item of the case."""

    work_item_id: int
    task_spec: str
    name: str
    role: str | None
    agency_id: int | None
    agency_name: str | None
    assignee: str | None
    due_at: datetime | None
    escalation_level: int


@dataclass(frozen=True)
class PendingTimer:
    """A deadline still to come: a BPMN timer, a reminder or a rung of the ladder (level)."""

    timer_id: int
    kind: str
    due_at: datetime
    work_item_id: int | None
    level: int | None


@dataclass(frozen=True)
class TimelineEntry:
    """One event of the case's history; `data` is the event's own record (JSON)."""

    event_id: int
    at: datetime
    kind: str
    actor: str | None  # username; None for the engine itself
    work_item_id: int | None
    data: dict | None


@dataclass(frozen=True)
class CaseView:
    """A case with what its page shows; `petitioner` only when asked for and allowed, `petitioner_hidden`
    when the case has one the reader may not see."""

    case_id: int
    case_no: str
    case_type: str
    channel: str | None
    category: str | None
    district: str | None
    subject: str | None
    description: str | None
    status: str
    confidential: bool
    agency_id: int | None
    agency_name: str | None
    process_key: str | None
    process_version: int | None
    received_at: datetime
    due_at: datetime | None
    closed_at: datetime | None
    petitioner: Petitioner | None
    petitioner_hidden: bool
    open_work: tuple
    pending_timers: tuple
    timeline: tuple


_OPEN = work_items.c.status == literal_column("'open'")
_instance = (select(workflow_instances.c.definition_id).where(workflow_instances.c.case_id == cases.c.id)
             .order_by(workflow_instances.c.id.desc()).limit(1).scalar_subquery())
_CASE_COLUMNS = (cases.c.id, cases.c.case_no, cases.c.case_type, cases.c.channel, cases.c.category,
                 cases.c.district, cases.c.subject, cases.c.description, cases.c.status, cases.c.confidential,
                 cases.c.agency_id, agencies.c.name.label("agency_name"), process_definitions.c.process_key,
                 process_definitions.c.version, cases.c.received_at, cases.c.due_at, cases.c.closed_at,
                 cases.c.petitioner_id)
_case_from = (cases.outerjoin(agencies, agencies.c.id == cases.c.agency_id)
              .outerjoin(process_definitions, process_definitions.c.id == _instance))
_case = select(*_CASE_COLUMNS).select_from(_case_from)
# With the petitioner, for a page that may show it: read with the case, kept only if the reader may see it.
_PETITIONER_COLUMNS = (petitioners.c.name, petitioners.c.id_number, petitioners.c.phone, petitioners.c.email,
                       petitioners.c.address)
_case_and_petitioner = (select(*_CASE_COLUMNS, *_PETITIONER_COLUMNS)
                        .select_from(_case_from.outerjoin(petitioners, petitioners.c.id == cases.c.petitioner_id)))

# The page's three lists (open work, pending timers, timeline) in one statement, one round trip: rows of
# one shape, `part` telling which list a row belongs to, each list in its own order.
_WORK, _TIMER, _EVENT = 0, 1, 2
_no = lambda type_: type_coerce(null(), type_)  # noqa: E731  (a typed NULL: rows of each part are read alike)
_case_param = bindparam("b_case")
_work_part = (select(literal(_WORK).label("part"), work_items.c.id, work_items.c.due_at.label("at"),
                     work_items.c.task_spec.label("kind"), work_items.c.name, work_items.c.role, work_items.c.agency_id,
                     agencies.c.name.label("agency_name"), users.c.username,
                     _no(work_items.c.id.type).label("work_item_id"), work_items.c.escalation_level,
                     _no(JSON).label("data"))
              .select_from(work_items.outerjoin(agencies, agencies.c.id == work_items.c.agency_id)
                           .outerjoin(users, users.c.id == work_items.c.assignee_id))
              .where(work_items.c.case_id == _case_param, _OPEN))
# Through the case's instances: timers are indexed by instance, not by case.
_timer_part = (select(literal(_TIMER), timers.c.id, timers.c.due_at, timers.c.kind, null(), null(), null(), null(),
                      null(), timers.c.work_item_id, null(), timers.c.payload)
               .join(workflow_instances, workflow_instances.c.id == timers.c.instance_id)
               .where(workflow_instances.c.case_id == _case_param, timers.c.status == "pending"))
_event_part = (select(literal(_EVENT), case_events.c.id, case_events.c.at, case_events.c.kind, null(), null(), null(),
                      null(), users.c.username, case_events.c.work_item_id, null(), case_events.c.data)
               .select_from(case_events.outerjoin(users, users.c.id == case_events.c.actor_id))
               .where(case_events.c.case_id == _case_param))
_lists = union_all(_work_part, _timer_part, _event_part).subquery("lists")
# Open work soonest due first (no due time last), timers by due time, the timeline oldest first; then by id.
_case_lists = select(_lists).order_by(_lists.c.part, _lists.c.at.is_(None), _lists.c.at, _lists.c.id)


@lru_cache(maxsize=None)
def _case_query(by_number: bool, scoped: bool, personal_data: bool):
    """The case row's statement, built once per kind: the case by id (b_which) or number, for a reader who sees
    every case or a scope of agencies (b_scope_agencies), with the petitioner or without."""
    which = (cases.c.case_no if by_number else cases.c.id) == bindparam("b_which")
    query = (_case_and_petitioner if personal_data else _case).where(which)
    return query.where(VISIBLE_TO_AGENCIES) if scoped else query


def get_case(uow, principal: Principal, case_id: int, *, personal_data: bool = False) -> CaseView:
    """The case with this id, its petitioner if asked for and allowed; raises NotFound if there is none the
    principal may see."""
    return _view(uow, principal, False, case_id, f"case {case_id}", personal_data)


def may_see_case(uow, principal: Principal, case_id: int) -> bool:
    """True if the case exists and is one the principal may see."""
    scope = case_scope(uow, principal)
    query = select(cases.c.id).where(cases.c.id == case_id)
    return uow.conn.execute(query if scope.everything else query.where(visible_cases(scope))).first() is not None


def get_case_by_number(uow, principal: Principal, case_no: str, *, personal_data: bool = False) -> CaseView:
    """The case with this case number (P20261126000123); raises NotFound as get_case."""
    return _view(uow, principal, True, case_no, f"case {case_no}", personal_data)


def _view(uow, principal: Principal, by_number: bool, which, label: str, personal_data: bool) -> CaseView:
    scope = case_scope(uow, principal)
    params = {"b_which": which, **({} if scope.everything else scope_parameters(scope))}
    row = uow.conn.execute(_case_query(by_number, not scope.everything, personal_data), params).one_or_none()
    if row is None:
        raise NotFound(f"{label} does not exist")
    shown = sees_petitioner(uow, principal, case_type=row.case_type, agency_id=row.agency_id,
                            confidential=row.confidential)
    petitioner = None
    if row.petitioner_id is not None and shown and personal_data:
        petitioner = Petitioner(*row[18:23])
    work, pending, timeline = [], [], []
    for r in uow.conn.execute(_case_lists, {"b_case": row.id}):
        if r.part == _WORK:
            work.append(OpenWork(r.id, r.kind, r.name, r.role, r.agency_id, r.agency_name, r.username, r.at,
                                 r.escalation_level))
        elif r.part == _TIMER:
            pending.append(PendingTimer(r.id, r.kind, r.at, r.work_item_id, (r.data or {}).get("level")))
        else:
            timeline.append(TimelineEntry(r.id, r.at, r.kind, r.username, r.work_item_id, r.data))
    return CaseView(*row[:17], petitioner=petitioner, petitioner_hidden=row.petitioner_id is not None and not shown,
                    open_work=tuple(work), pending_timers=tuple(pending), timeline=tuple(timeline))
