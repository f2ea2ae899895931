"""Persisting a workflow step: instance state, inbox rows, timer rows and case events together."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, bindparam, insert, select, update

from engine.deadlines import ladder
from engine.workflow import runner
from engine.workflow import state
from engine.store import step_sql
from engine.errors import InvalidInput, StaleStep
from engine.cases.history import event
from engine.cases.lanes import role_for_lane, work_item_agency
from engine.store.schema import agencies, case_events, cases, timers, work_items, workflow_instances


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
    due_at: datetime | None = None  # the case's due time, given to the work it opens


@dataclass
class StepResult:
    """What one persisted step changed."""

    instance_id: int
    status: str
    version: int
    opened: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


# Statements are built once: building one per call costs more than running it on SQLite.
_insert_events = insert(case_events)
_insert_items = insert(work_items).returning(work_items.c.id, work_items.c.task_id, sort_by_parameter_order=True)
_cancel_items = (
    update(work_items)
    .where(work_items.c.instance_id == bindparam("b_instance"),
           work_items.c.task_id.in_(bindparam("b_tasks", expanding=True)),
           work_items.c.status == "open")
    .values(status="cancelled", completed_at=bindparam("b_now"))
    .returning(work_items.c.id)
)
_insert_instance = insert(workflow_instances).returning(workflow_instances.c.id)
_update_instance = (
    update(workflow_instances)
    .where(and_(workflow_instances.c.id == bindparam("b_id"),
                workflow_instances.c.version == bindparam("b_version")))
    .values(state=bindparam("state"), version=workflow_instances.c.version + 1,
            status=bindparam("status"), next_timer_at=bindparam("next_timer_at"),
            updated_at=bindparam("updated_at"), error=None)
)
_close_case = (
    update(cases).where(cases.c.id == bindparam("b_id"))
    .values(status="closed", closed_at=bindparam("b_now"), updated_at=bindparam("b_now"))
)
_open_timers = select(timers.c.id, timers.c.task_id, timers.c.due_at, timers.c.status).where(
    timers.c.instance_id == bindparam("b_instance"), timers.c.kind == "bpmn_timer",
    timers.c.status.in_(("pending", "failed")))
_cancel_timers = (update(timers).where(timers.c.id.in_(bindparam("b_ids", expanding=True)))
                  .values(status="cancelled"))
_insert_timers = insert(timers)


_agencies_by_code = select(agencies.c.code, agencies.c.id)


def _agency_ids(conn, cache, codes: set[str]) -> dict[str, int]:
    """Agency ids of the codes tasks name for themselves; raises InvalidInput for an unknown one."""
    if not codes:
        return {}
    load = lambda: dict(conn.execute(_agencies_by_code).all())  # noqa: E731
    known = cache.get(("agency_ids",), load) if cache is not None else load()
    if not codes <= known.keys():
        known = load()  # an agency added since the cache was filled
    unknown = codes - known.keys()
    if unknown:
        raise InvalidInput(f"work is addressed to unknown agencies: {', '.join(sorted(unknown))}")
    return {code: known[code] for code in codes}


def _item_rows(uow, ref: InstanceRef, new: list, now) -> list[dict]:
    """The work_items rows of newly READY tasks (lane = role, resolved against the case's agency)."""
    named = _agency_ids(uow.conn, uow.cache, {t.agency_code for t in new if t.agency_code})
    return [{
        "instance_id": ref.id, "case_id": ref.case_id, "task_id": t.task_id, "task_spec": t.spec_name,
        "name": t.name[:200], "lane": t.lane, "role": role_for_lane(t.lane),
        "agency_id": named[t.agency_code] if t.agency_code else work_item_agency(t.lane, ref.agency_id),
        "assignee_id": None,
        "status": "open", "form_key": t.form_key, "due_at": None if t.deadline_mode == "none" else ref.due_at,
        "deadline_mode": t.deadline_mode, "created_at": now,
    } for t in new]


def _ready_event(ref: InstanceRef, now, task, item_id=None, **extra) -> dict:
    return {**event(ref.case_id, now, "task_ready", work_item_id=item_id, task=task.spec_name, name=task.name,
                    lane=task.lane), **extra}


def _has_ladder(ref: InstanceRef, task) -> bool:
    return ref.due_at is not None and bool(task.deadline)


def _sync_work_items(uow, ref: InstanceRef, ready: list, before: set[str], now,
                     events: list) -> tuple[list, list]:
    """Open inbox rows for newly READY tasks and cancel rows whose task is no longer READY.

    The open rows of an instance are exactly its READY manual tasks before the step (every
    step keeps them in sync in the same transaction), so no query is needed to find them.
    """
    ready_ids = {t.task_id for t in ready}
    new = [t for t in ready if t.task_id not in before]
    conn = uow.conn
    gone = before - ready_ids
    opened, cancelled = [], []
    if new:
        rows = _item_rows(uow, ref, new, now)
        by_task = {t.task_id: t for t in new}
        ladders = []
        for item_id, task_id in conn.execute(_insert_items, rows):
            opened.append(item_id)
            task = by_task[task_id]
            events.append(_ready_event(ref, now, task, item_id))
            if _has_ladder(ref, task):
                ladders.append(({"id": item_id, "case_id": ref.case_id, "instance_id": ref.id}, task.deadline))
        ladder.schedule(uow, ladders, now)
    if gone:
        cancelled = conn.execute(_cancel_items, {"b_instance": ref.id, "b_tasks": sorted(gone),
                                                 "b_now": now}).scalars().all()
        ladder.cancel(conn, cancelled)
        events.extend(event(ref.case_id, now, "task_cancelled", work_item_id=i) for i in cancelled)
    return opened, cancelled


def _timers_to_sync(ref: InstanceRef, waiting: list) -> bool:
    """Whether the instance's bpmn_timer rows may differ from what it waits on (it waits, or waited)."""
    return bool(waiting) or ref.next_timer_at is not None


def sync_timers(conn, ref: InstanceRef, waiting: list, now) -> None:
    """Make the pending bpmn_timer rows of the instance match the timers the workflow waits on.

    A timer that failed keeps its row (its incident is how it is retried) and is not armed
    again beside it; pending rows the workflow no longer waits on are cancelled.
    """
    if not _timers_to_sync(ref, waiting):
        return
    rows = [] if ref.is_new else conn.execute(_open_timers, {"b_instance": ref.id}).all()
    known = {(r.task_id, r.due_at) for r in rows}
    wanted = {(t.task_id, t.due_at): t for t in waiting}
    stale = [r.id for r in rows if r.status == "pending" and (r.task_id, r.due_at) not in wanted]
    if stale:
        conn.execute(_cancel_timers, {"b_ids": stale})
    fresh = [t for key, t in wanted.items() if key not in known]
    if fresh:
        conn.execute(_insert_timers, [{
            "kind": "bpmn_timer", "instance_id": ref.id, "case_id": ref.case_id, "task_id": t.task_id,
            "due_at": t.due_at, "status": "pending", "payload": {"name": t.name, "task": t.spec_name},
            "created_at": now} for t in fresh])


def persist_step(uow, ref: InstanceRef, workflow, events: list, *,
                 ready_before: set[str] = frozenset()) -> StepResult:
    """Save a workflow after a step, with its inbox, timers and history, in the current transaction.

    `ready_before` holds the READY manual task ids the workflow had when it was loaded, less
    the one the step completed. Raises Conflict if another transaction saved the instance
    since it was loaded.
    """
    now = uow.clock.now()
    conn = uow.conn
    text = state.dump(workflow)
    status = runner.status_of(workflow)
    snapshot = runner.inspect(workflow)
    next_timer_at = min((t.due_at for t in snapshot.timers), default=None)
    if uow.dialect == "postgresql":
        return _save_in_one_statement(uow, ref, workflow, text, status, snapshot, next_timer_at, events,
                                      set(ready_before), now)
    if ref.is_new:
        ref.id = conn.execute(_insert_instance, {
            "case_id": ref.case_id, "definition_id": ref.definition_id, "state": text, "version": 1,
            "status": status, "next_timer_at": next_timer_at, "created_at": now,
            "updated_at": now}).scalar_one()
        version = 1
    else:
        changed = conn.execute(_update_instance, {
            "b_id": ref.id, "b_version": ref.version, "state": text, "status": status,
            "next_timer_at": next_timer_at, "updated_at": now}).rowcount
        if not changed:
            raise StaleStep()
        version = ref.version + 1
    opened, cancelled = _sync_work_items(uow, ref, snapshot.ready, set(ready_before), now, events)
    sync_timers(conn, ref, snapshot.timers, now)
    if status == "completed":
        conn.execute(_close_case, {"b_id": ref.case_id, "b_now": now})
        # The diagram says how the case ended (replied, merged, closed_without_processing...).
        outcome = workflow.data.get("outcome")
        events.append(event(ref.case_id, now, "case_closed", **({"outcome": outcome} if outcome else {})))
    if events:
        conn.execute(_insert_events, events)
    return StepResult(ref.id, status, version, opened, cancelled)


def _save_in_one_statement(uow, ref: InstanceRef, workflow, text: str, status: str, snapshot, next_timer_at,
                           events: list, before: set[str], now) -> StepResult:
    """persist_step on PostgreSQL: the same rows, written by one statement (engine.store.step_sql)."""
    new = [t for t in snapshot.ready if t.task_id not in before]
    rows = _item_rows(uow, ref, new, now)
    events = events + [_ready_event(ref, now, t, item_task=t.task_id) for t in new]
    ladders = ladder.timer_rows(uow, [({"id": t.task_id, "case_id": ref.case_id, "instance_id": None},
                                           t.deadline) for t in new if _has_ladder(ref, t)], now)
    written = step_sql.save_step(
        uow, ref=ref, state_text=text, status=status, next_timer_at=next_timer_at, now=now, item_rows=rows,
        ladder_rows=ladders, gone=sorted(before - snapshot.ready_ids), waiting=snapshot.timers,
        sync_timers=_timers_to_sync(ref, snapshot.timers), events=events,
        outcome=workflow.data.get("outcome") if status == "completed" else None)
    ref.id = written.instance_id
    version = 1 if ref.is_new else ref.version + 1
    return StepResult(written.instance_id, status, version, written.opened, written.cancelled)
