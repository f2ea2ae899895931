"""The only module that drives SpiffWorkflow instances: start, complete, step, inspect."""
from __future__ import annotations

import json
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException, WorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.exc import DBAPIError

from engine.errors import Conflict, InvalidInput, PetiflowError, WorkflowFailed, is_outage, is_schema_behind
from engine.scripting.datacheck import RESERVED_NAMES, Allowance, find_unstorable
from engine.workflow import spiff_clock
from engine.workflow.definitions import PERFORMER_PREFIX
from engine.workflow.specs import ParsedDefinition


@dataclass(frozen=True)
class ReadyTask:
    """A READY manual task: what the inbox shows."""

    task_id: str
    spec_name: str
    name: str
    lane: str | None
    form_key: str | None
    agency_code: str | None = None  # the task names its agency (property agencyVariable)
    deadline: dict | None = field(default=None, compare=False)  # the case's deadline terms, if any
    # What the work keeps of its case's deadline: "case", its due time, reminders and escalation
    # rungs; "due_only" (task property escalate="false"), the due time alone; "none"
    # (deadline="none"), nothing: work outside the reply deadline (chases, surveys, progress reports).
    deadline_mode: str = "case"
    # Who the work goes to rather than the whole group (engine.cases.assignment): the last
    # performer of the task named by the property assignTo="performer:<task id>", else the user
    # whose username the variable named by assigneeVariable holds.
    performer_of: str | None = None
    assignee: str | None = None
    # What picks the task's own deadline rule (engine.deadlines.rules: task rules): the case's
    # type, channel and category as its data carries them.
    case_keys: tuple | None = field(default=None, compare=False)


@dataclass(frozen=True)
class WaitingTimer:
    """A BPMN timer event waiting to fire, with its due time."""

    task_id: str
    spec_name: str
    name: str
    due_at: datetime


def _failed(exc: Exception) -> WorkflowFailed:
    task = getattr(exc, "task", None)
    spec = getattr(task, "task_spec", None)
    details = {
        "element_id": getattr(spec, "bpmn_id", None) or getattr(exc, "task_spec_name", None),
        "element_name": getattr(spec, "bpmn_name", None),
        "line": getattr(exc, "line_number", None) or None,
    }
    message = str(getattr(exc, "error", None) or exc).split("\n")[0]
    # SpiffWorkflow's note for a script error it cannot place: nothing a reader can use.
    message = message.removesuffix(" Python script error on line 0: ''")
    where = details["element_name"] or details["element_id"]
    return WorkflowFailed(f"{where}: {message}" if where else message,
                          details={k: v for k, v in details.items() if v is not None})


@contextmanager
def _step_failures():
    """A step that fails becomes WorkflowFailed (422), whatever raised it, except an outage.

    SpiffWorkflow raises bare errors too (a timer date that is not a date, a known fault of
    an inclusive gateway in a loop); they are faults of this case's diagram or data, which a
    retry cannot mend, not 500s. A lost database connection stays what it is, so that
    workers retry and the API answers 503.
    """
    try:
        yield
    except (SpiffWorkflowException, WorkflowException) as exc:
        lost = _database_error(exc)
        if lost is not None and (is_outage(lost) or is_schema_behind(lost)):
            raise lost from None  # an engine action lost the database: not the diagram's fault
        raise _failed(exc) from None
    except PetiflowError:
        raise
    except DBAPIError as exc:
        if is_outage(exc) or is_schema_behind(exc):
            raise
        raise WorkflowFailed(f"the workflow failed: {type(exc.orig).__name__}: "
                             f"{(str(exc.orig).splitlines() or [''])[0][:300]}") from exc
    except Exception as exc:  # noqa: BLE001 - see above; the original stays chained for the log
        text = (str(exc).splitlines() or [""])[0][:300]
        raise WorkflowFailed(f"the workflow failed: {type(exc).__name__}" + (f": {text}" if text else "")) from exc


