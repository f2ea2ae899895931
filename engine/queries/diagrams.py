"""A case's diagram: the BPMN of the process version it runs, and where the case stands in it."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from engine.accounts.identity import Principal
from engine.errors import NotFound
from engine.store.schema import process_definitions, work_items, workflow_instances

from .cases import may_see_case


@dataclass(frozen=True)
class CaseDiagram:
    """The BPMN XML of the case's process version; the tasks open now and those done (BPMN element ids)."""

    case_id: int
    process_key: str
    version: int
    xml: str
    open_tasks: tuple
    done_tasks: tuple


_instance = (select(process_definitions.c.process_key, process_definitions.c.version, process_definitions.c.sources)
             .select_from(workflow_instances.join(process_definitions,
                                                  process_definitions.c.id == workflow_instances.c.definition_id))
             .where(workflow_instances.c.case_id == bindparam("b_case"))
             .order_by(workflow_instances.c.id.desc()).limit(1))
_tasks = select(work_items.c.task_spec, work_items.c.status).where(work_items.c.case_id == bindparam("b_case"))


def _defining(sources: dict, process_key: str) -> str | None:
    """The file of the bundle that defines the process (an executable <process id="...">)."""
    wanted = re.compile(r"<(?:\w+:)?process\b[^>]*\bid=[\"']" + re.escape(process_key) + r"[\"']")
    return next((xml for name, xml in sorted(sources.items()) if name.endswith(".bpmn") and wanted.search(xml)), None)


def case_diagram(uow, principal: Principal, case_id: int) -> CaseDiagram:
    """The case's diagram; raises NotFound for a case the principal may not see, or one with no diagram."""
    if not may_see_case(uow, principal, case_id):
        raise NotFound(f"case {case_id} does not exist")
    row = uow.conn.execute(_instance, {"b_case": case_id}).one_or_none()
    xml = _defining(row.sources, row.process_key) if row is not None else None
    if xml is None:
        raise NotFound(f"case {case_id} has no diagram")
    states: dict[str, set] = {"open": set(), "completed": set()}
    for task_spec, status in uow.conn.execute(_tasks, {"b_case": case_id}):
        states.setdefault(status, set()).add(task_spec)
    return CaseDiagram(case_id, row.process_key, row.version, xml, tuple(sorted(states["open"])),
                       tuple(sorted(states["completed"] - states["open"])))
