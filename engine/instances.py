"""Persisting a workflow step: instance state, inbox rows, timer rows and case events together."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, bindparam, insert, select, update

from . import runner, state
from .errors import Conflict
from .inbox import role_for_lane, work_item_agency
from .schema import case_events, cases, timers, work_items, workflow_instances


@dataclass
class InstanceRef:
    """What a step needs to know about the instance row it changes."""

    id: int | None
    case_id: int
    definition_id: int
    version: int
    agency_id: int | None
    next_timer_at: datetime | None = None
    is_new: bool = False


@dataclass
class StepResult:
    """What one persisted step changed."""

    instance_id: int
    status: str
    version: int
    opened: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


def event(case_id: int, at: datetime, kind: str, *, actor_id=None, work_item_id=None, **data) -> dict:
    """A case_events row (as a dict for a batched insert)."""
    return {"case_id": case_id, "at": at, "kind": kind, "actor_id": actor_id,
            "work_item_id": work_item_id, "data": data or None}


_insert_events = insert(case_events)
_insert_items = insert(work_items).returning(work_items.c.id, work_items.c.task_id, sort_by_parameter_order=True)


def _open_items(conn, instance_id: int) -> dict[str, int]:
    rows = conn.execute(select(work_items.c.task_id, work_items.c.id).where(
        work_items.c.instance_id == instance_id, work_items.c.status == "open"))
    return {task_id: item_id for task_id, item_id in rows}


def _sync_work_items(uow, ref: InstanceRef, workflow, now, events: list, done_task_id: str | None) -> tuple[list, list]:
    ready = runner.ready_manual_tasks(workflow)
    existing = {} if ref.is_new else _open_items(uow.conn, ref.id)
    existing.pop(done_task_id, None)
    ready_ids = {t.task_id for t in ready}
    new = [t for t in ready if t.task_id not in existing]
    gone = [item_id for task_id, item_id in existing.items() if task_id not in ready_ids]
    opened = []
    if new:
        rows = [{
            "instance_id": ref.id, "case_id": ref.case_id, "task_id": t.task_id, "task_spec": t.spec_name,
            "name": t.name[:200], "lane": t.lane, "role": role_for_lane(t.lane),
            "agency_id": work_item_agency(t.lane, ref.agency_id), "assignee_id": None,
            "status": "open", "form_key": t.form_key, "due_at": None, "created_at": now,
        } for t in new]
        by_task = {t.task_id: t for t in new}
        for item_id, task_id in uow.conn.execute(_insert_items, rows):
            opened.append(item_id)
            events.append(event(ref.case_id, now, "task_ready", work_item_id=item_id,
                                task=by_task[task_id].spec_name, name=by_task[task_id].name,
                                lane=by_task[task_id].lane))
    if gone:
        uow.conn.execute(update(work_items).where(work_items.c.id.in_(gone))
                         .values(status="cancelled", completed_at=now))
        events.extend(event(ref.case_id, now, "task_cancelled", work_item_id=i) for i in gone)
    return opened, gone


def _sync_timers(uow, ref: InstanceRef, waiting: list, now) -> None:
    """Make the pending bpmn_timer rows of the instance match the timers the workflow waits on."""
    if not waiting and ref.next_timer_at is None:
        return
    conn = uow.conn
    pending = {} if ref.is_new else {
        (r.task_id, r.due_at): r.id for r in conn.execute(
            select(timers.c.id, timers.c.task_id, timers.c.due_at).where(
                timers.c.instance_id == ref.id, timers.c.kind == "bpmn_timer",
                timers.c.status == "pending"))}
    wanted = {(t.task_id, t.due_at): t for t in waiting}
    stale = [timer_id for key, timer_id in pending.items() if key not in wanted]
    if stale:
        conn.execute(update(timers).where(timers.c.id.in_(stale)).values(status="cancelled"))
    fresh = [t for key, t in wanted.items() if key not in pending]
    if fresh:
        conn.execute(insert(timers), [{
            "kind": "bpmn_timer", "instance_id": ref.id, "case_id": ref.case_id, "task_id": t.task_id,
            "due_at": t.due_at, "status": "pending", "payload": {"name": t.name, "task": t.spec_name},
            "created_at": now} for t in fresh])


_update_instance = (
    update(workflow_instances)
    .where(and_(workflow_instances.c.id == bindparam("b_id"),
                workflow_instances.c.version == bindparam("b_version")))
    .values(state=bindparam("state"), version=workflow_instances.c.version + 1,
            status=bindparam("status"), next_timer_at=bindparam("next_timer_at"),
            updated_at=bindparam("updated_at"), error=None)
)


def persist_step(uow, ref: InstanceRef, workflow, events: list, *, done_task_id: str | None = None,
                 text: str | None = None) -> StepResult:
    """Save a workflow after a step, with its inbox, timers and history, in the current transaction.

    Raises Conflict if another transaction saved the instance since it was loaded.
    """
    now = uow.clock.now()
    text = text if text is not None else state.dump(workflow)
    status = runner.status_of(workflow)
    waiting = runner.waiting_timers(workflow)
    next_timer_at = min((t.due_at for t in waiting), default=None)
    conn = uow.conn
    if ref.is_new:
        ref.id = conn.execute(insert(workflow_instances).returning(workflow_instances.c.id), {
            "case_id": ref.case_id, "definition_id": ref.definition_id, "state": text, "version": 1,
            "status": status, "next_timer_at": next_timer_at, "created_at": now,
            "updated_at": now}).scalar_one()
        version = 1
    else:
        changed = conn.execute(_update_instance, {
            "b_id": ref.id, "b_version": ref.version, "state": text, "status": status,
            "next_timer_at": next_timer_at, "updated_at": now}).rowcount
        if not changed:
            raise Conflict("the case was changed by someone else meanwhile; reload and try again")
        version = ref.version + 1
    opened, gone = _sync_work_items(uow, ref, workflow, now, events, done_task_id)
    _sync_timers(uow, ref, waiting, now)
    if status == "completed":
        conn.execute(update(cases).where(cases.c.id == ref.case_id)
                     .values(status="closed", closed_at=now, updated_at=now))
        events.append(event(ref.case_id, now, "case_closed"))
    if events:
        conn.execute(_insert_events, events)
    return StepResult(ref.id, status, version, opened, gone)
