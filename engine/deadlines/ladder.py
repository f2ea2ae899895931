"""Reminders and the escalation ladder of each work item (以案管制, 稽催).

When a work item opens with a due time, its reminders and the rungs of the ladder from its
task rule's terms (engine.deadlines.rules: task rules), else the case's deadline terms, become
`timers` rows (kind 'reminder' and 'escalation'), written in the
same transaction (engine.store.steps writes them); they are cancelled when the item closes and
rescheduled when the due time moves. Firing one is a service (engine.services.escalation).
"""
from __future__ import annotations

from engine.deadlines import rules
from engine.deadlines.calendar import calendar_for
from engine.store.changes import ITEM_TIMER_KINDS

#: Timer kinds this module plans (a work item's: engine.store.changes.ITEM_TIMER_KINDS).
KINDS = ITEM_TIMER_KINDS


def plan(uow, terms: dict | None, now) -> tuple:
    """The reminders and rungs, (kind, due_at, payload), of work opening at `now` under these
    deadline terms (none for terms that are missing or paused).

    Work that opens late (its case already past a reminder or rungs: the approval of a draft
    finished late, work reopened by a loop) gets no reminder of a time gone by, and of the rungs
    already passed only the highest, which fires at once: one escalation to where the case
    stands, not every step of the ladder in the same minute.
    """
    if not isinstance(terms, dict):
        return ()
    deadline = rules.Deadline.from_data(terms)
    if deadline.is_paused:
        return ()
    cal = calendar_for(uow)
    reminders = [("reminder", at, {"rule": deadline.rule_code})
                 for at in rules.reminder_times(deadline, cal) if at > now]
    steps = rules.escalation_steps(deadline, cal)
    passed = [step for step in steps if step.at <= now]
    kept = [max(passed, key=lambda step: step.level)] if passed else []
    kept += [step for step in steps if step.at > now]
    return tuple(reminders + [("escalation", step.at, {"rule": deadline.rule_code, "level": step.level,
                                                       "to": step.to}) for step in kept])
