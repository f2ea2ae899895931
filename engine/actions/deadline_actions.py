"""Engine actions on a case's deadline: extend it (展延), pause and resume its clock (補陳), restart it.

Each takes the deadline terms the case carries in its data (`deadline`), returns the new
terms for the diagram to store (resultVariable="deadline"), and moves the due time of the
case and of its open work in the same transaction.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import bindparam, select

from engine.actions.citizen_notices import tell_citizen
from engine.cases.history import event
from engine.deadlines import ladder, rules
from engine.deadlines.calendar import calendar_for
from engine.errors import InvalidInput
from engine.store.changes import DueMove
from engine.store.schema import deadline_rules
from engine.workflow.service_tasks import StepContext


def _terms(params: dict) -> rules.Deadline:
    data = params.get("deadline")
    if not isinstance(data, dict):
        raise InvalidInput("this case carries no deadline terms (the `deadline` variable)")
    return rules.Deadline.from_data(data)


def _move_due(context: StepContext, terms: rules.Deadline) -> None:
    """Move the due time of the case and its open work, and their reminders and rungs with it.

    Work that keeps no due time (task property deadline="none") is left as it is; work that
    keeps the due time without reminders or rungs (escalate="false") gets none.
    """
    now = context.uow.clock.now()
    due_at = None if terms.is_paused else terms.due_at
    plan = ladder.plan(context.uow, terms.to_data(), now) if due_at is not None else ()
    # Given time again, the work is no longer late: its ladder starts from the bottom.
    context.changes.move_due(DueMove(due_at, reset_level=due_at is None or due_at > now, ladder=plan))
    context.due_at = due_at


def extend_deadline(context: StepContext, params: dict) -> dict:
    """Grant an extension within the rule's caps; the reason is recorded for the notice to the citizen."""
    reason = str(params.get("reason") or "").strip()
    if not reason:
        raise InvalidInput("an extension needs a reason: the citizen is told why")
    amount = params.get("amount")
    unit = params.get("unit") or "working_days"
    current = _terms(params)
    extended = rules.extend(current, amount, calendar_for(context.uow), unit=unit)
    _move_due(context, extended)
    notice = _notify_citizen_of_extension(context, reason, extended)
    context.events.append(event(context.case_id, context.uow.clock.now(), "deadline_extended",
                                actor_id=context.actor_id, reason=reason, amount=amount, unit=unit,
                                from_due_at=current.due_at.isoformat(), due_at=extended.due_at.isoformat(),
                                extensions=extended.extensions, notice=notice))
    return extended.to_data()


def _notify_citizen_of_extension(context: StepContext, reason: str, extended: rules.Deadline) -> str:
    """The citizen must be told why (展延 needs a written notice): by e-mail when we have an address."""
    due = extended.due_at.astimezone(context.uow.zone).strftime("%Y-%m-%d")
    return tell_citizen(context, "extension", lambda case_no: f"您的陳情案件 {case_no} 因{reason}，答復期限展延至 {due}。",
                        dedup_key=f"extension:{context.case_id}:{extended.started_at.isoformat()}:"
                                  f"{extended.extensions}")  # a new round counts its extensions anew


def pause_clock(context: StepContext, params: dict) -> dict:
    """Stop the clock while the case waits for the citizen; the case has no due time meanwhile.

    With `respond_by` (ISO 8601), the citizen is told what to send (the reason) and by when
    (補陳), by e-mail when an address is on file.
    """
    now = context.uow.clock.now()
    reason = str(params.get("reason") or "").strip()
    respond_by = _moment(params.get("respond_by"), "respond_by") if params.get("respond_by") else None
    paused = rules.pause(_terms(params), now)
    _move_due(context, paused)
    context.events.append(event(context.case_id, now, "clock_paused", actor_id=context.actor_id, reason=reason))
    if respond_by is not None:
        when = respond_by.astimezone(context.uow.zone).strftime("%Y-%m-%d %H:%M")
        tell_citizen(context, "supplement_request", lambda case_no: f"您的陳情案件 {case_no} 請於 {when} 前補充：{reason}")
    return paused.to_data()


def _moment(value, name: str):
    """An aware datetime from ISO 8601 text; InvalidInput naming the parameter otherwise."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(f"{name} must be a date and time with its offset (ISO 8601), not {value!r}")
    return moment


def resume_clock(context: StepContext, params: dict) -> dict:
    """Restart the clock with the time that was left when it stopped."""
    now = context.uow.clock.now()
    resumed = rules.resume(_terms(params), now, calendar_for(context.uow))
    _move_due(context, resumed)
    context.events.append(event(context.case_id, now, "clock_resumed", actor_id=context.actor_id,
                                due_at=resumed.due_at.isoformat()))
    return resumed.to_data()


_rule_first_day = select(deadline_rules.c.first_day).where(deadline_rules.c.id == bindparam("b_rule"))


def restart_deadline(context: StepContext, params: dict) -> dict | None:
    """A new round of the same terms from now: a reply sent back for a new one (退回重新答復).

    Returns None, changing nothing, when the case carries no deadline terms (no rule covers it):
    the diagram keeps its own fallback then.
    """
    if params.get("deadline") is None:
        return None
    now = context.uow.clock.now()
    current = _terms(params)
    if "first_day" not in params["deadline"] and current.rule_id is not None:
        # Terms written before they kept it: count the way the rule they came from counts.
        first_day = context.uow.conn.execute(_rule_first_day, {"b_rule": current.rule_id}).scalar_one_or_none()
        current = replace(current, first_day=first_day or current.first_day)
    restarted = rules.restart(current, now, calendar_for(context.uow))
    _move_due(context, restarted)
    context.events.append(event(context.case_id, now, "deadline_restarted", actor_id=context.actor_id,
                                reason=str(params.get("reason") or ""), rule=restarted.rule_code,
                                rule_id=restarted.rule_id, limit=restarted.limit, unit=restarted.unit,
                                from_due_at=current.due_at.isoformat(), due_at=restarted.due_at.isoformat()))
    return restarted.to_data()
