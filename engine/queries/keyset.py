"""Keyset pages of work items in due order (due_at, no due time last, then id), with a cursor."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import literal, select, tuple_, union_all

from engine.errors import InvalidInput
from engine.store.schema import work_items

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
#: What a cursor holds in place of the due time of an item that has none.
_NO_DUE = "n"


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last item's due time (None: it had none) and id."""

    due_at: datetime | None
    id: int

    def encode(self) -> str:
        """The cursor as URL-safe text: '<microseconds since 1970>.<id>' or 'n.<id>'."""
        due = _NO_DUE if self.due_at is None else str((self.due_at - _EPOCH) // _MICROSECOND)
        return f"{due}.{self.id}"

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        """The cursor a page gave; raises InvalidInput for anything else."""
        try:
            due, key = text.split(".")
            return cls(None if due == _NO_DUE else _EPOCH + int(due) * _MICROSECOND, int(key))
        except (AttributeError, ValueError, OverflowError):
            raise InvalidInput("the cursor is not one a page of this list gave",
                               details={"fields": {"cursor": ["not a cursor"]}}) from None


def page_ids(branches: list[list], where: list, after: Cursor | None, limit: int):
    """A subquery of (id, due_at) of the first `limit` items after the cursor, or None if no branch.

    Each branch (a list of conditions, disjoint from the others) is read twice, its dated items
    in (due_at, id) order and its undated ones by id, each part limited: on PostgreSQL every part
    is one ordered range of a partial index that stops at the limit, however many items the
    branch holds. The caller orders the union and keeps the first `limit`.
    """
    due, key = work_items.c.due_at, work_items.c.id
    parts = []
    for branch in branches:
        base = select(key.label("id"), due.label("due_at")).where(*branch, *where)
        if after is None or after.due_at is not None:
            dated = base.where(due.is_not(None))
            if after is not None:
                dated = dated.where(tuple_(due, key) > tuple_(literal(after.due_at, due.type), literal(after.id)))
            parts.append(dated.order_by(due, key).limit(limit))
        undated = base.where(due.is_(None))
        if after is not None and after.due_at is None:
            undated = undated.where(key > after.id)
        parts.append(undated.order_by(key).limit(limit))
    if not branches:
        return None
    # Each part is wrapped in a subquery: SQLite takes no ORDER BY or LIMIT on a member of a UNION.
    wrapped = [select(*part.subquery().c) for part in parts]
    return (union_all(*wrapped) if len(wrapped) > 1 else wrapped[0]).subquery("page")
