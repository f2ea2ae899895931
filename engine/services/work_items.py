"""Who works an item: claim it, give it back, assign it (one or many at once), keep a draft of its form.

None of these touches the case's workflow (its state and version stay as they are): they change
the item's row, whose own `version` each change raises. A change is an UPDATE conditional on
the version the command read, so of two claims at once one wins and the other, having re-read
the item, is told who holds it (Conflict). Each change is recorded in the case history
(task_claimed, task_unclaimed, task_assigned); drafts are not. The caller commits; on an error
nothing is to be committed (a refused bulk assignment changes no item).

Every command answers in one order, as completing an item does (engine.services.work): an item
the principal may not see (engine.queries.work_item.is_visible) is NotFound, exactly as a
missing one; then a closed item is a Conflict; then an item they see but may not act on is
Forbidden, saying why.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.accounts.identity import Principal
from engine.cases.assignment import person
from engine.cases.history import event
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.queries.work_item import ITEM_COLUMNS, ITEM_FROM, is_visible, load_item, supervises, why_not_complete
from engine.store.schema import case_events, work_item_drafts, work_items

#: The most items one bulk assignment may name (a page of the escalation queue).
MAX_BULK = 200

#: The largest draft kept, as UTF-8 JSON text: a long reply with its attachments' names fits.
MAX_DRAFT_BYTES = 64 * 1024

#: How many times a change is tried again when the item changed between its read and its write.
_ATTEMPTS = 3


@dataclass(frozen=True)
class ClaimWorkItem:
    """Take an unassigned open item of my group for myself."""

    work_item_id: int
    principal: Principal
    expected_version: int | None = None


@dataclass(frozen=True)
class UnclaimWorkItem:
    """Give an item back to its group (its assignee, or a supervisor of its agency)."""

    work_item_id: int
    principal: Principal
    expected_version: int | None = None


@dataclass(frozen=True)
class AssignWorkItem:
    """Assign an item to a holder of its role in its agency, or back to the group (None)."""

    work_item_id: int
    principal: Principal
    assignee_id: int | None
    expected_version: int | None = None


@dataclass(frozen=True)
class AssignWorkItems:
    """Assign many items to one person (or back to their groups) at once: all or none."""

    work_item_ids: tuple
    principal: Principal
    assignee_id: int | None


@dataclass(frozen=True)
class SaveDraft:
    """Keep my unfinished answer to an item's form (any JSON object) until the item closes."""

    work_item_id: int
    principal: Principal
    data: dict


@dataclass(frozen=True)
class WorkItemAssignment:
    """Who holds the item now (None: its group), its new version, and whether anything changed."""

    work_item_id: int
    assignee_id: int | None
    assignee: str | None
    version: int
    changed: bool


@dataclass(frozen=True)
class DraftSaved:
    """The draft kept, and when."""

    work_item_id: int
    saved_at: datetime


_by_ids = select(*ITEM_COLUMNS).select_from(ITEM_FROM)
_set_assignee = (update(work_items)
                 .where(work_items.c.id == bindparam("b_item"), work_items.c.status == "open",
                        work_items.c.version == bindparam("b_version"))
                 .values(assignee_id=bindparam("b_assignee"), version=work_items.c.version + 1))


_insert_event = insert(case_events)


def _open(row) -> None:
    if row.status != "open":
        raise Conflict(f"work item {row.id} is already {row.status}")


def _expected(row, expected: int | None) -> None:
    if expected is not None and expected != row.version:
        raise Conflict(f"work item {row.id} was changed by someone else meanwhile; reload and try again",
                       details={"expected_version": expected, "version": row.version})


def _held_by_other(row) -> Conflict:
    return Conflict(f"work item {row.id} is already assigned to {row.assignee}", details={"assignee": row.assignee})


def _unchanged(row) -> WorkItemAssignment:
    return WorkItemAssignment(row.id, row.assignee_id, row.assignee, row.version, False)


def _write(uow, row, assignee_id: int | None, kind: str, actor: Principal, **data) -> bool:
    """Set the assignee if the row is still at the version read, and record it; False if it moved on."""
    if not uow.conn.execute(_set_assignee, {"b_item": row.id, "b_version": row.version,
                                            "b_assignee": assignee_id}).rowcount:
        return False
    uow.conn.execute(_insert_event, event(row.case_id, uow.clock.now(), kind, actor_id=actor.user_id,
                                                work_item_id=row.id, task=row.task_spec, name=row.name, **data))
    return True


