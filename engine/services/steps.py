"""Run a case's workflow on without user input: fire due timers, run automatic tasks."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from engine.cases.history import event
from engine.cases.steps import InstanceRef, StepResult, finish_step, rerecord_timers
from engine.errors import NotFound
from engine.store.changes import StepChanges
from engine.store.schema import cases, workflow_instances
from engine.workflow import runner, service_tasks, state


@dataclass(frozen=True)
class RunInstance:
    """Refresh timers and run engine steps on one instance (what a timer firing does)."""

    instance_id: int
    reason: str = "engine_steps"


_load = (
    select(workflow_instances.c.id, workflow_instances.c.case_id, workflow_instances.c.definition_id,
           workflow_instances.c.state, workflow_instances.c.version, workflow_instances.c.status,
           workflow_instances.c.next_timer_at, cases.c.agency_id, cases.c.due_at, cases.c.case_no,
           cases.c.petitioner_id, cases.c.unit_id)
    .join(cases, cases.c.id == workflow_instances.c.case_id)
    .where(workflow_instances.c.id == bindparam("b_id"))
    .with_for_update()
)


def run_instance(cmd: RunInstance, uow) -> StepResult | None:
    """Run the instance on; returns None (changing nothing) if it is already finished."""
    row = uow.conn.execute(_load, {"b_id": cmd.instance_id}).one_or_none()
    if row is None:
        raise NotFound(f"workflow instance {cmd.instance_id} does not exist")
    if row.status in ("completed", "cancelled"):
        return None
    uow.locked_instance = row.id  # _load took its row lock
    definition = uow.specs.get(uow.conn, row.definition_id)
    workflow = state.load(row.state, definition.spec, definition.subprocess_specs, uow.script_engine)
    before = runner.task_states(workflow)
    ready_before = runner.inspect(workflow).ready_ids
    now = uow.clock.now()
    changes = StepChanges(row.case_id, now, events=[event(row.case_id, now, "engine_steps", reason=cmd.reason)])
    context = service_tasks.StepContext(uow, changes, row.agency_id, None, row.due_at, case_no=row.case_no,
                                        petitioner_id=row.petitioner_id)
    with service_tasks.step(context):
        runner.run_steps(workflow, uow.clock)
    ref = InstanceRef(row.id, row.case_id, row.definition_id, row.version, context.agency_id,
                      row.next_timer_at, due_at=context.due_at, unit_id=row.unit_id)
    if runner.task_states(workflow) == before:  # nothing was due: write nothing, record nothing
        if cmd.reason == "timer":
            # The timer row that brought this here is done, yet the workflow still waits: it
            # was recorded for another instant than the workflow's own. Record it again as
            # the workflow has it, so it fires then rather than never.
            rerecord_timers(uow, ref, workflow, now)
        return StepResult(row.id, row.status, row.version)
    return finish_step(uow, ref, workflow, changes, ready_before=ready_before)
