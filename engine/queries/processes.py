"""The deployed process versions and how many cases each still runs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from sqlalchemy import func, literal_column, select

from engine.store.schema import process_definitions, workflow_instances

# Written as the partial index ix_workflow_instances_running writes it, so that it is used.
RUNNING = workflow_instances.c.status.not_in([literal_column("'completed'"), literal_column("'cancelled'")])


@dataclass(frozen=True)
class ProcessVersion:
    """One deployed version of a process and its cases not yet completed or cancelled."""

    definition_id: int
    version: int
    name: str | None
    deployed_at: datetime
    deployed_by: str | None
    running_cases: int


@dataclass(frozen=True)
class DeployedProcess:
    """A process key and its versions, the newest first."""

    process_key: str
    versions: tuple

    @property
    def running_cases(self) -> int:
        return sum(v.running_cases for v in self.versions)


def deployed_processes(uow) -> tuple[DeployedProcess, ...]:
    """Every deployed process by key, each version with its running cases (waiting or failed included)."""
    # Counted per version (a handful) from the partial index of running instances, rather than
    # by joining and grouping every running instance.
    running = (select(func.count()).select_from(workflow_instances)
               .where(workflow_instances.c.definition_id == process_definitions.c.id, RUNNING)
               .scalar_subquery())
    rows = uow.conn.execute(
        select(process_definitions.c.process_key, process_definitions.c.id, process_definitions.c.version,
               process_definitions.c.name, process_definitions.c.deployed_at, process_definitions.c.deployed_by,
               running.label("running"))
        .order_by(process_definitions.c.process_key, process_definitions.c.version.desc()))
    return tuple(DeployedProcess(key, tuple(ProcessVersion(*row[1:]) for row in group))
                 for key, group in groupby(rows, key=lambda row: row.process_key))
