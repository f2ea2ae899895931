"""The one writer of workflow steps: a StepChanges value in, its rows in the database.

`write_step` is what every service calls once its step has run. On PostgreSQL a step is written
by one statement (engine.store.step_sql); on SQLite, where a statement costs no round trip, by
the plain statements below, in an order that leaves the same rows. A step whose instance moved
on since it was read writes nothing and raises StaleStep.
"""
from __future__ import annotations

from sqlalchemy import Boolean, and_, bindparam, case, delete, func, insert, literal_column, select, update

from engine import correlation
from engine.errors import StaleStep
from engine.store import outbox, step_sql
from engine.store.changes import ITEM_TIMER_KINDS, StepChanges, Written, ladder_rows
from engine.store.schema import (
    case_events,
    cases,
    petitioners,
    timers,
    work_item_drafts,
    work_items,
    workflow_instances,
)

# Statements are built once: building one per call costs more than running it on SQLite.
_insert_petitioner = insert(petitioners).returning(petitioners.c.id)
_insert_case = insert(cases)
_insert_instance = insert(workflow_instances).returning(workflow_instances.c.id)
_update_instance = (
    update(workflow_instances)
    .where(and_(workflow_instances.c.id == bindparam("b_id"), workflow_instances.c.version == bindparam("b_version")))
    .values(state=bindparam("state"), version=workflow_instances.c.version + 1, status=bindparam("status"),
            definition_id=bindparam("definition_id"),
            next_timer_at=bindparam("next_timer_at"), updated_at=bindparam("updated_at"), error=None)
)
_complete_item = (update(work_items).where(work_items.c.id == bindparam("b_item"))
                  .values(status="completed", completed_at=bindparam("b_now"), completed_by=bindparam("b_by"),
                          version=work_items.c.version + 1))
_delete_drafts = delete(work_item_drafts).where(work_item_drafts.c.work_item_id.in_(bindparam("b_items", expanding=True)))
_cancel_item_timers = (update(timers).where(timers.c.work_item_id.in_(bindparam("b_items", expanding=True)),
                                            timers.c.status == "pending", timers.c.kind.in_(ITEM_TIMER_KINDS))
                       .values(status="cancelled", lease_owner=None, lease_expires_at=None))
_cancel_items = (
    update(work_items)
    .where(work_items.c.instance_id == bindparam("b_instance"), work_items.c.task_id.in_(bindparam("b_tasks", expanding=True)),
           work_items.c.status == "open")
    .values(status="cancelled", completed_at=bindparam("b_now"), version=work_items.c.version + 1)
    .returning(work_items.c.id)
)
_move_items = (update(work_items)
               .where(work_items.c.case_id == bindparam("b_case"), work_items.c.status == "open",
                      work_items.c.agency_id.is_not(None))
               .values(agency_id=bindparam("agency_id"), assignee_id=None, version=work_items.c.version + 1))
_due_items = (
    update(work_items)
    .where(work_items.c.case_id == bindparam("b_case"), work_items.c.status == "open",
           # Work with no due time, or with its own from its task's rule, keeps it when the case's moves.
           work_items.c.deadline_mode.in_(("case", "due_only")))
    .values(due_at=bindparam("due_at"),
            # A row moved to another agency by the same step has had its version raised already
            # (PostgreSQL writes both changes in one UPDATE: one step, one new version).
            version=work_items.c.version + case((and_(bindparam("b_moved", type_=Boolean),
                                                      work_items.c.agency_id.is_not(None)), 0), else_=1),
            # Given time again, the work is no longer late: its ladder starts from the bottom.
            escalation_level=func.coalesce(bindparam("b_level", type_=work_items.c.escalation_level.type),
                                           work_items.c.escalation_level))
    .returning(work_items.c.id, work_items.c.instance_id, work_items.c.deadline_mode)
)
_insert_items = insert(work_items).returning(work_items.c.id, work_items.c.task_id, sort_by_parameter_order=True)
_insert_timers = insert(timers)
_open_timers = select(timers.c.id, timers.c.task_id, timers.c.due_at, timers.c.status).where(
    timers.c.instance_id == bindparam("b_instance"), timers.c.kind == "bpmn_timer",
    timers.c.status.in_(("pending", "failed")))
