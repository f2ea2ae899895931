"""The record of personal data shown, as auditors read it: who saw whose data, when, through what.

Rows are written by engine.services.case_views.view_case and never changed (migration 0010).
Only auditors (the `auditor` role, held for every agency) and administrators read them; anyone
else is Forbidden. Newest first, a page at a time with a keyset cursor (the last row's time and id).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import literal, select, tuple_

from engine.accounts.identity import Principal
from engine.errors import Forbidden, InvalidInput
from engine.store.schema import cases
from engine.store.schema import personal_data_reads as _reads

from .keyset import Cursor

#: Rows per page unless asked otherwise, and the most a page holds.
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

#: The role that reads the record, held for every agency.
AUDITOR = "auditor"


@dataclass(frozen=True)
class PersonalDataRead:
    """One showing of a petitioner's data: when, to whom, of which case, which fields, through what."""

    read_id: int
    at: datetime
    user_id: int | None
    username: str
    case_id: int
    case_no: str
    fields: tuple
    via: str


@dataclass(frozen=True)
class PersonalDataReads:
    """A page of the record, newest first, and the cursor of the next page (None: this is the last)."""

    rows: tuple
    next_cursor: str | None


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
        raise InvalidInput(f"{name} must be a date and time with its UTC offset",
                           details={"fields": {name: ["must be a date and time with its UTC offset"]}})


def personal_data_reads(uow, principal: Principal, *, case_id: int | None = None, user_id: int | None = None,
                        since: datetime | None = None, until: datetime | None = None, cursor: str | None = None,
                        limit: int = PAGE_SIZE) -> PersonalDataReads:
    """A page of the record, of one case or user, read at or after `since` and before `until`; raises
    Forbidden unless the principal is an auditor or administrator, InvalidInput for a bad date or cursor."""
    if not (principal.is_admin or (AUDITOR, None) in principal.roles):
        raise Forbidden("only auditors read the record of personal data shown")
    _aware("since", since)
    _aware("until", until)
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    t = _reads
    query = (select(t.c.id, t.c.at, t.c.user_id, t.c.username, t.c.case_id, cases.c.case_no, t.c.fields, t.c.via)
             .join(cases, cases.c.id == t.c.case_id)
             .order_by(t.c.at.desc(), t.c.id.desc()).limit(limit + 1))
    if case_id is not None:
        query = query.where(t.c.case_id == case_id)
    if user_id is not None:
        query = query.where(t.c.user_id == user_id)
    if since is not None:
        query = query.where(t.c.at >= since)
    if until is not None:
        query = query.where(t.c.at < until)
    if cursor is not None:
        after = Cursor.decode(cursor)
        if after.due_at is None:
            raise InvalidInput("the cursor is not one a page of this list gave",
                               details={"fields": {"cursor": ["not a cursor"]}})
        query = query.where(tuple_(t.c.at, t.c.id) < tuple_(literal(after.due_at, t.c.at.type), literal(after.id)))
    rows = uow.conn.execute(query).all()
    page = tuple(PersonalDataRead(r.id, r.at, r.user_id, r.username, r.case_id, r.case_no,
                                  tuple(r.fields.split(",")), r.via) for r in rows[:limit])
    more = len(rows) > limit
    return PersonalDataReads(page, Cursor(page[-1].at, page[-1].read_id).encode() if more else None)