def _retrying(cmd, uow, attempt_once) -> WorkItemAssignment:
    """Run one attempt after another while the item changes between read and write."""
    for _ in range(_ATTEMPTS):
        row = load_item(uow, cmd.principal, cmd.work_item_id)
        done = attempt_once(row)
        if done is not None:
            return done
    raise Conflict(f"work item {cmd.work_item_id} keeps changing; reload and try again")


def claim_work_item(cmd: ClaimWorkItem, uow) -> WorkItemAssignment:
    """Assign the item to me; raises NotFound, Forbidden (not my group's), Conflict (closed, held by
    someone else, or not at expected_version). Claiming an item I hold already changes nothing."""
    me = cmd.principal

    def attempt(row):
        _open(row)
        if row.assignee_id is not None and row.assignee_id == me.user_id:
            return _unchanged(row)
        if row.assignee_id is not None:
            raise _held_by_other(row)
        if me.user_id is None or not me.holds(row.role, row.agency_id):
            raise Forbidden(f"you may not claim work item {row.id}: it is for {row.role or 'no role'} "
                            f"of another group")
        _expected(row, cmd.expected_version)
        if _write(uow, row, me.user_id, "task_claimed", me, to=me.username):
            return WorkItemAssignment(row.id, me.user_id, me.username, row.version + 1, True)
        return None

    return _retrying(cmd, uow, attempt)


def unclaim_work_item(cmd: UnclaimWorkItem, uow) -> WorkItemAssignment:
    """Give the item back to its group; raises NotFound, Forbidden (neither its assignee nor a
    supervisor of its agency), Conflict (closed, or not at expected_version)."""
    me = cmd.principal

    def attempt(row):
        _open(row)
        if row.assignee_id is None:
            return _unchanged(row)
        if row.assignee_id != me.user_id and not supervises(uow, me, row.agency_id):
            raise Forbidden(f"work item {row.id} is assigned to {row.assignee}; only they or a supervisor "
                            "of the agency may give it back")
        _expected(row, cmd.expected_version)
        if _write(uow, row, None, "task_unclaimed", me, **{"from": row.assignee}):
            return WorkItemAssignment(row.id, None, None, row.version + 1, True)
        return None

    return _retrying(cmd, uow, attempt)


def _assignee(uow, assignee_id: int | None):
    """The person work is assigned to (None: the group); raises InvalidInput if there is no such active user."""
    if assignee_id is None:
        return None
    found = person(uow.conn, assignee_id) if isinstance(assignee_id, int) else None
    if found is None:
        raise InvalidInput(f"user {assignee_id!r} does not exist or is inactive",
                           details={"fields": {"assignee_id": ["no such active user"]}})
    return found


def _not_holder(target, row) -> str | None:
    """Why the target may not be given the item, or None."""
    if target is None or target.holds(row.role, row.agency_id):
        return None
    return f"{target.username} does not hold the role {row.role or '(none)'} for the item's agency"


def assign_work_item(cmd: AssignWorkItem, uow) -> WorkItemAssignment:
    """Assign the item to a person or back to the group; raises NotFound, Forbidden (not a
    supervisor of its agency), InvalidInput (assignee_id: no such user, or not of the item's
    role and agency), Conflict (closed, or not at expected_version)."""
    me = cmd.principal
    target = _assignee(uow, cmd.assignee_id)

    def attempt(row):
        _open(row)
        if not supervises(uow, me, row.agency_id):
            raise Forbidden(f"only a section chief or head of the item's agency may assign work item {row.id}")
        problem = _not_holder(target, row)
        if problem is not None:
            raise InvalidInput(problem, details={"fields": {"assignee_id": [problem]}})
        if row.assignee_id == cmd.assignee_id:
            return _unchanged(row)
        _expected(row, cmd.expected_version)
        username = target.username if target else None
        if _write(uow, row, cmd.assignee_id, "task_assigned", me, to=username, **{"from": row.assignee}):
            return WorkItemAssignment(row.id, cmd.assignee_id, username, row.version + 1, True)
        return None

    return _retrying(cmd, uow, attempt)


#: The error a refused bulk assignment raises, the first of these its items ran into.
_BULK_ERRORS = (NotFound, Forbidden, InvalidInput, Conflict)