_cancel_timers = update(timers).where(timers.c.id.in_(bindparam("b_ids", expanding=True))).values(status="cancelled")
_insert_events = insert(case_events)
_close_case = (update(cases).where(cases.c.id == bindparam("b_case"))
               .values(status="closed", closed_at=bindparam("b_now"), updated_at=bindparam("b_now")))
_move_case = (update(cases).where(cases.c.id == bindparam("b_case"))
              .values(agency_id=bindparam("agency_id"), updated_at=bindparam("b_now")))
_set_case_unit = (update(cases).where(cases.c.id == bindparam("b_case"))
                  .values(unit_id=bindparam("unit_id"), updated_at=bindparam("b_now")))
# The case's agency is kept on all its open work, central work too (which does not move): a copy, the
# versions stay.
_set_items_case_agency = (update(work_items)
                          .where(work_items.c.case_id == bindparam("b_case"), work_items.c.status == "open")
                          .values(case_agency_id=bindparam("b_agency")))
# The unit is a copy of the case's, not a change of the work: the items' versions stay.
_set_items_unit = (update(work_items).where(work_items.c.case_id == bindparam("b_case"), work_items.c.status == "open")
                   .values(unit_id=bindparam("unit_id")))
_set_case_due = (update(cases).where(cases.c.id == bindparam("b_case"))
                 .values(due_at=bindparam("due_at"), updated_at=bindparam("b_now")))
_next_case_id = {"postgresql": select(func.nextval(literal_column("'cases_id_seq'"))),
                 "sqlite": select(func.coalesce(func.max(cases.c.id), 0) + 1)}


_resync_item = (update(work_items)
                .where(work_items.c.id == bindparam("b_id"), work_items.c.status == "open")
                .values(task_spec=bindparam("task_spec"), name=bindparam("name"), lane=bindparam("lane"),
                        role=bindparam("role"), agency_id=bindparam("agency_id"), form_key=bindparam("form_key"),
                        assignee_id=bindparam("assignee_id"), version=work_items.c.version + 1))


def resync_items(uow, rows: list[dict]) -> None:
    """Write open work items again as their task now reads (a case moved to another version of its
    process): each row's id, task_spec, name, lane, role, agency_id, form_key and assignee_id."""
    if rows:
        uow.conn.execute(_resync_item, [{"b_id": r["id"], **{k: v for k, v in r.items() if k != "id"}} for r in rows])


def next_case_id(uow) -> int:
    """The id the next case will have: drawn from the sequence on PostgreSQL; on SQLite the next
    after the highest, safe because a unit of work there holds the write lock from its first statement."""
    return uow.conn.execute(_next_case_id[uow.dialect]).scalar_one()


def write_new_case_now(uow, changes: StepChanges) -> int | None:
    """Write the case this step opens (and its new petitioner) before the step ends, for an
    action that needs it in the database (a case opened for the same citizen refers to it);
    returns the petitioner's id. The step then writes the rest as for any stored case."""
    new = changes.new_case
    if new is None:
        return None
    petitioner_id = _insert_new_case(uow.conn, changes)
    changes.new_case = None
    return petitioner_id


def write_step(uow, changes: StepChanges) -> Written:
    """Write a step's changes in the unit of work; raises StaleStep (nothing written) if its
    instance was saved by another step since it was read.

    A step that only records its instance's timers again (no instance to save: nothing to gate
    the one statement on) is written statement by statement on PostgreSQL too.
    """
    _settle(changes)
    if uow.dialect == "postgresql" and changes.instance is not None:
        return step_sql.save_step(uow, changes)
    return _write_in_statements(uow, changes)


