"""Complete a work item: lock the case, check the caller, run the workflow on, save."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, exists, select

from engine.accounts.identity import Principal
from engine.cases.history import event
from engine.cases.steps import InstanceRef, finish_step
from engine.errors import Conflict, Forbidden, NotFound, StaleStep
from engine.queries.work_item import is_visible, may_complete, why_not_complete
from engine.store.changes import CompletedItem, StepChanges
from engine.store.schema import cases, users, work_item_drafts, work_items, workflow_instances
from engine.workflow import forms, runner, service_tasks, state


@dataclass(frozen=True)
class CompleteWorkItem:
    """Complete one open work item with the data of its form."""

    work_item_id: int
    data: dict
    principal: Principal
    expected_version: int | None = None  # the case workflow's version as read
    expected_item_version: int | None = None  # the work item's own version as read (the API's ETag)


@dataclass(frozen=True)
class WorkItemCompleted:
    """The item done, the case's workflow status after it, and the items it opened."""

    work_item_id: int
    case_id: int
    instance_id: int
    status: str
    version: int
    opened: list
    cancelled: list


_load = (
    select(work_items.c.id, work_items.c.status, work_items.c.task_id, work_items.c.role,
           work_items.c.version.label("item_version"),
           work_items.c.agency_id, work_items.c.assignee_id,
           work_items.c.completed_by, work_items.c.name,
           work_items.c.task_spec, work_items.c.form_key, work_items.c.due_at.label("item_due_at"),
           workflow_instances.c.id.label("instance_id"),
           workflow_instances.c.case_id, workflow_instances.c.definition_id,
           workflow_instances.c.state, workflow_instances.c.version,
           workflow_instances.c.next_timer_at, cases.c.agency_id.label("case_agency_id"),
           cases.c.unit_id.label("case_unit_id"), cases.c.due_at.label("case_due_at"), cases.c.case_no,
           cases.c.petitioner_id,
           # Whether the step must delete drafts of the item: most items have none.
           exists().where(work_item_drafts.c.work_item_id == work_items.c.id).label("has_drafts"))
    .join(workflow_instances, workflow_instances.c.id == work_items.c.instance_id)
    .join(cases, cases.c.id == workflow_instances.c.case_id)
    .where(work_items.c.id == bindparam("b_item"))
)
_username = select(users.c.username).where(users.c.id == bindparam("b_user"))
# SQLite serialises units of work from their first statement (BEGIN IMMEDIATE). On PostgreSQL
# the load takes no lock: the step is saved only at the version it loaded (engine.store.step_sql),
# and a step that lost that race is run again on the new state. The item's own row is not what
# decides: runner.complete refuses a task that is no longer READY in the loaded state.


def complete_work_item(cmd: CompleteWorkItem, uow, *, checked_by_caller: bool = False) -> WorkItemCompleted:
    """Complete the item and run the workflow to its next wait.

    checked_by_caller: another service has decided that this principal may complete the item
    (a citizen answering the survey of their own case, proven by its lookup code), so the
    staff rule (the assignee, or a holder of the item's role) is not applied.

    Raises NotFound (no such item, or one the principal may not see: the item page's rule,
    engine.queries.work_item.is_visible), Conflict (already done, or the case changed since
    expected_version), Forbidden (an item the principal sees but may not complete, saying why),
    InvalidInput or WorkflowFailed; nothing is saved on error.
    """
    runner.check_data(cmd.data)
    untouched = uow.untouched  # PostgreSQL, and nothing of the unit written before this call
    for attempt in range(_ATTEMPTS):
        try:
            return _complete(cmd, uow, checked_by_caller)
        except StaleStep:
            # Another step of the case was saved between our load and our save: drop what this
            # attempt wrote (an engine action, the item's close) and run again on the new state,
            # unless the caller asked for exactly the version it saw.
            if (cmd.expected_version is not None or cmd.expected_item_version is not None or not untouched
                    or attempt == _ATTEMPTS - 1):
                raise
            uow.rollback()
        finally:
            uow.step_instance = None


#: How many times a completion is run when other steps of its case keep being saved first.
_ATTEMPTS = 3


def _complete(cmd: CompleteWorkItem, uow, checked_by_caller: bool) -> WorkItemCompleted:
    conn = uow.conn
    row = conn.execute(_load, {"b_item": cmd.work_item_id}).one_or_none()
    # The item's page and every command on it decide with one rule (engine.queries.work_item): an item
    # the caller may not see is answered as one that does not exist, whatever its state.
    if row is None or not (checked_by_caller or is_visible(uow, cmd.principal, row)):
        raise NotFound(f"work item {cmd.work_item_id} does not exist")
    if row.status != "open":
        raise Conflict(f"work item {cmd.work_item_id} is already {row.status}")
    if not (checked_by_caller or may_complete(cmd.principal, row)):
        # The holder's name is read only to say why: a completion that goes ahead never needs it.
        holder = conn.execute(_username, {"b_user": row.assignee_id}).scalar_one_or_none()
        raise Forbidden(f"you may not complete work item {cmd.work_item_id}: "
                        f"{why_not_complete(cmd.principal, row, holder)}")
    if cmd.expected_version is not None and cmd.expected_version != row.version:
        raise Conflict("the case was changed by someone else meanwhile; reload and try again",
                       details={"expected_version": cmd.expected_version, "version": row.version})
    if cmd.expected_item_version is not None and cmd.expected_item_version != row.item_version:
        raise Conflict("the work item was changed by someone else meanwhile (claimed, assigned); reload and try again",
                       details={"expected_version": cmd.expected_item_version, "version": row.item_version})
    forms.validate_form(row.form_key, cmd.data, uow.forms_dir)
    uow.step_instance = row.instance_id
    definition = uow.specs.get(conn, row.definition_id)
    workflow = state.load(row.state, definition.spec, definition.subprocess_specs, uow.script_engine)
    ready_before = runner.inspect(workflow).ready_ids - {row.task_id}
    now = uow.clock.now()
    # The item closes with the step; what the step's actions do to the case's open work (a
    # deadline moved, rungs rescheduled) leaves it alone. Its reminders and rungs are moot now.
    changes = StepChanges(row.case_id, now, completed_item=CompletedItem(
        row.id, cmd.principal.user_id, cancel_ladder=row.item_due_at is not None, has_drafts=bool(row.has_drafts)))
    answers = forms.reported_answers(row.form_key, cmd.data, uow.forms_dir)
    changes.events.append(event(row.case_id, now, "task_completed", actor_id=cmd.principal.user_id,
                                work_item_id=row.id, task=row.task_spec, name=row.name,
                                **({"answers": answers} if answers else {})))
    context = service_tasks.StepContext(uow, changes, row.case_agency_id, cmd.principal.user_id, row.case_due_at,
                                        case_no=row.case_no, petitioner_id=row.petitioner_id)
    with service_tasks.step(context):
        runner.complete(workflow, row.task_id, cmd.data, uow.clock)
    ref = InstanceRef(row.instance_id, row.case_id, row.definition_id, row.version,
                      context.agency_id, row.next_timer_at, due_at=context.due_at, unit_id=row.case_unit_id)
    result = finish_step(uow, ref, workflow, changes, ready_before=ready_before)
    return WorkItemCompleted(row.id, row.case_id, row.instance_id, result.status, result.version,
                             result.opened, result.cancelled)
