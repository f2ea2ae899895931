"""Fire a reminder or climb a rung of a work item's escalation ladder (稽催).

Firing one is recorded in the case history with the rule that caused it and sends a
notification through the outbox, keyed so the same step is never announced twice.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update

from engine.cases.history import event
from engine.deadlines.calendar import calendar_for
from engine.services.notifications import QueueInApp, queue_in_app
from engine.store.schema import agencies, case_events, cases, work_items

#: Who each rung of the ladder goes to: (role, scoped to the item's agency).
LADDER_ROLES = {"section_chief": ("supervisor", True), "agency_head": ("agency_head", True),
                "commission": ("reviewer", False)}

_item = (select(work_items.c.id, work_items.c.status, work_items.c.name, work_items.c.role,
                work_items.c.agency_id, work_items.c.assignee_id, work_items.c.due_at,
                work_items.c.escalation_level, work_items.c.case_id, cases.c.case_no)
         .join(cases, cases.c.id == work_items.c.case_id).where(work_items.c.id == bindparam("b_item")))
_raise_level = (update(work_items).where(work_items.c.id == bindparam("b_item"),
                                          work_items.c.escalation_level < bindparam("level"))
                .values(escalation_level=bindparam("level"), version=work_items.c.version + 1))
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


@dataclass(frozen=True)
class FireRung:
    """Send the reminder, or climb the rung, of a work item's timer (a row of `timers`, leased)."""

    timer: object


def fire_rung(cmd: FireRung, uow) -> bool:
    """Send a reminder or climb a rung for the timer's work item; False if the item is closed."""
    timer = cmd.timer
    item = uow.conn.execute(_item, {"b_item": timer.work_item_id}).one_or_none()
    if item is None or item.status != "open":
        return False
    now, payload = uow.clock.now(), timer.payload or {}
    due = item.due_at.astimezone(uow.zone).strftime("%Y-%m-%d %H:%M") if item.due_at else "?"
    if timer.kind == "reminder":
        to = {"user_id": item.assignee_id} if item.assignee_id else {"role": item.role, "agency_id": item.agency_id}
        queue_in_app(QueueInApp(dedup_key=f"reminder:{timer.id}", kind="reminder", case_id=item.case_id,
                                work_item_id=item.id, title=f"{item.case_no} {item.name}：{due} 到期", **to), uow)
        uow.conn.execute(insert(case_events), event(
            item.case_id, now, "reminder_sent", work_item_id=item.id, rule=payload.get("rule"), due_at=due))
        return True
    level, rung = int(payload.get("level", 1)), payload.get("to", "section_chief")
    if not uow.conn.execute(_raise_level, {"b_item": item.id, "level": level}).rowcount:
        return False  # already at this rung or above
    role, scoped = LADDER_ROLES.get(rung, ("supervisor", True))
    cal = calendar_for(uow)
    late = cal.working_days_between(cal.local_date(item.due_at), cal.local_date(now)) if item.due_at else 0
    queue_in_app(QueueInApp(dedup_key=f"escalation:{timer.id}", kind="escalation", case_id=item.case_id,
                            work_item_id=item.id, title=f"逾期{late}個工作天：{item.case_no} {item.name}（第{level}級）",
                            **_recipient(uow, item, role, scoped)), uow)
    uow.conn.execute(insert(case_events), event(
        item.case_id, now, "escalated", work_item_id=item.id, level=level, to=rung,
        rule=payload.get("rule"), working_days_late=late))
    return True
