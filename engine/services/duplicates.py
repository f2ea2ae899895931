"""Duplicate reports: a report near an open case of its category is linked to it; the dispatcher
merges it into that case (closing it) or separates the two.

Any intake that opens a case with a point calls link_if_duplicate in the same unit of work (the
Open311 service does; the web mailbox and the 1999 console may too): the check is the same
whoever took the report in.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, literal_column, select, update

from engine.accounts.identity import Principal
from engine.cases.history import event
from engine.errors import Conflict, Forbidden, NotFound
from engine.queries.duplicates import NearbyCase, possible_duplicate_of
from engine.store.schema import case_events, cases, timers, work_item_drafts, work_items, workflow_instances

#: Who merges and separates duplicate reports: the commission's dispatchers (分文), and administrators.
MERGING_ROLES = frozenset({"dispatcher"})


@dataclass(frozen=True)
class LinkIfDuplicate:
    """Link a case just opened to the open case of its category within 50 m of it, if there is one."""

    case_id: int


@dataclass(frozen=True)
class MergeDuplicate:
    """The dispatcher agrees the case repeats the one it is linked to: it is closed as a duplicate of it."""

    principal: Principal
    case_id: int
    note: str | None = None


@dataclass(frozen=True)
class SeparateDuplicate:
    """The dispatcher finds the case is not the same problem as the one it is linked to: the link is undone."""

    principal: Principal
    case_id: int
    note: str | None = None


@dataclass(frozen=True)
class DuplicateDecided:
    """The case, the case it was linked to, and what the dispatcher decided (merged, separated)."""

    case_id: int
    case_no: str
    original_id: int
    original_no: str
    decision: str


_case = select(cases.c.id, cases.c.case_no, cases.c.category, cases.c.latitude, cases.c.longitude, cases.c.status,
               cases.c.duplicate_of)


def link_if_duplicate(cmd: LinkIfDuplicate, uow) -> NearbyCase | None:
    """Link the case to the nearest open case of its category within 50 m opened before it, or to the case
    that one repeats (recorded in both histories);
    returns that case, or None when there is none (or the case has no point). Raises NotFound."""
    row = uow.conn.execute(_case.where(cases.c.id == cmd.case_id)).one_or_none()
    if row is None:
        raise NotFound(f"case {cmd.case_id} does not exist")
    if row.duplicate_of is not None:
        return None
    original = possible_duplicate_of(uow, row.category, row.latitude, row.longitude, before_id=row.id)
    if original is None:
        return None
    # A report near a linked duplicate is linked to the case that one repeats: links are one level deep.
    root = uow.conn.execute(_case.where(cases.c.id == select(cases.c.duplicate_of)
                                        .where(cases.c.id == original.case_id).scalar_subquery())).one_or_none()
    if root is not None and root.status == "open":
        original = NearbyCase(root.id, root.case_no, original.distance_m, original.received_at)
    now = uow.clock.now()
    uow.conn.execute(update(cases).where(cases.c.id == row.id).values(duplicate_of=original.case_id))
    metres = round(original.distance_m, 1)
    uow.conn.execute(insert(case_events), [
        event(row.id, now, "duplicate_linked", case_no=original.case_no, original_case_id=original.case_id,
              distance_m=metres),
        event(original.case_id, now, "duplicate_reported", case_no=row.case_no, duplicate_case_id=row.id,
              distance_m=metres)])
    return original


def _linked(cmd, uow):
    if not (cmd.principal.is_admin or any(role in MERGING_ROLES for role, _ in cmd.principal.roles)):
        raise Forbidden("duplicate reports are merged or separated by the commission's dispatchers")
    row = uow.conn.execute(_case.where(cases.c.id == cmd.case_id)).one_or_none()
    if row is None:
        raise NotFound(f"case {cmd.case_id} does not exist")
    if row.duplicate_of is None:
        raise Conflict(f"case {row.case_no} is not linked to another case as a duplicate")
    if row.status != "open":
        raise Conflict(f"case {row.case_no} is {row.status}: only an open duplicate is merged or separated")
    original = uow.conn.execute(_case.where(cases.c.id == row.duplicate_of)).one()
    return row, original


_cancel_items = (update(work_items).where(work_items.c.case_id == bindparam("b_case"),
                                          work_items.c.status == literal_column("'open'"))
                 .values(status="cancelled", completed_at=bindparam("b_now"), version=work_items.c.version + 1)
                 .returning(work_items.c.id))


def merge_duplicate(cmd: MergeDuplicate, uow) -> DuplicateDecided:
    """Close the case as a duplicate of the case it is linked to: its workflow stops, its open work and
    deadlines are cancelled, both histories say so. Raises Forbidden (not a dispatcher), NotFound,
    Conflict (not linked, or not open)."""
    row, original = _linked(cmd, uow)
    now, actor = uow.clock.now(), cmd.principal.user_id
    conn = uow.conn
    conn.execute(update(cases).where(cases.c.id == row.id)
                 .values(status="closed", closed_at=now, updated_at=now))
    cancelled = conn.execute(_cancel_items, {"b_case": row.id, "b_now": now}).scalars().all()
    if cancelled:
        conn.execute(delete(work_item_drafts).where(work_item_drafts.c.work_item_id.in_(cancelled)))
    conn.execute(update(timers).where(timers.c.case_id == row.id, timers.c.status == "pending")
                 .values(status="cancelled", lease_owner=None, lease_expires_at=None))
    # A step running on the case now finds its version moved on, and changes nothing.
    conn.execute(update(workflow_instances)
                 .where(workflow_instances.c.case_id == row.id,
                        workflow_instances.c.status.not_in(("completed", "cancelled")))
                 .values(status="cancelled", next_timer_at=None, version=workflow_instances.c.version + 1,
                         updated_at=now))
    conn.execute(insert(case_events), [
        event(row.id, now, "merged_as_duplicate", actor_id=actor, case_no=original.case_no,
              original_case_id=original.id, note=cmd.note, cancelled_work_items=list(cancelled)),
        event(original.id, now, "duplicate_merged", actor_id=actor, case_no=row.case_no,
              duplicate_case_id=row.id, note=cmd.note)])
    return DuplicateDecided(row.id, row.case_no, original.id, original.case_no, "merged")


def separate_duplicate(cmd: SeparateDuplicate, uow) -> DuplicateDecided:
    """Undo the link: the case goes on as a report of its own. Raises as merge_duplicate."""
    row, original = _linked(cmd, uow)
    now, actor = uow.clock.now(), cmd.principal.user_id
    uow.conn.execute(update(cases).where(cases.c.id == row.id).values(duplicate_of=None, updated_at=now))
    uow.conn.execute(insert(case_events), [
        event(row.id, now, "duplicate_separated", actor_id=actor, case_no=original.case_no,
              original_case_id=original.id, note=cmd.note),
        event(original.id, now, "duplicate_separated", actor_id=actor, case_no=row.case_no,
              duplicate_case_id=row.id, note=cmd.note)])
    return DuplicateDecided(row.id, row.case_no, original.id, original.case_no, "separated")