def assign_work_items(cmd: AssignWorkItems, uow) -> tuple[WorkItemAssignment, ...]:
    """Assign every item, or none: raises the first of NotFound, Forbidden, InvalidInput, Conflict that
    any item runs into, naming each failing item in details["work_items"] ({id: message})."""
    ids = list(dict.fromkeys(cmd.work_item_ids))
    if not ids or len(ids) > MAX_BULK or not all(isinstance(i, int) for i in ids):
        raise InvalidInput(f"name 1 to {MAX_BULK} work items by id",
                           details={"fields": {"work_item_ids": [f"1 to {MAX_BULK} ids"]}})
    me, target = cmd.principal, _assignee(uow, cmd.assignee_id)
    rows = {r.id: r for r in uow.conn.execute(_by_ids.where(work_items.c.id.in_(ids)))}
    failures, todo, results = {}, [], {}
    for item_id in ids:
        try:
            row = rows.get(item_id)
            if row is None or not is_visible(uow, me, row):
                raise NotFound(f"work item {item_id} does not exist")
            _open(row)
            if not supervises(uow, me, row.agency_id):
                raise Forbidden(f"you do not supervise the agency of work item {item_id}")
            problem = _not_holder(target, row)
            if problem is not None:
                raise InvalidInput(problem)
        except _BULK_ERRORS as exc:
            failures[item_id] = exc
            continue
        if row.assignee_id == cmd.assignee_id:
            results[item_id] = _unchanged(row)
        else:
            todo.append(row)
    if failures:
        raise _bulk_refusal(failures, len(ids))
    username = target.username if target else None
    for row in todo:
        if not _write(uow, row, cmd.assignee_id, "task_assigned", me, to=username, **{"from": row.assignee}):
            # Changed since it was read: nothing of this command may stand (the caller does not commit).
            raise Conflict(f"work item {row.id} was changed by someone else meanwhile; nothing was assigned",
                           details={"work_items": {str(row.id): "changed meanwhile"}})
        results[row.id] = WorkItemAssignment(row.id, cmd.assignee_id, username, row.version + 1, True)
    return tuple(results[i] for i in ids)


def _bulk_refusal(failures: dict, total: int):
    kind = next(k for k in _BULK_ERRORS if any(isinstance(e, k) for e in failures.values()))
    named = {str(i): e.message for i, e in failures.items()}
    details = {"work_items": named}
    if kind is InvalidInput:
        details["fields"] = {"assignee_id": sorted({e.message for e in failures.values()
                                                    if isinstance(e, InvalidInput)})}
    return kind(f"{len(failures)} of {total} work items cannot be assigned ({', '.join(named)}); "
                "nothing was changed", details=details)


@dataclass(frozen=True)
class DiscardDraft:
    """Throw away my draft of the item's form."""

    work_item_id: int
    principal: Principal


def discard_draft(cmd: DiscardDraft, uow) -> bool:
    """Delete my draft of the item; False when I had none. Raises NotFound for an item I may not see."""
    row = load_item(uow, cmd.principal, cmd.work_item_id)
    if cmd.principal.user_id is None:
        return False
    return uow.conn.execute(delete(work_item_drafts).where(work_item_drafts.c.work_item_id == row.id,
                                                           work_item_drafts.c.user_id == cmd.principal.user_id)
                            ).rowcount > 0


def save_draft(cmd: SaveDraft, uow) -> DraftSaved:
    """Keep (or replace) my draft of the item's form; raises NotFound, Forbidden (I may not complete
    it), Conflict (closed), InvalidInput (data: not a JSON object, or over MAX_DRAFT_BYTES)."""
    row = load_item(uow, cmd.principal, cmd.work_item_id)
    _open(row)
    refusal = why_not_complete(cmd.principal, row, row.assignee)
    if cmd.principal.user_id is None:
        refusal = "a draft is kept for a person, and you are signed in as none"
    if refusal is not None:
        raise Forbidden(f"you may not keep a draft of work item {row.id}: {refusal}")
    try:
        if not isinstance(cmd.data, dict):
            raise TypeError
        size = len(json.dumps(cmd.data, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError):
        raise InvalidInput("a draft is a JSON object",
                           details={"fields": {"data": ["must be a JSON object"]}}) from None
    if size > MAX_DRAFT_BYTES:
        raise InvalidInput(f"the draft is {size} bytes; at most {MAX_DRAFT_BYTES}",
                           details={"fields": {"data": [f"at most {MAX_DRAFT_BYTES} bytes as JSON"]}})
    now = uow.clock.now()
    upsert = (pg_insert if uow.dialect == "postgresql" else sqlite_insert)(work_item_drafts).values(
        work_item_id=row.id, user_id=cmd.principal.user_id, data=cmd.data, saved_at=now)
    uow.conn.execute(upsert.on_conflict_do_update(
        index_elements=[work_item_drafts.c.work_item_id, work_item_drafts.c.user_id],
        set_={"data": upsert.excluded.data, "saved_at": upsert.excluded.saved_at}))
    return DraftSaved(row.id, now)
