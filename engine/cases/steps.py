"""What a workflow step changes for its case: inbox rows, their ladders, timers, history, the close.

After a step has run in memory, `finish_step` reads what the workflow now waits on (READY
manual tasks, BPMN timers), turns it into the rows the database mirrors (DESIGN decisions 4 and
5: the inbox is a table; lanes name roles of the case's agency), adds them to the step's
changes and has the store write everything at once (engine.store.steps).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select

from engine.cases import assignment
from engine.cases.history import event
from engine.cases.lanes import role_for_lane, work_item_agency
from engine.deadlines import ladder, rules
from engine.deadlines.calendar import calendar_for
from engine.errors import InvalidInput
from engine.store.changes import InstanceWrite, StepChanges, ladder_rows
from engine.store.schema import agencies, work_items
from engine.store.steps import resync_items, write_step
from engine.workflow import runner, state


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
    unit_id: int | None = None  # the case's unit (科) as read, kept on the work it opens


@dataclass
class StepResult:
    """What one persisted step changed."""

    instance_id: int
    status: str
    version: int
    opened: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


_agencies_by_code = select(agencies.c.code, agencies.c.id)


def _agency_ids(uow, codes: set[str]) -> dict[str, int]:
    """Agency ids of the codes tasks name for themselves; raises InvalidInput for an unknown one."""
    if not codes:
        return {}
    load = lambda: dict(uow.conn.execute(_agencies_by_code).all())  # noqa: E731
    known = uow.cache.get(("agency_ids",), load) if uow.cache is not None else load()
    if not codes <= known.keys():
        known = load()  # an agency added since the cache was filled
    unknown = codes - known.keys()
    if unknown:
        raise InvalidInput(f"work is addressed to unknown agencies: {', '.join(sorted(unknown))}")
    return {code: known[code] for code in codes}


def _open_work(uow, ref: InstanceRef, new: list, changes: StepChanges) -> None:
    """Inbox rows for newly READY tasks, their reminders and rungs, and a task_ready event each."""
    now = changes.now
    named = _agency_ids(uow, {t.agency_code for t in new if t.agency_code})
    addressed = [(t, role_for_lane(t.lane), named[t.agency_code] if t.agency_code
                  else work_item_agency(t.lane, ref.agency_id)) for t in new]
    wanted = [a for a in addressed if a[0].performer_of or a[0].assignee]
    chosen = assignment.choose(uow.conn, ref.case_id, wanted, new_case=ref.is_new) if wanted else {}
    plans, loaded_rules = {}, {}
    unit_id = changes.unit_id if changes.unit_moved else ref.unit_id  # the case's, as the step leaves it
    case_agency_id = changes.agency_id if changes.agency_id is not None else ref.agency_id  # likewise
    for t, role, agency_id in addressed:
        person = chosen.get(t.task_id)
        own = _task_deadline(uow, t, now, loaded_rules)
        due_at = own.due_at if own is not None else None if t.deadline_mode == "none" else ref.due_at
        changes.opened.append({
            "case_id": ref.case_id, "task_id": t.task_id, "task_spec": t.spec_name, "name": t.name[:200],
            "lane": t.lane, "role": role, "agency_id": agency_id, "unit_id": unit_id,
            "case_agency_id": case_agency_id,
            "assignee_id": person.user_id if person else None, "status": "open", "form_key": t.form_key,
            "due_at": due_at, "deadline_mode": "task" if own is not None else t.deadline_mode,
            "created_at": now})
        ready = {"task": t.spec_name, "name": t.name, "lane": t.lane}
        if own is not None:  # the item's own limit, and the rule it comes from
            ready.update(rule=own.rule_code, rule_id=own.rule_id, due_at=own.due_at.isoformat())
        changes.events.append({**event(ref.case_id, now, "task_ready", **ready), "item_task": t.task_id})
        if person is not None:
            changes.events.append({**event(ref.case_id, now, "task_assigned", task=t.spec_name, name=t.name,
                                           to=person.username, reason=person.reason), "item_task": t.task_id})
        if own is not None:
            if t.deadline_mode != "due_only":  # escalate="false": the due time without reminders or rungs
                changes.ladder += ladder_rows(ladder.plan(uow, own.to_data(), now), case_id=ref.case_id,
                                              instance_id=None, work_item_id=t.task_id, now=now)
        elif ref.due_at is not None and t.deadline:
            key = repr(sorted(t.deadline.items()))  # items opened by one step usually share the case's terms
            if key not in plans:
                plans[key] = ladder.plan(uow, t.deadline, now)
            # The item's id is not known before it is written: its task id stands for it.
            changes.ladder += ladder_rows(plans[key], case_id=ref.case_id, instance_id=None,
                                          work_item_id=t.task_id, now=now)


def _task_deadline(uow, t, now, loaded: dict):
    """The item's own deadline under its task's rule (engine.deadlines.rules: task rules), else None.

    Work that keeps no due time (deadline="none") gets none; the rules come from the runtime's
    cache (else one query per case type and step, kept in `loaded`).
    """
    if t.deadline_mode == "none" or t.case_keys is None:
        return None
    case_type, channel, category = t.case_keys
    if case_type not in loaded:
        loaded[case_type] = rules.task_rules(uow, case_type)
    found = loaded[case_type]
    if not found:
        return None
    return rules.task_deadline(found, case_type, t.spec_name, now, calendar_for(uow),
                               channel=channel, category=category)


def finish_step(uow, ref: InstanceRef, workflow, changes: StepChanges, *,
                ready_before: set[str] = frozenset()) -> StepResult:
    """Add what the workflow now waits on to the step's changes and write them all.

    `ready_before` holds the READY manual task ids the workflow had when it was loaded, less
    the one the step completed (the open inbox rows of an instance are exactly those: every
    step keeps them in sync, so no query is needed to find them). Raises StaleStep if another
    step saved the instance since it was loaded.
    """
    snapshot = runner.inspect(workflow)
    status = runner.status_of(workflow)
    changes.instance = InstanceWrite(ref.id, ref.definition_id, ref.version, state.dump(workflow), status,
                                     min((t.due_at for t in snapshot.timers), default=None))
    _open_work(uow, ref, [t for t in snapshot.ready if t.task_id not in ready_before], changes)
    changes.cancelled_tasks = sorted(set(ready_before) - snapshot.ready_ids)
    if snapshot.timers or ref.next_timer_at is not None:  # it waits on timers, or waited
        changes.waiting_timers = snapshot.timers
    if status == "completed":
        changes.closed, changes.outcome = True, workflow.data.get("outcome")
    written = write_step(uow, changes)
    return StepResult(written.instance_id, status, written.version, written.opened, written.cancelled)


def rerecord_timers(uow, ref: InstanceRef, workflow, now) -> None:
    """Record the instance's BPMN timers again as the workflow has them, nothing else changed."""
    write_step(uow, StepChanges(ref.case_id, now, instance_id=ref.id, waiting_timers=runner.inspect(workflow).timers))


