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

from sqlalchemy import String, func, literal, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.sql.util import ClauseAdapter

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

#: How many of the newest cases in view PostgreSQL first reads for a page of text found by the
#: substring test alone: a word in one case in 40 or more fills a page of 50 from them.
PROBE = 2_000


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", details={"fields": {field: [message]}})


def _checked(search: CaseSearch) -> None:
    if search.status is not None and search.status not in STATUSES:
        raise _invalid("status", f"one of {', '.join(STATUSES)}")
    for name in ("received_from", "received_until"):
        value = getattr(search, name)
        if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
            raise _invalid(name, "must be a date and time with its UTC offset")


def _holds(subject, description, found: str, postgresql: bool):
    """SQL: the subject or description holds the text (ASCII letters compared in lower case)."""
    if not any(c in _LOWER for c in found):  # no letter to fold: a plain test of each column, no copy
        position = func.strpos if postgresql else func.instr
        return or_(position(subject, found) > 0, position(description, found) > 0)
    line_break = func.chr(10) if postgresql else func.char(10)
    body = func.coalesce(subject, "") + line_break + func.coalesce(description, "")
    if postgresql:
        return func.strpos(func.translate(body, _UPPER, _LOWER), found) > 0
    return func.instr(func.lower(body), found) > 0


def _indexed(uow, found: str):
    """SQL: the text index has every piece of the text; None when no case can hold it."""
    if uow.conn.dialect.name == "postgresql":
        return func.petiflow_search_vector(cases.c.subject, cases.c.description).op("@@")(
            literal(pg_tsquery(found), String).cast(TSQUERY))
    match = sqlite_match(uow.conn, found)
    return None if match is None else cases.c.id.in_(_fts.bindparams(match=match).columns(cases.c.id))


def _found_ids(uow, where: list, window: list, found: str, limit: int) -> list:
    """The ids of the newest `limit` cases matching `where` and `window` (conditions on received_at and id
    only) that hold the text."""
    postgresql = uow.conn.dialect.name == "postgresql"
    newest = (cases.c.received_at.desc(), cases.c.id.desc())
    if postgresql:
        # A common word fills its page from the city's newest cases by the substring test alone
        # (one short range of an index, whoever reads; no newer case can have been missed). Asked
        # as an index condition, the planner would gather every case holding it and sort them, or
        # compute the index's function for each case it passes.
        recent = select(cases).where(*window).order_by(*newest).limit(PROBE).subquery("recent")
        on_recent = ClauseAdapter(recent).traverse  # the conditions, on those cases
        ids = uow.conn.execute(
            select(recent.c.id).where(*map(on_recent, where), _holds(recent.c.subject, recent.c.description, found, True))
            .order_by(recent.c.received_at.desc(), recent.c.id.desc()).limit(limit)).scalars().all()
        if len(ids) == limit:
            return ids
    indexed = _indexed(uow, found)
    if indexed is None:
        return []
    hits = select(cases.c.id, cases.c.received_at).where(
        *where, *window, indexed, _holds(cases.c.subject, cases.c.description, found, postgresql)).cte("hits")
    if postgresql:
        hits = hits.prefix_with("MATERIALIZED")  # the index's candidates first, then the newest of them
    return uow.conn.execute(select(hits.c.id).order_by(hits.c.received_at.desc(), hits.c.id.desc())
                            .limit(limit)).scalars().all()


def search_cases(uow, principal: Principal, search: CaseSearch = CaseSearch(), cursor: str | None = None,
                 limit: int = PAGE_SIZE) -> CasePage:
    """A page of the cases the principal may see that match every filter, newest first; raises InvalidInput
    for a bad status, date, search text or cursor."""
    _checked(search)
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    searched = search.text if search.text is None or not isinstance(search.text, str) else search.text.strip()
    found = needle(searched) if searched not in (None, "") else None
    scope = case_scope(uow, principal)
    if scope.empty:
        return CasePage((), None)
    where = [] if scope.everything else [visible_cases(scope)]
    for column, value in ((cases.c.case_no, search.case_no), (cases.c.status, search.status),
                          (cases.c.category, search.category), (cases.c.district, search.district),
                          (cases.c.agency_id, search.agency_id), (cases.c.case_type, search.case_type)):
        if value is not None:
            where.append(column == value)
    window = []  # conditions on the order itself: a range of the newest-first index
    if search.received_from is not None:
        window.append(cases.c.received_at >= search.received_from)
    if search.received_until is not None:
        window.append(cases.c.received_at < search.received_until)
    if cursor is not None:
        after = Cursor.decode(cursor)
        if after.due_at is None:
            raise _invalid("cursor", "not a cursor")
        window.append(tuple_(cases.c.received_at, cases.c.id)
                     < tuple_(literal(after.due_at, cases.c.received_at.type), literal(after.id)))
    newest = (cases.c.received_at.desc(), cases.c.id.desc())
    if found is None:
        ids = uow.conn.execute(select(cases.c.id).where(*where, *window).order_by(*newest).limit(limit + 1)
                               ).scalars().all()
    else:
        ids = _found_ids(uow, where, window, found, limit + 1)
    if not ids:
        return CasePage((), None)
    query = (select(*_columns).select_from(cases.outerjoin(agencies, agencies.c.id == cases.c.agency_id))
             .where(cases.c.id.in_(ids)).order_by(*newest))
    rows = [CaseRow(*row) for row in uow.conn.execute(query)]
    more = len(rows) > limit
    page = tuple(rows[:limit])
    return CasePage(page, Cursor(page[-1].received_at, page[-1].case_id).encode() if more else None)
