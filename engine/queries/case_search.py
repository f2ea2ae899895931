"""The case list: the cases a principal may see, filtered and searched, newest first, a page at a time.

Scoped like a case page (engine.queries.visibility.case_scope): another agency's cases are never
listed. Filters: case number (exact), status, received between two moments, category, district,
agency, case type, and text found in the subject or the description (engine.queries.search_terms:
any two or more characters, Chinese included). Rows carry no personal data. Pages are keyset
pages in (received_at, id) order, newest first: the cursor holds the last row's time and id, so
cases received meanwhile shift nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, func, literal, select, text, tuple_
from sqlalchemy.dialects.postgresql import TSQUERY

from engine.accounts.identity import Principal
from engine.errors import InvalidInput
from engine.store.schema import agencies, cases

from .keyset import Cursor
from .search_terms import needle, pg_tsquery, sqlite_match
from .visibility import case_scope, visible_cases

#: Rows per page unless asked otherwise, and the most a page holds.
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

#: The statuses a case can be in (the CHECK of cases.status).
STATUSES = ("open", "closed", "cancelled")


@dataclass(frozen=True)
class CaseSearch:
    """What to list: each given filter narrows it; received_from is inclusive, received_until exclusive."""

    case_no: str | None = None
    status: str | None = None
    received_from: datetime | None = None
    received_until: datetime | None = None
    category: str | None = None
    district: str | None = None
    agency_id: int | None = None
    case_type: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class CaseRow:
    """A case as the list shows it (no petitioner)."""

    case_id: int
    case_no: str
    case_type: str
    channel: str | None
    category: str | None
    district: str | None
    subject: str | None
    status: str
    confidential: bool
    agency_id: int | None
    agency_name: str | None
    received_at: datetime
    due_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class CasePage:
    """A page of the list, newest first, and the cursor of the next page (None: this is the last)."""

    rows: tuple
    next_cursor: str | None


_columns = (cases.c.id, cases.c.case_no, cases.c.case_type, cases.c.channel, cases.c.category, cases.c.district,
            cases.c.subject, cases.c.status, cases.c.confidential, cases.c.agency_id,
            agencies.c.name.label("agency_name"), cases.c.received_at, cases.c.due_at, cases.c.closed_at)
_UPPER, _LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
_fts = text("SELECT rowid FROM cases_text WHERE cases_text MATCH :match")


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", details={"fields": {field: [message]}})


def _checked(search: CaseSearch) -> None:
    if search.status is not None and search.status not in STATUSES:
        raise _invalid("status", f"one of {', '.join(STATUSES)}")
    for name in ("received_from", "received_until"):
        value = getattr(search, name)
        if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
            raise _invalid(name, "must be a date and time with its UTC offset")


def _text_matches(uow, searched: str):
    """SQL conditions: the case's subject or description holds the text; None when no case can."""
    found, postgresql = needle(searched), uow.conn.dialect.name == "postgresql"
    line_break = func.chr(10) if postgresql else func.char(10)
    body = func.coalesce(cases.c.subject, "") + line_break + func.coalesce(cases.c.description, "")
    if postgresql:
        indexed = func.petiflow_search_vector(cases.c.subject, cases.c.description).op("@@")(
            literal(pg_tsquery(found), String).cast(TSQUERY))
        return [indexed, func.strpos(func.translate(body, _UPPER, _LOWER), found) > 0]
    match = sqlite_match(uow.conn, found)
    if match is None:
        return None
    candidates = _fts.bindparams(match=match).columns(cases.c.id)
    return [cases.c.id.in_(candidates), func.instr(func.lower(body), found) > 0]


def search_cases(uow, principal: Principal, search: CaseSearch = CaseSearch(), cursor: str | None = None,
                 limit: int = PAGE_SIZE) -> CasePage:
    """A page of the cases the principal may see that match every filter, newest first; raises InvalidInput
    for a bad status, date, search text or cursor."""
    _checked(search)
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    scope = case_scope(uow, principal)
    if scope.empty:
        return CasePage((), None)
    where = [] if scope.everything else [visible_cases(scope)]
    for column, value in ((cases.c.case_no, search.case_no), (cases.c.status, search.status),
                          (cases.c.category, search.category), (cases.c.district, search.district),
                          (cases.c.agency_id, search.agency_id), (cases.c.case_type, search.case_type)):
        if value is not None:
            where.append(column == value)
    if search.received_from is not None:
        where.append(cases.c.received_at >= search.received_from)
    if search.received_until is not None:
        where.append(cases.c.received_at < search.received_until)
    if search.text is not None and not (isinstance(search.text, str) and not search.text.strip()):
        matches = _text_matches(uow, search.text)
        if matches is None:
            return CasePage((), None)
        where += matches
    if cursor is not None:
        after = Cursor.decode(cursor)
        if after.due_at is None:
            raise _invalid("cursor", "not a cursor")
        where.append(tuple_(cases.c.received_at, cases.c.id)
                     < tuple_(literal(after.due_at, cases.c.received_at.type), literal(after.id)))
    query = (select(*_columns).select_from(cases.outerjoin(agencies, agencies.c.id == cases.c.agency_id))
             .where(*where).order_by(cases.c.received_at.desc(), cases.c.id.desc()).limit(limit + 1))
    rows = [CaseRow(*row) for row in uow.conn.execute(query)]
    more = len(rows) > limit
    page = tuple(rows[:limit])
    return CasePage(page, Cursor(page[-1].received_at, page[-1].case_id).encode() if more else None)
