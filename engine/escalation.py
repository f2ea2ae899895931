"""Reminders and the escalation ladder of each work item (以案管制, 稽催).

When a work item opens with a due time, its reminders and the rungs of the ladder from the
case's deadline terms become `timers` rows (kind 'reminder' and 'escalation'), written in the
same transaction; they are cancelled when the item closes and rescheduled when the due time
moves. Firing one is recorded in the case history with the rule that caused it and sends a
notification through the outbox, keyed so the same step is never announced twice.
"""
from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update

from . import deadlines
from .calendar import calendar_for
from .history import event
from .schema import agencies, case_events, cases, timers, work_items
from .services.notifications import queue_in_app

#: Timer kinds this module owns.
KINDS = ("reminder", "escalation")

#: Who each rung of the ladder goes to: (role, scoped to the item's agency).
LADDER_ROLES = {"section_chief": ("supervisor", True), "agency_head": ("agency_head", True),
                "commission": ("reviewer", False)}

_insert_timers = insert(timers)
_cancel = (update(timers).where(timers.c.work_item_id.in_(bindparam("b_items", expanding=True)),
                                timers.c.status == "pending", timers.c.kind.in_(KINDS))
           .values(status="cancelled", lease_owner=None, lease_expires_at=None))
_item = (select(work_items.c.id, work_items.c.status, work_items.c.name, work_items.c.role,
                work_items.c.agency_id, work_items.c.assignee_id, work_items.c.due_at,
                work_items.c.escalation_level, work_items.c.case_id, cases.c.case_no)
         .join(cases, cases.c.id == work_items.c.case_id).where(work_items.c.id == bindparam("b_item")))
_raise_level = (update(work_items).where(work_items.c.id == bindparam("b_item"),
                                          work_items.c.escalation_level < bindparam("level"))
                .values(escalation_level=bindparam("level")))


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
            deadline = deadlines.Deadline.from_data(terms)
            cal = cal or calendar_for(uow)
            plans[key] = [] if deadline.is_paused else _plan(deadline, cal, now)
        rows += [{"kind": kind, "instance_id": item["instance_id"], "case_id": item["case_id"],
                  "work_item_id": item["id"], "due_at": at, "status": "pending", "payload": payload,
                  "created_at": now} for kind, at, payload in plans[key]]
    return rows


def _plan(deadline: deadlines.Deadline, cal, now) -> list[tuple[str, object, dict]]:
    """(kind, at, payload) of the reminders and rungs of work opening at `now` under these terms."""
    reminders = [("reminder", at, {"rule": deadline.rule_code})
                 for at in deadlines.reminder_times(deadline, cal) if at > now]
    steps = deadlines.escalation_steps(deadline, cal)
    passed = [step for step in steps if step.at <= now]
    kept = [max(passed, key=lambda step: step.level)] if passed else []
    kept += [step for step in steps if step.at > now]
    return reminders + [("escalation", step.at, {"rule": deadline.rule_code, "level": step.level, "to": step.to})
                        for step in kept]


def cancel(conn, item_ids: list[int]) -> None:
    """Cancel the pending reminders and rungs of work items that closed or whose due time moved."""
    if item_ids:
        conn.execute(_cancel, {"b_items": list(item_ids)})


_commission = select(agencies.c.id).where(agencies.c.kind == "commission").order_by(agencies.c.id).limit(1)


def _recipient(uow, item, role: str, scoped: bool) -> dict:
    """Who a rung goes to: the role in the item's agency; for central work (dispatchers,
    reviewers, operators, council liaisons: no agency), the role at the commission they work in."""
    if not scoped:
        return {"role": role, "agency_id": None}
    agency_id = item.agency_id
    if agency_id is None:
        load = lambda: uow.conn.execute(_commission).scalar_one_or_none()  # noqa: E731
        agency_id = uow.cache.get(("commission_agency",), load) if uow.cache is not None else load()
    return {"role": role, "agency_id": agency_id}


def fire(uow, timer) -> bool:
    """Send a reminder or climb a rung for the timer's work item; False if the item is closed."""
    item = uow.conn.execute(_item, {"b_item": timer.work_item_id}).one_or_none()
    if item is None or item.status != "open":
        return False
    now, payload = uow.clock.now(), timer.payload or {}
    due = item.due_at.astimezone(uow.zone).strftime("%Y-%m-%d %H:%M") if item.due_at else "?"
    if timer.kind == "reminder":
        to = {"user_id": item.assignee_id} if item.assignee_id else {"role": item.role, "agency_id": item.agency_id}
        queue_in_app(uow, dedup_key=f"reminder:{timer.id}", kind="reminder", case_id=item.case_id,
                     work_item_id=item.id, title=f"{item.case_no} {item.name}：{due} 到期", **to)
        uow.conn.execute(insert(case_events), event(
            item.case_id, now, "reminder_sent", work_item_id=item.id, rule=payload.get("rule"), due_at=due))
        return True
    level, rung = int(payload.get("level", 1)), payload.get("to", "section_chief")
    if not uow.conn.execute(_raise_level, {"b_item": item.id, "level": level}).rowcount:
        return False  # already at this rung or above
    role, scoped = LADDER_ROLES.get(rung, ("supervisor", True))
    cal = calendar_for(uow)
    late = cal.working_days_between(cal.local_date(item.due_at), cal.local_date(now)) if item.due_at else 0
    queue_in_app(uow, dedup_key=f"escalation:{timer.id}", kind="escalation", case_id=item.case_id,
                 work_item_id=item.id, title=f"逾期{late}個工作天：{item.case_no} {item.name}（第{level}級）",
                 **_recipient(uow, item, role, scoped))
    uow.conn.execute(insert(case_events), event(
        item.case_id, now, "escalated", work_item_id=item.id, level=level, to=rung,
        rule=payload.get("rule"), working_days_late=late))
    return True