_open_items = select(work_items.c.id, work_items.c.task_id, work_items.c.role, work_items.c.agency_id,
                     work_items.c.assignee_id).where(work_items.c.instance_id == bindparam("b_instance"),
                                                     work_items.c.status == "open")


def resync_open_work(uow, ref: InstanceRef, before: list, after: list) -> list[dict]:
    """Rewrite the open inbox rows of tasks that read differently now (the case moved to another
    version of its process): name, task, lane and so role, agency, form. An item whose role or
    agency changes goes back to its group (its holder may not hold the new role). Returns what
    changed, task by task, for the case's history."""
    old = {t.task_id: t for t in before}
    fields = ("spec_name", "name", "lane", "form_key", "agency_code")
    differing = [t for t in after if t.task_id in old and
                 any(getattr(t, f) != getattr(old[t.task_id], f) for f in fields)]
    if not differing:
        return []
    items = {row.task_id: row for row in uow.conn.execute(_open_items, {"b_instance": ref.id})}
    named = _agency_ids(uow, {t.agency_code for t in differing if t.agency_code})
    rows, changed = [], []
    for t in differing:
        item = items.get(t.task_id)
        if item is None:
            continue
        role = role_for_lane(t.lane)
        agency_id = named[t.agency_code] if t.agency_code else work_item_agency(t.lane, ref.agency_id)
        kept = role == item.role and agency_id == item.agency_id
        rows.append({"id": item.id, "task_spec": t.spec_name, "name": t.name[:200], "lane": t.lane, "role": role,
                     "agency_id": agency_id, "form_key": t.form_key,
                     "assignee_id": item.assignee_id if kept else None})
        was = old[t.task_id]
        changed.append({"work_item_id": item.id, "task": t.spec_name,
                        **{f: [getattr(was, f), getattr(t, f)] for f in fields if getattr(was, f) != getattr(t, f)}})
    resync_items(uow, rows)
    return changed