def _settle(changes: StepChanges) -> None:
    """A case opened by this step is written as the step leaves it: its agency, due time, status."""
    if changes.new_case is None:
        return
    row = changes.new_case.row
    if changes.agency_id is not None:
        row["agency_id"] = changes.agency_id
    if changes.unit_moved:
        row["unit_id"] = changes.unit_id
    if changes.due is not None:
        row["due_at"] = changes.due.due_at
    if changes.closed:
        row.update(status="closed", closed_at=changes.now)
    changes.agency_id, changes.due, changes.unit_moved = None, None, False  # nothing of it is open yet to move


def _write_in_statements(uow, changes: StepChanges) -> Written:
    conn, now, instance = uow.conn, changes.now, changes.instance
    if changes.new_case is not None:
        _insert_new_case(conn, changes)
    instance_id, version = (instance.id, instance.version) if instance else (changes.instance_id, 0)
    if instance is not None and instance.is_new:
        instance_id = conn.execute(_insert_instance, {
            "case_id": changes.case_id, "definition_id": instance.definition_id, "state": instance.state,
            "version": 1, "status": instance.status, "next_timer_at": instance.next_timer_at,
            "created_at": now, "updated_at": now}).scalar_one()
        version = 1
    elif instance is not None:
        if not conn.execute(_update_instance, {
                "b_id": instance.id, "b_version": instance.version, "state": instance.state,
                "definition_id": instance.definition_id, "status": instance.status, "next_timer_at": instance.next_timer_at, "updated_at": now}).rowcount:
            raise StaleStep()
        version += 1
    if changes.completed_item is not None:
        done = changes.completed_item
        conn.execute(_complete_item, {"b_item": done.id, "b_now": now, "b_by": done.by})
        if done.cancel_ladder:
            conn.execute(_cancel_item_timers, {"b_items": [done.id]})
        if done.has_drafts:
            conn.execute(_delete_drafts, {"b_items": [done.id]})
    cancelled = []
    if changes.cancelled_tasks:
        cancelled = conn.execute(_cancel_items, {"b_instance": instance_id, "b_tasks": changes.cancelled_tasks,
                                                 "b_now": now}).scalars().all()
        if cancelled:
            conn.execute(_cancel_item_timers, {"b_items": cancelled})
            conn.execute(_delete_drafts, {"b_items": cancelled})
    _move_open_work(conn, changes)
    opened = _open_items(conn, changes, instance_id)
    if changes.waiting_timers is not None:
        _sync_timers(conn, changes, instance_id, is_new=instance is not None and instance.is_new)
    if changes.closed and changes.new_case is None:
        conn.execute(_close_case, {"b_case": changes.case_id, "b_now": now})
    events = _events(changes, opened, cancelled)
    if events:
        conn.execute(_insert_events, events)
    if changes.messages:
        # As queued: each kept the correlation id bound when it was (StepChanges.queue), as on PostgreSQL.
        outbox.insert_messages(uow, [outbox.message_row(*m, now, correlate=False) for m in changes.unique_messages()])
    return Written(instance_id, version, [item_id for item_id, _ in opened], list(cancelled))


def _insert_new_case(conn, changes: StepChanges) -> int | None:
    """Insert the case opened by the step, and its new petitioner; returns the petitioner's id."""
    new = changes.new_case
    row = dict(new.row)
    if new.petitioner is not None:
        row["petitioner_id"] = conn.execute(_insert_petitioner, {**new.petitioner, "created_at": changes.now}
                                            ).scalar_one()
    conn.execute(_insert_case, row)
    return row["petitioner_id"]


