"""One work item as its page shows it: the item, its form, the case data the form shows, my draft.

Who sees an item: whoever has it in an inbox view (assigned to them or completed by them, open
to a group of theirs, under their supervision), and whoever sees its case
(engine.queries.visibility). Anyone else gets NotFound, exactly as for an item that does not
exist. This one rule (`is_visible`) decides for the page and for every command on an item
(claim, unclaim, assign, drafts in engine.services.work_items; completion in
engine.services.work): an item the principal may not see is NotFound before anything is
looked at further, one they see but may not act on is Forbidden, saying why.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, literal_column, select

from engine.accounts.identity import Principal
from engine.errors import NotFound
from engine.store.schema import agencies, cases, users, work_item_drafts, work_items, workflow_instances
from engine.workflow import forms, runner, state

from .lateness import horizon
from .visibility import case_scope, supervision_scope


@dataclass(frozen=True)
class Draft:
    """What I saved of the item's form, unfinished."""

    data: dict
    saved_at: datetime


@dataclass(frozen=True)
class WorkItemView:
    """A work item with what working it needs.

    `version` is the item's own (claims and assignments raise it: an ETag for the item);
    `instance_version` the case workflow's, for completing the item (expected_version).
    `task_data` is the task's data in the workflow: what earlier steps decided (the drafted
    reply a supervisor approves), names starting with '_' and values that are not JSON left out.
    """

    work_item_id: int
    case_id: int
    case_no: str
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
    due_state: str | None
    version: int
    form_key: str | None
    form: dict | None  # the form's JSON Schema
    subject: str | None
    category: str | None
    district: str | None
    case_due_at: datetime | None
    task_data: dict
    draft: Draft | None
    instance_version: int
    may_complete: bool


_assignee = users.alias("assignee")

#: The columns the work item commands decide on (engine.services.work_items) and the view shows.
ITEM_COLUMNS = (
    work_items.c.id, work_items.c.case_id, work_items.c.instance_id, work_items.c.task_id, work_items.c.task_spec,
    work_items.c.name, work_items.c.role, work_items.c.agency_id, work_items.c.assignee_id,
    _assignee.c.username.label("assignee"), work_items.c.status, work_items.c.form_key, work_items.c.due_at,
    work_items.c.escalation_level, work_items.c.version, work_items.c.completed_by,
    cases.c.case_no, cases.c.agency_id.label("case_agency_id"))
ITEM_FROM = (work_items.join(cases, cases.c.id == work_items.c.case_id)
         .outerjoin(_assignee, _assignee.c.id == work_items.c.assignee_id))

_view = (select(*ITEM_COLUMNS, agencies.c.name.label("agency_name"), cases.c.subject, cases.c.category,
                cases.c.district, cases.c.due_at.label("case_due_at"),
                workflow_instances.c.version.label("instance_version"), workflow_instances.c.definition_id,
                workflow_instances.c.state)
         .select_from(ITEM_FROM.join(workflow_instances, workflow_instances.c.id == work_items.c.instance_id)
                      .outerjoin(agencies, agencies.c.id == work_items.c.agency_id))
         .where(work_items.c.id == bindparam("b_item")))
_draft = select(work_item_drafts.c.data, work_item_drafts.c.saved_at).where(
    work_item_drafts.c.work_item_id == bindparam("b_item"), work_item_drafts.c.user_id == bindparam("b_user"))
_OPEN = work_items.c.status == literal_column("'open'")


def may_complete(principal: Principal, row) -> bool:
    """The assignee, or when unassigned any holder of the item's role in its agency (or an admin)."""
    if principal.is_admin:
        return True
    if row.assignee_id is not None:
        return row.assignee_id == principal.user_id
    return principal.holds(row.role, row.agency_id)


def why_not_complete(principal: Principal, row, assignee: str | None) -> str | None:
    """Why the principal may not complete (or draft) the item, as a clause to follow "you may not ...: ",
    or None when they may (may_complete). `assignee` is the username of the item's holder, if any."""
    if may_complete(principal, row):
        return None
    if row.assignee_id is not None:
        return f"it is assigned to {assignee}, and only they may work on it"
    if row.role is None:
        return "it is for no role, so only an administrator may work on it"
    return f"it is for the role {row.role} of its agency, which you do not hold"


