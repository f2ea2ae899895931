"""Rows of the case history (case_events): every step a case goes through.

KINDS names every kind of row the engine writes; `event` refuses any other, so a new kind is added
here first, and the staff pages (api/web/cases.py) have a label for each (a test checks both). A
diagram may write kinds of its own through the engine action record_event (engine.actions.case_actions);
the shipped diagrams' kinds have labels too.
"""
from __future__ import annotations

from datetime import datetime

#: Every kind of case_events row, as the engine writes it.
KINDS = frozenset({
    # intake, deadlines and the clock
    "case_received", "filed_on_web_mailbox", "deadline_set", "deadline_extended", "deadline_restarted",
    "clock_paused", "clock_resumed",
    # work items
    "task_ready", "task_claimed", "task_unclaimed", "task_assigned", "task_completed", "task_cancelled",
    "engine_steps",
    # chasing late work
    "reminder_sent", "escalated", "escalation_acknowledged", "reminded_by_supervisor",
    # routing, duplicates, closing
    "case_transferred", "linked_case_opened", "duplicate_linked", "duplicate_reported", "duplicate_merged",
    "merged_as_duplicate", "duplicate_separated", "case_closed", "case_migrated",
    # the petitioner and the public
    "notification_sent", "citizen_notified", "survey_answered_on_web", "attachment_added",
    # failed timers and deliveries
    "incident_opened", "incident_retried", "incident_resolved",
    # tracked items (列管)
    "tracked_plan_submitted", "tracked_plan_approved", "tracked_plan_returned", "tracked_progress_reported",
    "tracked_study_followed_up", "tracked_visit_recorded", "tracked_item_released", "tracked_item_cancelled",
})


def event(case_id: int, at: datetime, kind: str, *, actor_id=None, work_item_id=None, **data) -> dict:
    """A case_events row (as a dict for a batched insert); raises ValueError for a kind not in KINDS."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of case event {kind!r}: add it to engine.cases.history.KINDS")
    return {"case_id": case_id, "at": at, "kind": kind, "actor_id": actor_id,
            "work_item_id": work_item_id, "data": data or None}
