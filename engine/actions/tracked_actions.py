"""Engine actions of a tracked item (列管, workflows/tracked_item.bpmn): plan, report rounds, progress, closing.

Each reads the item of the step's case and writes its own rows (plan, progress, visits) in the
unit of work's transaction while the step runs (engine.store.tracked), so that they commit or
roll back with the step; the workflow keeps only the few values its gateways read.
"""
from __future__ import annotations

from datetime import date, datetime

from engine.cases import tracking
from engine.cases.history import event
from engine.errors import InvalidInput
from engine.store import tracked
from engine.workflow.service_tasks import StepContext


def _item(context: StepContext):
    row = tracked.item_of_case(context.uow.conn, context.case_id)
    if row is None:
        raise InvalidInput(f"case {context.case_no} is not a tracked item (register it as one)")
    return row


def _write(context: StepContext) -> None:
    # Written now, beside the step (on PostgreSQL the case's instance is locked first).
    context.uow.begin_mid_step()


def record_tracked_plan(context: StepContext, params: dict) -> dict:
    """The executing agency's plan: planned progress per month, to be approved by the commission."""
    item = _item(context)
    months = tracking.plan_months(item.start_month, item.end_month, params.get("planned_percents"))
    _write(context)
    conn = context.uow.conn
    tracked.replace_plan(conn, item.id, months)
    tracked.update_item(conn, item.id, plan_status="proposed")
    context.events.append(event(context.case_id, context.uow.clock.now(), "tracked_plan_submitted",
                                actor_id=context.actor_id, months=len(months),
                                final_percent=tracking.to_percent(months[-1][1])))
    return {"months": len(months)}


def decide_tracked_plan(context: StepContext, params: dict) -> dict:
    """The commission approves the plan (tracking starts) or returns it to the agency."""
    item = _item(context)
    approved = params.get("decision") == "approve"
    _write(context)
    values = {"plan_status": "approved", "status": "tracking"} if approved else {"plan_status": "none"}
    tracked.update_item(context.uow.conn, item.id, **values)
    context.events.append(event(context.case_id, context.uow.clock.now(),
                                "tracked_plan_approved" if approved else "tracked_plan_returned",
                                actor_id=context.actor_id, comment=str(params.get("comment") or "")))
    return {"approved": approved}


def schedule_tracked_report(context: StepContext, params: dict) -> dict:
    """The next period to report on, and when its report round opens (the timer's due time)."""
    item = _item(context)
    now = context.uow.clock.now()
    today = now.astimezone(context.uow.zone).date()
    period = (tracking.next_period(item.kind, item.latest_period) if item.latest_period
              else tracking.first_period(item.kind, item.start_month, today))
    opens = max(tracking.round_opens(period, context.uow.zone), now)
    if item.closure_request is not None:  # a request the commission turned down: tracking goes on
        _write(context)
        tracked.update_item(context.uow.conn, item.id, closure_request=None)
    return {"period": period.isoformat(), "label": f"{period:%Y-%m}", "opens_at": opens.isoformat()}


