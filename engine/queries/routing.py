"""Where a new case would be routed: the routing decision table of its process, asked before the case exists.

The 1999 operator sees the agency and unit a petition or a dispatch case would go to before saving
the call. The answer comes from the decision table the latest deployed version of the process
calls in its business rule task (routing.dmn, dispatch_routing.dmn), evaluated by SpiffWorkflow's
DMN engine in the restricted script engine, exactly as the case's first step will evaluate it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from engine.store.schema import agencies, units
from engine.workflow.decisions import decide, decision_task

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoutingSuggestion:
    """The agency and unit the rules name (codes and names), and whether the rules trust their answer
    (an untrusted one goes to a dispatcher to route by hand)."""

    agency_code: str | None
    agency_name: str | None
    unit_code: str | None
    unit_name: str | None
    trusted: bool


def suggest_routing(uow, process_key: str, category: str | None, district: str | None,
                    **facts) -> RoutingSuggestion | None:
    """The routing the process's decision table gives for these facts; None when the process is not
    deployed, has no decision table, or its table cannot answer for them."""
    definition_id = uow.specs.latest_id(uow.conn, process_key)
    if definition_id is None:
        return None
    task = decision_task(uow.specs.get(uow.conn, definition_id).spec)
    if task is None:
        return None
    data = {"category": category, "district": district, "road_width_m": None, **facts}
    try:
        answer = decide(task, data, uow.script_engine)
    except Exception as exc:  # a table that cannot answer these facts: no suggestion, the case's step will say why
        log.info("no routing suggestion for %s (%s, %s): %s", process_key, category, district, exc)
        return None
    agency_code, unit_code = answer.get("agency_code"), answer.get("unit_code")
    agency = uow.conn.execute(select(agencies.c.id, agencies.c.name).where(agencies.c.code == agency_code)).first() \
        if agency_code else None
    unit_name = uow.conn.execute(select(units.c.name).where(units.c.agency_id == agency.id, units.c.code == unit_code)
                                 ).scalar() if agency is not None and unit_code else None
    return RoutingSuggestion(agency_code, agency.name if agency else None, unit_code, unit_name,
                             bool(answer.get("trusted", True)))
