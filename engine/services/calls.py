"""A 1999 call taken in one step: the call's case opened and its record completed at once.

The operator's console records a call and, in the same step, answers it, transfers it, or opens
a petition or dispatch case for the caller: the hotline case is started and its `record_call` task
completed with the operator's form, in one unit of work. The hotline workflow decides the rest
(a new case through its open_case action, a callback task when one was promised). A form the
schema refuses leaves nothing behind: no hotline case, no caller recorded.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select

from engine.accounts.identity import Principal
from engine.errors import InvalidInput, WorkflowFailed
from engine.store.schema import case_events, cases, work_items

from .cases import StartCase, start_case
from .work import CompleteWorkItem, complete_work_item

#: The hotline workflow's first task: the operator's record of the call.
RECORD_TASK = "record_call"


@dataclass(frozen=True)
class TakeCall:
    """Record a call: who called (name, phone; either may be missing) and the call's form."""

    principal: Principal
    form: dict
    caller: dict | None = None


@dataclass(frozen=True)
class CallTaken:
    """The call's case, and the case opened for the caller (None: answered or transferred)."""

    case_id: int
    case_no: str
    opened_case_id: int | None
    opened_case_no: str | None


def take_call(cmd: TakeCall, uow) -> CallTaken:
    """Open the call's hotline case as the operator and complete its record; raises InvalidForm for the
    form's errors (nothing kept), Forbidden for a principal who takes no calls."""
    if not isinstance(cmd.form, dict):
        raise InvalidInput("the call's form must be an object")
    caller = {k: v for k, v in (cmd.caller or {}).items() if v} or None
    summary = str(cmd.form.get("call_summary") or "")
    started = start_case(StartCase("hotline", channel="1999", category=cmd.form.get("call_topic"),
                                   district=cmd.form.get("case_district"),
                                   subject=cmd.form.get("case_subject") or summary[:200] or None,
                                   description=summary or None, petitioner=caller, principal=cmd.principal), uow)
    record = uow.conn.execute(select(work_items.c.id).where(
        work_items.c.case_id == started.case_id, work_items.c.task_spec == RECORD_TASK,
        work_items.c.status == "open")).scalar()
    if record is None:
        raise WorkflowFailed(f"the hotline process did not open its {RECORD_TASK} task")
    complete_work_item(CompleteWorkItem(record, cmd.form, cmd.principal), uow)
    opened = uow.conn.execute(select(case_events.c.data).where(and_(
        case_events.c.case_id == started.case_id, case_events.c.kind == "linked_case_opened"))).scalar()
    opened_no = (opened or {}).get("case_no")
    opened_id = uow.conn.execute(select(cases.c.id).where(cases.c.case_no == opened_no)).scalar() if opened_no else None
    return CallTaken(started.case_id, started.case_no, opened_id, opened_no)