def supervises(uow, principal: Principal, agency_id: int | None) -> bool:
    """True if the principal oversees the open work of this agency (None: central work)."""
    scope = supervision_scope(uow, principal)
    return scope.everything or agency_id in scope.agency_ids or (agency_id is None and scope.central)


def is_visible(uow, principal: Principal, row) -> bool:
    """True if the item is in one of the principal's inbox views or its case in their case scope."""
    me = principal.user_id
    if principal.is_admin or (me is not None and me in (row.assignee_id, row.completed_by)):
        return True
    if row.status == "open" and ((row.assignee_id is None and principal.holds(row.role, row.agency_id))
                                 or supervises(uow, principal, row.agency_id)):
        return True
    scope = case_scope(uow, principal)
    if scope.everything or row.case_agency_id in scope.agency_ids:
        return True
    if not scope.agency_ids:
        return False
    # A case with open work for an agency in scope (a co-handling agency while its opinion is asked).
    work_for_us = exists().where(work_items.c.case_id == row.case_id, _OPEN,
                                 work_items.c.agency_id.in_(sorted(scope.agency_ids)))
    return bool(uow.conn.execute(select(work_for_us)).scalar())


_item = select(*ITEM_COLUMNS).select_from(ITEM_FROM).where(work_items.c.id == bindparam("b_item"))


def load_item(uow, principal: Principal, work_item_id: int, query=None):
    """The item's row (ITEM_COLUMNS) if the principal may see it; raises NotFound otherwise, as for none."""
    query = query if query is not None else _item
    row = uow.conn.execute(query, {"b_item": work_item_id}).one_or_none()
    if row is None or not is_visible(uow, principal, row):
        raise NotFound(f"work item {work_item_id} does not exist")
    return row


def work_item_view(uow, principal: Principal, work_item_id: int) -> WorkItemView:
    """The item with its form, case data, task data and my draft; raises NotFound if the principal
    may not see it, and InvalidInput or InvalidDefinition if its form is missing or broken."""
    row = load_item(uow, principal, work_item_id, _view)
    form = copy.deepcopy(forms.load_form(row.form_key, uow.forms_dir).schema) if row.form_key else None
    task_data = None
    if row.status == "open":
        definition = uow.specs.get(uow.conn, row.definition_id)
        workflow = state.load(row.state, definition.spec, definition.subprocess_specs, uow.script_engine)
        task_data = runner.task_data(workflow, row.task_id)
    draft = None
    if principal.user_id is not None:
        saved = uow.conn.execute(_draft, {"b_item": row.id, "b_user": principal.user_id}).one_or_none()
        draft = Draft(saved.data, saved.saved_at) if saved is not None else None
    return WorkItemView(
        row.id, row.case_id, row.case_no, row.task_spec, row.name, row.role, row.agency_id, row.agency_name,
        row.assignee_id, row.assignee, row.status, row.due_at, row.escalation_level,
        horizon(uow).state(row.due_at) if row.status == "open" else None, row.version, row.form_key, form,
        row.subject, row.category, row.district, row.case_due_at, task_data or {}, draft, row.instance_version,
        row.status == "open" and may_complete(principal, row))


@dataclass(frozen=True)
class ItemForm:
    """What posting an item's form needs: its name, its case's number and its form's JSON Schema (no workflow
    state is loaded: a completion loads it once, in its own step)."""

    work_item_id: int
    name: str
    case_no: str
    form: dict | None


def work_item_form(uow, principal: Principal, work_item_id: int) -> ItemForm:
    """The item's form; raises NotFound as work_item_view."""
    row = load_item(uow, principal, work_item_id)
    form = copy.deepcopy(forms.load_form(row.form_key, uow.forms_dir).schema) if row.form_key else None
    return ItemForm(row.id, row.name, row.case_no, form)
