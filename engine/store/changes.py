"""What one workflow step changes, as a plain value: the store writes it (engine.store.steps).

A step (open a case, complete a work item, fire a timer) is run in memory: the workflow moves
on, engine actions decide (a transfer, a new due time, a notice to the citizen), and the
changes pile up here. Nothing is written until the step is done; then one call writes them
all, statement by statement on SQLite, as one statement on PostgreSQL, the same rows either way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from engine.store.outbox import check_message, correlated

#: The timers that belong to a work item: its reminders and the rungs of its escalation ladder.
ITEM_TIMER_KINDS = ("reminder", "escalation")


@dataclass(frozen=True)
class NewCase:
    """The row of a case opened by this step (its id drawn already), with a new petitioner if one came."""

    row: dict
    petitioner: dict | None = None


@dataclass(frozen=True)
class InstanceWrite:
    """The workflow instance saved by the step: inserted when new, else updated at the version it was read at."""

    id: int | None
    definition_id: int
    version: int  # the version read (0 for a new instance)
    state: str
    status: str
    next_timer_at: datetime | None

    @property
    def is_new(self) -> bool:
        return self.id is None


@dataclass(frozen=True)
class CompletedItem:
    """The work item a person completed in this step (its reminders and rungs cancelled with it,
    and its drafts deleted when it has any)."""

    id: int
    by: int | None
    cancel_ladder: bool
    has_drafts: bool = False


@dataclass(frozen=True)
class DueMove:
    """A new due time for the case and its open work (an extension, a paused or resumed clock).

    `ladder` is the reminders and rungs (kind, due_at, payload) each moved item of the case's
    own deadline gets in place of its old ones; `reset_level` starts their ladders from the bottom.
    """

    due_at: datetime | None
    reset_level: bool
    ladder: tuple = ()


@dataclass
class StepChanges:
    """Everything one step of one case writes; filled in while the step runs, then written once."""

    case_id: int
    now: datetime
    new_case: NewCase | None = None
    instance: InstanceWrite | None = None  # None: the workflow did not move (only its timers are re-recorded)
    instance_id: int | None = None  # the instance whose timers are re-recorded, when `instance` is None
    completed_item: CompletedItem | None = None
    #: Work items opened for newly READY tasks (work_items rows without ids, each with the unit the
    #: case has after the step), in task order, and the reminders and rungs of each (timers rows
    #: whose "task_id" names the item's task).
    opened: list = field(default_factory=list)
    ladder: list = field(default_factory=list)
    cancelled_tasks: list = field(default_factory=list)  # task ids whose open items are cancelled
    agency_id: int | None = None  # the agency the case moved to (a transfer), with its open work
    unit_moved: bool = False  # the case was placed in a unit (unit_id; None: none) by this step, with its open work
    unit_id: int | None = None
    due: DueMove | None = None
    #: The BPMN timers the workflow waits on (runner.WaitingTimer), when its timer rows may need
    #: syncing; None leaves them alone.
    waiting_timers: list | None = None
    closed: bool = False
    outcome: str | None = None  # how the diagram says the case ended, when it closed
    #: History rows in order; one about an item opened here names the item's task as "item_task".
    events: list = field(default_factory=list)
    #: Outbox messages (topic, payload, dedup_key) sent after the step commits.
    messages: list = field(default_factory=list)

    def move_case(self, agency_id: int) -> None:
        """The case and its open agency work move to another agency (改分/移文)."""
        self.agency_id = agency_id

    def place_in_unit(self, unit_id: int | None) -> None:
        """The unit (科) of its agency that handles the case, kept on its open work too; None: no unit named."""
        self.unit_moved, self.unit_id = True, unit_id

    def move_due(self, move: DueMove) -> None:
        """The case and its open work get a new due time; a later move in the same step wins,
        a reset of the ladder made by an earlier one stays."""
        if self.due is not None and self.due.reset_level and not move.reset_level:
            move = DueMove(move.due_at, True, move.ladder)
        self.due = move

    def queue(self, topic: str, payload: dict, dedup_key: str) -> None:
        """Send a message after the step commits, unless one with this key was queued before;
        raises InvalidInput for an unknown topic or a key that does not fit."""
        check_message(topic, dedup_key)
        self.messages.append((topic, correlated(payload), dedup_key))

    def unique_messages(self) -> list:
        """The messages, the first of each dedup key (one INSERT may not meet a key twice)."""
        seen, kept = set(), []
        for topic, payload, key in self.messages:
            if key not in seen:
                seen.add(key)
                kept.append((topic, payload, key))
        return kept


def ladder_rows(plan, *, case_id: int, instance_id, work_item_id, now: datetime) -> list[dict]:
    """The timers rows of one work item's reminders and rungs, (kind, due_at, payload) each."""
    return [{"kind": kind, "instance_id": instance_id, "case_id": case_id, "work_item_id": work_item_id,
             "due_at": at, "status": "pending", "payload": payload, "created_at": now} for kind, at, payload in plan]


@dataclass(frozen=True)
class Written:
    """What the store wrote: the instance, the items opened (in the order given), those cancelled."""

    instance_id: int | None
    version: int
    opened: list
    cancelled: list
