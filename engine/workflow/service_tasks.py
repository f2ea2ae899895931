"""BPMN service tasks: the step they run in, and the dispatch of each call to its engine action.

A service task names an operation and its parameters (`spiffworkflow:serviceTaskOperator`);
the script engine hands the call to `ServiceTasks.perform`, which runs the action registered
under that name (engine.actions.ACTIONS, given at bootstrap) inside the step being run (set
with `step()`), so what the action changes commits or rolls back with the step. The action's
return value becomes the task's result variable.
"""
from __future__ import annotations

import contextvars
import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Mapping

from engine.errors import ActionFailed
from engine.store.changes import StepChanges


@dataclass
class StepContext:
    """What an action may read, and what it changes, while a step of one case runs.

    Actions read through the unit of work and write nothing themselves: what they change goes
    into `changes`, which the store writes with the rest of the step.
    """

    uow: object
    changes: StepChanges
    agency_id: int | None  # the case's agency; work opened by the step goes to it
    actor_id: int | None = None
    due_at: datetime | None = None  # the case's due time; work opened by the step gets it
    case_no: str | None = None
    petitioner_id: int | None = None
    new_petitioner: dict | None = None  # a petitioner the step's new case brings (not stored yet)

    @property
    def case_id(self) -> int:
        return self.changes.case_id

    @property
    def events(self) -> list:
        """The case history the step writes, in order."""
        return self.changes.events


#: An engine action: called with the step's context and the task's parameters.
Action = Callable[[StepContext, dict], object]

_current: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar("petiflow_step", default=None)


@contextmanager
def step(context: StepContext):
    """Let service tasks run while the enclosed workflow step runs."""
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


class ServiceTasks:
    """Runs each service task's operation as the engine action registered under its name."""

    def __init__(self, actions: Mapping[str, Action]):
        self.actions = actions

    def perform(self, operation_name: str, params: dict) -> str:
        """Run the action for a service task; returns its result as JSON text (what Spiff expects).

        Raises ActionFailed outside a case step or for an unknown operation.
        """
        context = _current.get()
        if context is None:
            raise ActionFailed(f"service task {operation_name!r} ran outside a case step")
        fn = self.actions.get(operation_name)
        if fn is None:
            raise ActionFailed(f"no engine action is named {operation_name!r}; known: {', '.join(sorted(self.actions))}")
        return json.dumps(fn(context, params), ensure_ascii=False, default=str)
