"""Engine actions behind BPMN service tasks, registered here and nowhere else.

A diagram's service task names one of these operations (`spiffworkflow:serviceTaskOperator`);
bootstrap hands this table to the script engine (engine.workflow.service_tasks) and the
deployment checks refuse a diagram that names an operation not in it.
"""
from __future__ import annotations

from engine.actions import case_actions, citizen_notices, deadline_actions, tracked_actions

#: Every engine action by operation name.
ACTIONS = {
    "transfer_case": case_actions.transfer_case,
    "record_event": case_actions.record_event,
    "open_case": case_actions.open_case,
    "notify_citizen": citizen_notices.notify_citizen,
    "extend_deadline": deadline_actions.extend_deadline,
    "pause_clock": deadline_actions.pause_clock,
    "resume_clock": deadline_actions.resume_clock,
    "restart_deadline": deadline_actions.restart_deadline,
    "record_tracked_plan": tracked_actions.record_tracked_plan,
    "decide_tracked_plan": tracked_actions.decide_tracked_plan,
    "schedule_tracked_report": tracked_actions.schedule_tracked_report,
    "record_tracked_progress": tracked_actions.record_tracked_progress,
    "close_tracked_item": tracked_actions.close_tracked_item,
    "record_study_follow_up": tracked_actions.record_study_follow_up,
    "record_tracked_visit": tracked_actions.record_tracked_visit,
}
