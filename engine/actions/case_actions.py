"""Engine actions on the case itself: transfer it, record an entry in its history, open a linked case."""
from __future__ import annotations

from sqlalchemy import bindparam, select, update

from engine.cases.history import event
from engine.errors import InvalidInput
from engine.services.cases import StartCase, start_case
from engine.store.schema import agencies, cases, work_items
from engine.workflow.service_tasks import StepContext

_agency_by_code = select(agencies.c.id, agencies.c.name).where(agencies.c.code == bindparam("code"))
_move_case = update(cases).where(cases.c.id == bindparam("b_case")).values(
    agency_id=bindparam("agency_id"), updated_at=bindparam("b_now"))
_move_open_items = (
    update(work_items)
    .where(work_items.c.case_id == bindparam("b_case"), work_items.c.status == "open",
           work_items.c.agency_id.is_not(None))
    .values(agency_id=bindparam("agency_id"), assignee_id=None)
)


def transfer_case(context: StepContext, params: dict) -> dict:
    """改分/移文: move the case to another agency; its open agency work moves at once."""
    code, reason = params.get("agency_code"), (params.get("reason") or "").strip()
    if not code:
        raise InvalidInput("a transfer needs the agency to transfer to")
    if not reason:
        raise InvalidInput("a transfer needs a reason")
    conn, now = context.uow.conn, context.uow.clock.now()
    found = conn.execute(_agency_by_code, {"code": code}).one_or_none()
    if found is None:
        raise InvalidInput(f"agency {code!r} does not exist")
    if found.id == context.agency_id:
        return {"agency_code": code, "moved": False}
    conn.execute(_move_case, {"b_case": context.case_id, "agency_id": found.id, "b_now": now})
    conn.execute(_move_open_items, {"b_case": context.case_id, "agency_id": found.id})
    context.events.append(event(context.case_id, now, "case_transferred", actor_id=context.actor_id,
                                from_agency_id=context.agency_id, to_agency_id=found.id,
                                to_agency=found.name, reason=reason))
    context.agency_id = found.id
    return {"agency_code": code, "agency_name": found.name, "moved": True}


def record_event(context: StepContext, params: dict) -> dict:
    """Write a named entry in the case history (e.g. a closing reason under art. 173)."""
    kind = str(params.get("kind") or "").strip()
    if not kind.isidentifier():
        raise InvalidInput("record_event needs a kind that is a plain identifier")
    data = {k: v for k, v in params.items() if k != "kind"}
    context.events.append(event(context.case_id, context.uow.clock.now(), kind,
                                actor_id=context.actor_id, **data))
    return {"recorded": kind}


_caller = select(cases.c.case_no, cases.c.petitioner_id).where(cases.c.id == bindparam("b_case"))


def open_case(context: StepContext, params: dict) -> dict:
    """Open a new case for the same citizen (a 1999 call that becomes a petition or a dispatch)."""
    case_type = params.get("case_type")
    if not case_type:
        raise InvalidInput("open_case needs the type of case to open")
    caller = context.uow.conn.execute(_caller, {"b_case": context.case_id}).one()
    started = start_case(StartCase(
        case_type=case_type, channel=params.get("channel") or "1999", category=params.get("category"),
        district=params.get("district"), subject=params.get("subject"), petitioner_id=caller.petitioner_id,
        data={"linked_from": caller.case_no}), context.uow)
    context.events.append(event(context.case_id, context.uow.clock.now(), "linked_case_opened",
                                actor_id=context.actor_id, case_no=started.case_no, case_type=case_type))
    return {"case_no": started.case_no, "case_id": started.case_id}
