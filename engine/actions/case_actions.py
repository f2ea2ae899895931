"""Engine actions on the case itself: transfer it, record an entry in its history, open a linked case."""
from __future__ import annotations

import json
from datetime import date, time, timedelta

from sqlalchemy import bindparam, select

from engine.cases.history import event
from engine.errors import InvalidInput
from engine.services.cases import StartCase, start_case
from engine.store.schema import agencies, units
from engine.store.steps import write_new_case_now
from engine.workflow.service_tasks import StepContext

_agency_by_code = select(agencies.c.id, agencies.c.name).where(agencies.c.code == bindparam("code"))
_unit_by_code = select(units.c.id, units.c.code, units.c.name).where(units.c.agency_id == bindparam("agency"),
                                                                     units.c.code == bindparam("code"))


def transfer_case(context: StepContext, params: dict) -> dict:
    """改分/移文: move the case to another agency (and, with unit_code, to one of its units); its
    open agency work moves at once. A unit the agency does not have leaves the case with no unit."""
    code, reason = params.get("agency_code"), (params.get("reason") or "").strip()
    unit_code = params.get("unit_code") or None
    if not code:
        raise InvalidInput("a transfer needs the agency to transfer to")
    if not reason:
        raise InvalidInput("a transfer needs a reason")
    now = context.uow.clock.now()
    found = context.uow.conn.execute(_agency_by_code, {"code": code}).one_or_none()
    if found is None:
        raise InvalidInput(f"agency {code!r} does not exist")
    unit = None if unit_code is None else context.uow.conn.execute(
        _unit_by_code, {"agency": found.id, "code": str(unit_code)}).one_or_none()
    if found.id == context.agency_id:
        if unit is not None:
            context.changes.place_in_unit(unit.id)
        return {"agency_code": code, "unit_code": unit.code if unit else None, "moved": False}
    context.changes.move_case(found.id)
    context.changes.place_in_unit(unit.id if unit else None)  # a unit of the agency it left is no unit here
    context.events.append(event(context.case_id, now, "case_transferred", actor_id=context.actor_id,
                                from_agency_id=context.agency_id, to_agency_id=found.id,
                                to_agency=found.name, reason=reason,
                                **({"to_unit": unit.name} if unit else {})))
    context.agency_id = found.id
    return {"agency_code": code, "agency_name": found.name, "unit_code": unit.code if unit else None, "moved": True}


def _as_text(value) -> str:
    if isinstance(value, (date, time, timedelta)):
        return value.isoformat() if not isinstance(value, timedelta) else str(value)
    raise InvalidInput(f"record_event cannot write a {type(value).__name__} into the case history")


def record_event(context: StepContext, params: dict) -> dict:
    """Write a named entry in the case history (e.g. a closing reason under art. 173)."""
    kind = str(params.get("kind") or "").strip()
    if not kind.isidentifier():
        raise InvalidInput("record_event needs a kind that is a plain identifier")
    # The history is JSON: a date or a time a diagram passes is written as ISO 8601 text.
    data = json.loads(json.dumps({k: v for k, v in params.items() if k != "kind"}, default=_as_text))
    # The diagram's names stay in the data, whatever they are: none can stand for who acted or when.
    # The kind is the diagram's own (engine.cases.history.KINDS holds only the engine's).
    context.events.append({"case_id": context.case_id, "at": context.uow.clock.now(), "kind": kind,
                           "actor_id": context.actor_id, "work_item_id": None, "data": data or None})
    return {"recorded": kind}


def open_case(context: StepContext, params: dict) -> dict:
    """Open a new case for the same citizen (a 1999 call that becomes a petition or a dispatch)."""
    case_type = params.get("case_type")
    if not case_type:
        raise InvalidInput("open_case needs the type of case to open")
    # The new case is written now, in the unit of work's transaction, beside the step that opens
    # it: the two commit or roll back together (PostgreSQL would otherwise commit it alone). A
    # case opened by this very step is written first, so that both refer to the same citizen.
    context.uow.begin_mid_step()
    if context.changes.new_case is not None:
        context.petitioner_id = write_new_case_now(context.uow, context.changes)
        context.new_petitioner = None
    started = start_case(StartCase(
        case_type=case_type, channel=params.get("channel") or "1999", category=params.get("category"),
        district=params.get("district"), subject=params.get("subject"), petitioner_id=context.petitioner_id,
        data={"linked_from": context.case_no}), context.uow)
    context.events.append(event(context.case_id, context.uow.clock.now(), "linked_case_opened",
                                actor_id=context.actor_id, case_no=started.case_no, case_type=case_type))
    return {"case_no": started.case_no, "case_id": started.case_id}
