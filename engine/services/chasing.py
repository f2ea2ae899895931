"""What a supervisor does from the escalation queue: remind the holders of late work now, and
acknowledge an item with a note. Both are written into the case's history."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select

from engine.accounts.identity import Principal
from engine.cases.history import event
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.queries.visibility import supervision_scope
from engine.store.schema import case_events, cases, work_items

from .notifications import QueueInApp, queue_in_app

#: The most items one action takes (a page of the queue).
MAX_ITEMS = 200

#: The longest note an acknowledgement keeps.
MAX_NOTE = 2000


@dataclass(frozen=True)
class RemindNow:
    """Remind the holders of these open items now (the assignee, or the group when none)."""

    principal: Principal
    work_item_ids: tuple


@dataclass(frozen=True)
class AcknowledgeEscalation:
    """Note that a supervisor has seen a late item, and what they are doing about it."""

    principal: Principal
    work_item_id: int
    note: str


_items = (select(work_items.c.id, work_items.c.case_id, work_items.c.name, work_items.c.role, work_items.c.agency_id,
                 work_items.c.assignee_id, work_items.c.status, cases.c.case_no)
          .join(cases, cases.c.id == work_items.c.case_id))


def _supervised_open_items(uow, principal: Principal, ids) -> list:
    """The open items, all under the principal's supervision; raises InvalidInput naming the others."""
    ids = list(dict.fromkeys(ids))
    if not ids or len(ids) > MAX_ITEMS:
        raise InvalidInput(f"give 1 to {MAX_ITEMS} work items", details={"fields": {"work_item_ids": ["1 to 200"]}})
    scope = supervision_scope(uow, principal)
    if scope.empty:
        raise Forbidden("late work is chased by section chiefs and agency heads")
    rows = {r.id: r for r in uow.conn.execute(_items.where(work_items.c.id.in_(ids),
                                                           scope.clause(work_items.c.agency_id)))}
    problems = {str(i): ["not an open work item you supervise"] for i in ids
                if i not in rows or rows[i].status != "open"}
    if problems:
        raise InvalidInput("some work items cannot be acted on; nothing was done",
                           details={"fields": {"work_item_ids": problems}})
    return [rows[i] for i in ids]


def remind_now(cmd: RemindNow, uow) -> int:
    """Queue an in-app reminder to each item's holder and record it; returns how many were sent.

    Raises Forbidden for a principal who supervises no agency, InvalidInput (naming each item)
    when an item is not open or not the principal's to supervise; then nothing is sent.
    """
    now, sent = uow.clock.now(), 0
    for row in _supervised_open_items(uow, cmd.principal, cmd.work_item_ids):
        to_person = row.assignee_id is not None
        queued = queue_in_app(QueueInApp(
            dedup_key=f"remind:{row.id}:{cmd.principal.user_id}:{now.isoformat()}", kind="reminder",
            title=f"催辦：{row.case_no} {row.name}", body=f"{cmd.principal.username} 請儘速辦理",
            user_id=row.assignee_id if to_person else None, role=None if to_person else row.role,
            agency_id=row.agency_id, case_id=row.case_id, work_item_id=row.id), uow)
        sent += queued is not None
        uow.conn.execute(insert(case_events), event(row.case_id, now, "reminded_by_supervisor",
                                                    actor_id=cmd.principal.user_id, work_item_id=row.id))
    return sent


def acknowledge_escalation(cmd: AcknowledgeEscalation, uow) -> None:
    """Record the acknowledgement and its note in the case's history.

    Raises Forbidden for a principal who supervises no agency, InvalidInput for a blank or long
    note; NotFound for an item the principal does not supervise, exactly as for one that does not exist.
    """
    note = (cmd.note or "").strip()
    if not note or len(note) > MAX_NOTE:
        raise InvalidInput("the note must say what is being done", details={"fields": {"note": [f"1 to {MAX_NOTE} characters"]}})
    try:
        [row] = _supervised_open_items(uow, cmd.principal, [cmd.work_item_id])
    except InvalidInput:
        raise NotFound(f"work item {cmd.work_item_id} does not exist") from None
    uow.conn.execute(insert(case_events), event(row.case_id, uow.clock.now(), "escalation_acknowledged",
                                                actor_id=cmd.principal.user_id, work_item_id=row.id, note=note))
