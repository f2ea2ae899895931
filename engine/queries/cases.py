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

from sqlalchemy import bindparam, literal_column, select

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

from .visibility import case_scope, sees_petitioner, visible_cases


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
_case = (select(cases.c.id, cases.c.case_no, cases.c.case_type, cases.c.channel, cases.c.category,
                cases.c.district, cases.c.subject, cases.c.description, cases.c.status, cases.c.confidential, cases.c.agency_id,
                agencies.c.name.label("agency_name"), process_definitions.c.process_key,
                process_definitions.c.version, cases.c.received_at, cases.c.due_at, cases.c.closed_at,
                cases.c.petitioner_id)
         .select_from(cases.outerjoin(agencies, agencies.c.id == cases.c.agency_id)
                      .outerjoin(process_definitions, process_definitions.c.id == _instance)))
_petitioner = select(petitioners.c.name, petitioners.c.id_number, petitioners.c.phone, petitioners.c.email,
                     petitioners.c.address).where(petitioners.c.id == bindparam("b_id"))
_open_work = (select(work_items.c.id, work_items.c.task_spec, work_items.c.name, work_items.c.role,
                     work_items.c.agency_id, agencies.c.name, users.c.username, work_items.c.due_at,
                     work_items.c.escalation_level)
              .select_from(work_items.outerjoin(agencies, agencies.c.id == work_items.c.agency_id)
                           .outerjoin(users, users.c.id == work_items.c.assignee_id))
              .where(work_items.c.case_id == bindparam("b_case"), _OPEN)
              .order_by(work_items.c.due_at.asc().nulls_last(), work_items.c.id))
# Through the case's instances: timers are indexed by instance, not by case.
_timers = (select(timers.c.id, timers.c.kind, timers.c.due_at, timers.c.work_item_id, timers.c.payload)
           .join(workflow_instances, workflow_instances.c.id == timers.c.instance_id)
           .where(workflow_instances.c.case_id == bindparam("b_case"), timers.c.status == "pending")
           .order_by(timers.c.due_at, timers.c.id))
_timeline = (select(case_events.c.id, case_events.c.at, case_events.c.kind, users.c.username,
                    case_events.c.work_item_id, case_events.c.data)
             .select_from(case_events.outerjoin(users, users.c.id == case_events.c.actor_id))
             .where(case_events.c.case_id == bindparam("b_case"))
             .order_by(case_events.c.at, case_events.c.id))


def get_case(uow, principal: Principal, case_id: int, *, personal_data: bool = False) -> CaseView:
    """The case with this id, its petitioner if asked for and allowed; raises NotFound if there is none the
    principal may see."""
    return _view(uow, principal, cases.c.id == case_id, f"case {case_id}", personal_data)


def may_see_case(uow, principal: Principal, case_id: int) -> bool:
    """True if the case exists and is one the principal may see."""
    scope = case_scope(uow, principal)
    query = select(cases.c.id).where(cases.c.id == case_id)
    return uow.conn.execute(query if scope.everything else query.where(visible_cases(scope))).first() is not None


def get_case_by_number(uow, principal: Principal, case_no: str, *, personal_data: bool = False) -> CaseView:
    """The case with this case number (P20261126000123); raises NotFound as get_case."""
    return _view(uow, principal, cases.c.case_no == case_no, f"case {case_no}", personal_data)


def _view(uow, principal: Principal, which, label: str, personal_data: bool) -> CaseView:
    scope = case_scope(uow, principal)
    query = _case.where(which) if scope.everything else _case.where(which, visible_cases(scope))
    row = uow.conn.execute(query).one_or_none()
    if row is None:
        raise NotFound(f"{label} does not exist")
    conn = uow.conn
    shown = sees_petitioner(uow, principal, case_type=row.case_type, agency_id=row.agency_id,
                            confidential=row.confidential)
    petitioner = None
    if row.petitioner_id is not None and shown and personal_data:
        petitioner = Petitioner(*conn.execute(_petitioner, {"b_id": row.petitioner_id}).one())
    work = tuple(OpenWork(*r) for r in conn.execute(_open_work, {"b_case": row.id}))
    pending = tuple(PendingTimer(r.id, r.kind, r.due_at, r.work_item_id, (r.payload or {}).get("level"))
                    for r in conn.execute(_timers, {"b_case": row.id}))
    timeline = tuple(TimelineEntry(*r) for r in conn.execute(_timeline, {"b_case": row.id}))
    return CaseView(*row[:17], petitioner=petitioner, petitioner_hidden=row.petitioner_id is not None and not shown,
                    open_work=work, pending_timers=pending, timeline=timeline)
