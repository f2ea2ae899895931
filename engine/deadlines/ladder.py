"""Reminders and the escalation ladder of each work item (以案管制, 稽催).

When a work item opens with a due time, its reminders and the rungs of the ladder from the
case's deadline terms become `timers` rows (kind 'reminder' and 'escalation'), written in the
same transaction; they are cancelled when the item closes and rescheduled when the due time
moves. Firing one is a service (engine.services.escalation).
"""
from __future__ import annotations

from sqlalchemy import bindparam, insert, update

from engine.deadlines import rules
from engine.deadlines.calendar import calendar_for
from engine.store.schema import timers

#: Timer kinds this module owns.
KINDS = ("reminder", "escalation")

_insert_timers = insert(timers)
_cancel = (update(timers).where(timers.c.work_item_id.in_(bindparam("b_items", expanding=True)),
                                timers.c.status == "pending", timers.c.kind.in_(KINDS))
           .values(status="cancelled", lease_owner=None, lease_expires_at=None))


def schedule(uow, items: list[tuple[dict, dict | None]], now) -> None:
    """One insert of the reminders and rungs of new work items: ({id, case_id, instance_id}, terms) pairs."""
    rows = timer_rows(uow, items, now)
    if rows:
        uow.conn.execute(_insert_timers, rows)


def timer_rows(uow, items: list[tuple[dict, dict | None]], now) -> list[dict]:
    """The timers rows of the reminders and rungs of new work items (see schedule), not written.

    Work that opens late (its case already past a reminder or rungs: the approval of a draft
    finished late, work reopened by a loop) gets no reminder of a time gone by, and of the rungs
    already passed only the highest, which fires at once: one escalation to where the case
    stands, not every step of the ladder in the same minute.
    """
    cal, rows, plans = None, [], {}
    for item, terms in items:
        if not isinstance(terms, dict):
            continue
        key = repr(sorted(terms.items()))  # items opened by one step usually share the case's terms
        if key not in plans:
            deadline = rules.Deadline.from_data(terms)
            cal = cal or calendar_for(uow)
            plans[key] = [] if deadline.is_paused else _plan(deadline, cal, now)
        rows += [{"kind": kind, "instance_id": item["instance_id"], "case_id": item["case_id"],
                  "work_item_id": item["id"], "due_at": at, "status": "pending", "payload": payload,
                  "created_at": now} for kind, at, payload in plans[key]]
    return rows


def _plan(deadline: rules.Deadline, cal, now) -> list[tuple[str, object, dict]]:
    """(kind, at, payload) of the reminders and rungs of work opening at `now` under these terms."""
    reminders = [("reminder", at, {"rule": deadline.rule_code})
                 for at in rules.reminder_times(deadline, cal) if at > now]
    steps = rules.escalation_steps(deadline, cal)
    passed = [step for step in steps if step.at <= now]
    kept = [max(passed, key=lambda step: step.level)] if passed else []
    kept += [step for step in steps if step.at > now]
    return reminders + [("escalation", step.at, {"rule": deadline.rule_code, "level": step.level, "to": step.to})
                        for step in kept]


def cancel(conn, item_ids: list[int]) -> None:
    """Cancel the pending reminders and rungs of work items that closed or whose due time moved."""
    if item_ids:
        conn.execute(_cancel, {"b_items": list(item_ids)})