def record_tracked_progress(context: StepContext, params: dict) -> dict:
    """The agency's report for a period: planned (from the approved plan) against actual progress.

    Returns what the diagram's gateways read: the gap, whether the item is on the meeting's
    agenda, whether a special report is owed, whether a building's year-end inspection is due.
    """
    item = _item(context)
    period = date.fromisoformat(str(params.get("period")))
    actual = tracking.percent_bp(params.get("actual_percent"), "actual_percent")
    planned = (tracking.planned_for(tracked.plan_of(context.uow.conn, item.id), period, item.start_month,
                                    item.end_month) if item.plan_status == "approved" else None)
    gap = planned - actual if planned is not None else 0
    streak = item.behind_20_streak + 1 if gap >= tracking.SPECIAL_REPORT_GAP_BP else 0
    now = context.uow.clock.now()
    _write(context)
    conn = context.uow.conn
    note = params.get("note")
    tracked.insert_progress(conn, {"tracked_item_id": item.id, "period": period, "planned_bp": planned,
                                   "actual_bp": actual, "gap_bp": gap, "note": str(note) if note else None,
                                   "reported_by": context.actor_id, "reported_at": now})
    request = params.get("closure_request")
    tracked.update_item(conn, item.id, latest_period=period, latest_planned_bp=planned, latest_actual_bp=actual,
                        latest_gap_bp=gap, behind_20_streak=streak,
                        closure_request=request if request in ("release", "cancel") else None)
    special = streak >= tracking.SPECIAL_REPORT_STREAK
    context.events.append(event(context.case_id, now, "tracked_progress_reported", actor_id=context.actor_id,
                                period=f"{period:%Y-%m}", planned=tracking.to_percent(planned),
                                actual=tracking.to_percent(actual), gap=tracking.to_percent(gap),
                                special_report=special))
    return {"period": period.isoformat(), "gap_percent": tracking.to_percent(gap),
            "on_agenda": gap >= tracking.AGENDA_GAP_BP, "special_report": special,
            "year_end_inspection": item.kind == "low_use_building" and period.month == 12}


def close_tracked_item(context: StepContext, params: dict) -> dict:
    """Release (解除列管) or cancel (撤銷列管) the item, as the commission approved; a released
    commissioned study gets the date of its follow-up six months on."""
    item = _item(context)
    outcome = {"release": "released", "cancel": "cancelled"}.get(params.get("request"))
    if outcome is None:
        raise InvalidInput(f"a tracked item is released or cancelled, not {params.get('request')!r}")
    now = context.uow.clock.now()
    _write(context)
    tracked.update_item(context.uow.conn, item.id, status=outcome, closed_at=now, closure_request=None)
    context.events.append(event(context.case_id, now, f"tracked_item_{outcome}", actor_id=context.actor_id,
                                reason=str(params.get("reason") or "")))
    follow_up_at = None
    if item.kind == "commissioned_study" and outcome == "released":
        local = now.astimezone(context.uow.zone)
        month = tracking.add_months(local.date().replace(day=1), tracking.STUDY_FOLLOW_UP_MONTHS)
        day = min(local.day, (tracking.add_months(month, 1) - month).days)
        follow_up_at = datetime.combine(month.replace(day=day), tracking.ROUND_OPENS_AT,
                                        tzinfo=context.uow.zone).isoformat()
    return {"outcome": outcome, "follow_up_at": follow_up_at}


def record_study_follow_up(context: StepContext, params: dict) -> dict:
    """What became of a closed commissioned study: adopted, partly adopted, or filed."""
    item = _item(context)
    result = params.get("result")
    if result not in ("adopted", "partly_adopted", "filed"):
        raise InvalidInput(f"a study's follow-up is adopted, partly_adopted or filed, not {result!r}")
    _write(context)
    tracked.update_item(context.uow.conn, item.id, follow_up=result)
    context.events.append(event(context.case_id, context.uow.clock.now(), "tracked_study_followed_up",
                                actor_id=context.actor_id, result=result))
    return {"follow_up": result}


def record_tracked_visit(context: StepContext, params: dict) -> dict:
    """The commission's visit drawn in the diagram (a building's year-end inspection), with its findings."""
    item = _item(context)
    kind = params.get("visit_kind") or "verification"
    try:
        visited_on = date.fromisoformat(str(params.get("visited_on")))
    except ValueError:
        raise InvalidInput("visited_on must be a date (YYYY-MM-DD)") from None
    score = params.get("score")
    now = context.uow.clock.now()
    _write(context)
    visit_id = tracked.insert_visit(context.uow.conn, {
        "tracked_item_id": item.id, "visit_kind": kind, "visited_on": visited_on,
        "findings": str(params.get("findings") or ""), "score": score, "recorded_by": context.actor_id,
        "recorded_at": now})
    context.events.append(event(context.case_id, now, "tracked_visit_recorded", actor_id=context.actor_id,
                                visit_kind=kind, visited_on=visited_on.isoformat(), score=score))
    return {"visit_id": visit_id}