def _move_open_work(conn, changes: StepChanges) -> None:
    """The case's agency, unit and due time, and with them its open work (before new work opens)."""
    now = changes.now
    if changes.agency_id is not None:
        conn.execute(_move_case, {"b_case": changes.case_id, "agency_id": changes.agency_id, "b_now": now})
        conn.execute(_move_items, {"b_case": changes.case_id, "agency_id": changes.agency_id})
        conn.execute(_set_items_case_agency, {"b_case": changes.case_id, "b_agency": changes.agency_id})
    if changes.unit_moved:
        conn.execute(_set_case_unit, {"b_case": changes.case_id, "unit_id": changes.unit_id, "b_now": now})
        conn.execute(_set_items_unit, {"b_case": changes.case_id, "unit_id": changes.unit_id})
    if changes.due is not None:
        move = changes.due
        conn.execute(_set_case_due, {"b_case": changes.case_id, "due_at": move.due_at, "b_now": now})
        moved = conn.execute(_due_items, {"b_case": changes.case_id, "due_at": move.due_at,
                                          "b_level": 0 if move.reset_level else None,
                                          "b_moved": changes.agency_id is not None}).all()
        if moved:
            conn.execute(_cancel_item_timers, {"b_items": [r.id for r in moved]})
        rows = [row for r in moved if r.deadline_mode == "case" and move.due_at is not None
                for row in ladder_rows(move.ladder, case_id=changes.case_id, instance_id=r.instance_id,
                                       work_item_id=r.id, now=now)]
        if rows:
            _insert_timer_rows(conn, rows)


def _open_items(conn, changes: StepChanges, instance_id) -> list[tuple[int, str]]:
    """Insert the new work items and their reminders and rungs; returns (id, task id) in order."""
    if not changes.opened:
        return []
    opened = [tuple(r) for r in conn.execute(_insert_items, [{**row, "instance_id": instance_id}
                                                             for row in changes.opened])]
    by_task = {task_id: item_id for item_id, task_id in opened}
    ladder = [{**row, "instance_id": instance_id, "work_item_id": by_task[row["work_item_id"]]}
              for row in changes.ladder]
    if ladder:
        _insert_timer_rows(conn, ladder)
    return opened


def _sync_timers(conn, changes: StepChanges, instance_id: int, *, is_new: bool) -> None:
    """Make the pending bpmn_timer rows of the instance match the timers the workflow waits on.

    A timer that failed keeps its row (its incident is how it is retried) and is not armed
    again beside it; pending rows the workflow no longer waits on are cancelled.
    """
    rows = [] if is_new else conn.execute(_open_timers, {"b_instance": instance_id}).all()
    known = {(r.task_id, r.due_at) for r in rows}
    wanted = {(t.task_id, t.due_at): t for t in changes.waiting_timers}
    stale = [r.id for r in rows if r.status == "pending" and (r.task_id, r.due_at) not in wanted]
    if stale:
        conn.execute(_cancel_timers, {"b_ids": stale})
    fresh = [t for key, t in wanted.items() if key not in known]
    if fresh:
        _insert_timer_rows(conn, [{
            "kind": "bpmn_timer", "instance_id": instance_id, "case_id": changes.case_id, "task_id": t.task_id,
            "due_at": t.due_at, "status": "pending", "payload": {"name": t.name, "task": t.spec_name},
            "created_at": changes.now} for t in fresh])


def _insert_timer_rows(conn, rows: list[dict]) -> None:
    """Insert timers rows, each keeping the correlation id bound now (the request that set them)."""
    correlation_id = correlation.storable()
    conn.execute(_insert_timers, [{**row, "correlation_id": correlation_id} for row in rows])


def _events(changes: StepChanges, opened: list, cancelled: list) -> list[dict]:
    """The history rows in order: the step's own, the work cancelled, the case closed."""
    by_task = {task_id: item_id for item_id, task_id in opened}
    events = []
    for e in changes.events:
        e = dict(e)
        task = e.pop("item_task", None)
        if task is not None:
            e["work_item_id"] = by_task[task]
        events.append(e)
    events += [{"case_id": changes.case_id, "at": changes.now, "kind": "task_cancelled", "actor_id": None,
                "work_item_id": i, "data": None} for i in cancelled]
    if changes.closed:  # the diagram says how the case ended (replied, merged...)
        events.append({"case_id": changes.case_id, "at": changes.now, "kind": "case_closed", "actor_id": None,
                       "work_item_id": None, "data": {"outcome": changes.outcome} if changes.outcome else None})
    return events
