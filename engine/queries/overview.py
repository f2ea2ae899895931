"""What an installation holds, at a glance: deployed processes, open cases, open work by role."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from engine.store.schema import cases, process_definitions, work_items


@dataclass(frozen=True)
class ProcessSummary:
    """A deployed process and its latest version."""

    process_key: str
    name: str | None
    version: int


@dataclass(frozen=True)
class Overview:
    """The landing page's figures."""

    processes: tuple[ProcessSummary, ...]
    open_cases: int
    open_work_by_role: tuple[tuple[str | None, int], ...]


def overview(uow) -> Overview:
    """Deployed processes (latest versions), open cases, and open work items per role."""
    conn = uow.conn
    processes = conn.execute(
        select(process_definitions.c.process_key, process_definitions.c.name,
               func.max(process_definitions.c.version).label("version"))
        .group_by(process_definitions.c.process_key, process_definitions.c.name)
        .order_by(process_definitions.c.process_key)).all()
    open_cases = conn.execute(select(func.count()).select_from(cases).where(cases.c.status == "open")).scalar_one()
    inbox = conn.execute(
        select(work_items.c.role, func.count()).where(work_items.c.status == "open")
        .group_by(work_items.c.role).order_by(work_items.c.role)).all()
    return Overview(tuple(ProcessSummary(*row) for row in processes), open_cases,
                    tuple((role, n) for role, n in inbox))