def _database_error(exc: BaseException) -> DBAPIError | None:
    """The database error behind a wrapped exception, if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, DBAPIError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or getattr(exc, "exception", None)
    return None


def _step_limit(workflow: BpmnWorkflow):
    """The time limit of all the step's scripts together (the restricted engine's), if any."""
    step = getattr(workflow.script_engine, "step", None)
    return step() if step is not None else nullcontext()


def run_steps(workflow: BpmnWorkflow, clock=None) -> None:
    """Fire due timers and run every automatic task until the workflow waits.

    One do_engine_steps() marks an expired timer READY only at its end, so timers are
    refreshed first (see reference/spiffworkflow-3.2-notes.md, risk 4). Timers are computed
    and checked on `clock` (the system time when None).
    """
    with _step_failures(), spiff_clock.using(clock), _step_limit(workflow):
        _run_on(workflow)


def _run_on(workflow: BpmnWorkflow) -> None:
    workflow.refresh_timers()
    workflow.do_engine_steps()


def task_states(workflow: BpmnWorkflow) -> dict:
    """Every task's state, called processes included: if a run leaves this unchanged, it did nothing.

    Data changes only when a task runs, and a task that runs changes state, so comparing these
    tells an idle run (nothing due) from a step, whatever the serialized text looks like.
    """
    states = {task_id: task.state for task_id, task in workflow.tasks.items()}
    for sub in workflow.subprocesses.values():
        states.update((task_id, task.state) for task_id, task in sub.tasks.items())
    return states


def start(definition: ParsedDefinition, data: dict, script_engine, clock=None) -> BpmnWorkflow:
    """Create a workflow on a parsed definition with start data and run it to its first wait."""
    workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs, script_engine=script_engine)
    start_task = workflow.get_next_task(state=TaskState.READY)
    start_task.data.update(data)
    run_steps(workflow, clock)
    return workflow


def complete(workflow: BpmnWorkflow, task_id: str, data: dict, clock=None) -> None:
    """Complete a READY manual task with data and run on; raises Conflict if it is not ready."""
    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except (TaskNotFoundException, ValueError, TypeError):
        task = None
    if task is None:
        raise Conflict(f"task {task_id} is no longer part of this case")
    if task.state != TaskState.READY or not task.task_spec.manual:
        raise Conflict(f"task {task.task_spec.bpmn_name or task.task_spec.name} is not waiting for input")
    task.set_data(**data)
    with _step_failures(), spiff_clock.using(clock), _step_limit(workflow):
        task.run()
        _run_on(workflow)


@dataclass(frozen=True)
class Snapshot:
    """What the database mirrors of a workflow after a step: its inbox tasks and its timers."""

    ready: list[ReadyTask]
    timers: list[WaitingTimer]

    @property
    def ready_ids(self) -> set[str]:
        return {t.task_id for t in self.ready}


def _ready_task(task) -> ReadyTask:
    spec = task.task_spec
    properties = (getattr(spec, "extensions", None) or {}).get("properties", {})
    variable = properties.get("agencyVariable")
    agency_code = task.data.get(variable) if variable else None
    mode = ("none" if properties.get("deadline") == "none"
            else "due_only" if properties.get("escalate") == "false" else "case")
    terms = task.data.get("deadline") if mode == "case" else None
    assign_to = properties.get("assignTo") or ""
    assignee_variable = properties.get("assigneeVariable")
    assignee = task.data.get(assignee_variable) if assignee_variable else None
    return ReadyTask(str(task.id), spec.name, spec.bpmn_name or spec.name, spec.lane,
                     properties.get("formJsonSchemaFilename"),
                     agency_code if isinstance(agency_code, str) else None,
                     terms if isinstance(terms, dict) else None, mode,
                     assign_to.removeprefix(PERFORMER_PREFIX) if assign_to.startswith(PERFORMER_PREFIX) else None,
                     assignee.strip() if isinstance(assignee, str) and assignee.strip() else None,
                     _case_keys(task.data))


def _case_keys(data: dict) -> tuple | None:
    keys = tuple(data.get(name) for name in ("case_type", "channel", "category"))
    return keys if all(k is None or isinstance(k, str) for k in keys) and keys[0] else None


def _due(event_definition, value) -> datetime | None:
    if not value:
        return None
    if isinstance(event_definition, CycleTimerEventDefinition):
        due = datetime.fromisoformat(value["next"])
    else:
        due = TimerEventDefinition.get_datetime(value)
    return due if due.tzinfo else due.replace(tzinfo=timezone.utc)


def _waiting_timer(task) -> WaitingTimer | None:
    event_definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(event_definition, TimerEventDefinition):
        return None
    due = _due(event_definition, task.internal_data.get("event_value"))
    if due is None:
        return None
    spec = task.task_spec
    return WaitingTimer(str(task.id), spec.name, spec.bpmn_name or spec.name, due.astimezone(timezone.utc))


def inspect(workflow: BpmnWorkflow) -> Snapshot:
    """READY manual tasks and WAITING timers, found in one walk of the task tree."""
    ready, timers = [], []
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        if task.state == TaskState.READY:
            if task.task_spec.manual:
                ready.append(_ready_task(task))
        else:
            timer = _waiting_timer(task)
            if timer is not None:
                timers.append(timer)
    return Snapshot(ready, timers)


def ready_manual_tasks(workflow: BpmnWorkflow) -> list[ReadyTask]:
    """The READY user and manual tasks, in tree order."""
    return inspect(workflow).ready


def waiting_timers(workflow: BpmnWorkflow) -> list[WaitingTimer]:
    """Every WAITING timer event with the due time SpiffWorkflow computed for it."""
    return inspect(workflow).timers


def task_data(workflow: BpmnWorkflow, task_id: str) -> dict | None:
    """The data of one task as a form shows it: names not starting with '_', JSON values only;
    None when the workflow no longer has the task (finished history is dropped on save)."""
    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except (TaskNotFoundException, ValueError, TypeError):
        return None
    if task is None:
        return None
    return {name: value for name, value in task.data.items()
            if isinstance(name, str) and not name.startswith("_") and _is_json(value)}


def _is_json(value) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


def status_of(workflow: BpmnWorkflow) -> str:
    """'completed' when finished, else 'waiting' (for people or timers)."""
    return "completed" if workflow.is_completed() else "waiting"


def check_data(data: dict) -> dict:
    """Refuse task data a workflow cannot hold: non-identifier keys, private or reserved names."""
    if not isinstance(data, dict):
        raise InvalidInput("task data must be a JSON object")
    bad = {str(k): "a name SpiffWorkflow reserves for its own data" if k in RESERVED_NAMES
           else "not a valid variable name"
           for k in data if not isinstance(k, str) or not k.isidentifier() or k.startswith("_") or k in RESERVED_NAMES}
    if bad:
        raise InvalidInput(f"task data has keys that cannot be workflow variables: {', '.join(map(repr, bad))}",
                           details={"fields": {k: [why] for k, why in bad.items()}})
    # Nested values too: stored as they are, a dict with a 'typename' key (say) would make the
    # case impossible to restore, or be blamed on the next script that runs.
    problems = {}
    allowance = Allowance()  # all of it together
    for key, value in data.items():
        problem = find_unstorable(value, allowance=allowance)
        if problem is not None:
            path, what = problem
            problems[key] = [f"{what} at {key}{path}" if path else what]
    if problems:
        raise InvalidInput("task data has values a workflow cannot store", details={"fields": problems})
    return data
