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
from datetime import datetime, timezone

from sqlalchemy import String, func, literal, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.sql.util import ClauseAdapter

from engine.accounts.identity import Principal
from engine.errors import InvalidInput
from engine.store.schema import CO_HANDLED as _CO_HANDLED_SQL
from engine.store.schema import agencies, cases, work_items

from .inbox_scope import OPEN
from .keyset import Cursor
from .search_terms import needle, pg_tsquery_of_buckets, sqlite_match
from .visibility import Scope, case_scope, visible_cases

#: Open work on a case of another agency, written as its index's condition (engine.store.schema), so that
#: PostgreSQL reads that index; its columns are named bare: for statements on work_items alone.
CO_HANDLED = text(_CO_HANDLED_SQL)

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
_NEWEST = (cases.c.received_at.desc(), cases.c.id.desc())

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
    """SQLite, SQL: the text index has every piece of the text; None when no case can hold it."""
    match = sqlite_match(uow.conn, found)
    return None if match is None else cases.c.id.in_(_fts.bindparams(match=match).columns(cases.c.id))


def _terms_match(query: str):
    """PostgreSQL, SQL: the case's terms (the text's pieces, its year and its agency's) match the tsquery."""
    return func.petiflow_search_terms(cases.c.subject, cases.c.description, cases.c.agency_id,
                                      cases.c.received_at).op("@@")(literal(query, String).cast(TSQUERY))


def _newest_holding(uow, ranged: list, filters: list, found: str, limit: int) -> list:
    """PostgreSQL: (id, received_at) of the newest `limit` cases matching `ranged` (conditions an index range
    serves: the agencies, the window) and `filters` that hold the text, read from the newest PROBE cases
    of the range (one short range of an index, whoever reads): a common word fills its page so, and no
    newer case can have been missed. Fewer rows: look further. Asked as an index condition, the planner
    would gather every case holding the word and sort them, or compute the index's function for each
    case it passes."""
    recent = select(cases).where(*ranged).order_by(*_NEWEST).limit(PROBE).subquery("recent")
    on_recent = ClauseAdapter(recent).traverse  # the filters, on those cases
    return uow.conn.execute(
        select(recent.c.id, recent.c.received_at)
        .where(*map(on_recent, filters), _holds(recent.c.subject, recent.c.description, found, True))
        .order_by(recent.c.received_at.desc(), recent.c.id.desc()).limit(limit)).all()


def _years(uow, search: CaseSearch, after: Cursor | None) -> range:
    """The years (UTC) holding cases that the search's window may reach, newest first."""
    oldest, newest = uow.conn.execute(select(func.min(cases.c.received_at), func.max(cases.c.received_at))).one()
    if oldest is None:
        return range(0)
    top, bottom = newest.astimezone(timezone.utc).year, oldest.astimezone(timezone.utc).year
    for end in (search.received_until, after.due_at if after is not None else None):
        if end is not None:
            top = min(top, end.astimezone(timezone.utc).year)
    if search.received_from is not None:
        bottom = max(bottom, search.received_from.astimezone(timezone.utc).year)
    return range(top, bottom - 1, -1)


def _by_year(uow, conditions: list, found: str, terms, years: range, limit: int) -> list:
    """PostgreSQL: (id, received_at) of the newest `limit` cases matching `conditions` that hold the text,
    gathered from the text index a year at a time, newest year first, until the page is full.

    The index's terms carry each case's year, and its agency's with it ("#2026", "#2026#17"): the
    index answers the text's pieces AND the year's term (or one of the agencies' terms of that year),
    so a year's candidates are the cases of that year (and agency) holding the pieces, never all the
    city's cases holding a common word.
    """
    found_rows = []
    for year in years:
        query = pg_tsquery_of_buckets(found, terms(year))
        hits = select(cases.c.id, cases.c.received_at).where(
            _terms_match(query), *conditions, _holds(cases.c.subject, cases.c.description, found, True)
        ).cte("hits").prefix_with("MATERIALIZED")  # the year's candidates first, then the newest of them
        found_rows += uow.conn.execute(select(hits.c.id, hits.c.received_at)
                                       .order_by(hits.c.received_at.desc(), hits.c.id.desc()).limit(limit)).all()
        if len(found_rows) >= limit:
            break
    return found_rows[:limit]


def _co_handled(uow, agency_ids: list, conditions: list, found: str, limit: int) -> list:
    """PostgreSQL: (id, received_at) of the newest `limit` cases of other agencies with open work for one of
    `agency_ids` (a co-handling agency's opinion) matching `conditions` and holding the text.

    The open work of these agencies on cases of another agency (as each item keeps its case's agency)
    is few, one index range of its own; each case is then read and checked in full. A case of one of
    the reader's agencies with work for another of them may come too: it is checked and found
    again, and counted once.
    """
    candidates = uow.conn.execute(
        select(work_items.c.case_id).where(OPEN, work_items.c.agency_id.in_(agency_ids), CO_HANDLED).distinct()
    ).scalars().all()
    if not candidates:
        return []
    return uow.conn.execute(
        select(cases.c.id, cases.c.received_at)
        .where(cases.c.id.in_(candidates), *conditions, _holds(cases.c.subject, cases.c.description, found, True))
        .order_by(*_NEWEST).limit(limit)).all()


def _found_ids(uow, scope: Scope, filters: list, window: list, found: str, limit: int, years) -> list:
    """The ids of the newest `limit` cases in the scope matching `filters` and `window` (conditions on
    received_at and id only) that hold the text."""
    if uow.conn.dialect.name != "postgresql":
        indexed = _indexed(uow, found)
        if indexed is None:
            return []
        where = filters if scope.everything else [visible_cases(scope), *filters]
        holds = _holds(cases.c.subject, cases.c.description, found, False)
        return uow.conn.execute(select(cases.c.id).where(*where, *window, indexed, holds).order_by(*_NEWEST)
                                .limit(limit)).scalars().all()
    if scope.everything:
        rows = _newest_holding(uow, window, filters, found, limit)
        if len(rows) < limit:
            rows = _by_year(uow, [*filters, *window], found, lambda year: [f"#{year}"], years(), limit)
        return [row.id for row in rows]
    # An agency's reader: the cases of its agencies (from their own index range, then the text index by
    # year and agency), and the other agencies' cases with open work for it, merged newest first.
    agency_ids = sorted(scope.agency_ids)
    own = [cases.c.agency_id.in_(agency_ids), *window]
    rows = _newest_holding(uow, own, filters, found, limit)
    if len(rows) < limit:
        # The agencies' terms of the year name only their cases: asked for the agencies too, the planner
        # would AND the text index with the agency's 200,000 cases of the agency index.
        rows = _by_year(uow, [*window, *filters], found, lambda year: [f"#{year}#{agency}" for agency in agency_ids],
                        years(), limit)
    rows = {row.id: row for row in rows}
    for row in _co_handled(uow, agency_ids, [visible_cases(scope), *filters, *window], found, limit):
        rows.setdefault(row.id, row)
    return [row.id for row in sorted(rows.values(), key=lambda r: (r.received_at, r.id), reverse=True)[:limit]]


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
    filters = []
    for column, value in ((cases.c.case_no, search.case_no), (cases.c.status, search.status),
                          (cases.c.category, search.category), (cases.c.district, search.district),
                          (cases.c.agency_id, search.agency_id), (cases.c.case_type, search.case_type)):
        if value is not None:
            filters.append(column == value)
    window = []  # conditions on the order itself: a range of the newest-first index
    if search.received_from is not None:
        window.append(cases.c.received_at >= search.received_from)
    if search.received_until is not None:
        window.append(cases.c.received_at < search.received_until)
    after = None
    if cursor is not None:
        after = Cursor.decode(cursor)
        if after.due_at is None:
            raise _invalid("cursor", "not a cursor")
        window.append(tuple_(cases.c.received_at, cases.c.id)
                     < tuple_(literal(after.due_at, cases.c.received_at.type), literal(after.id)))
    if found is None:
        where = filters if scope.everything else [visible_cases(scope), *filters]
        ids = uow.conn.execute(select(cases.c.id).where(*where, *window).order_by(*_NEWEST).limit(limit + 1)
                               ).scalars().all()
    else:
        ids = _found_ids(uow, scope, filters, window, found, limit + 1, lambda: _years(uow, search, after))
    if not ids:
        return CasePage((), None)
    query = (select(*_columns).select_from(cases.outerjoin(agencies, agencies.c.id == cases.c.agency_id))
             .where(cases.c.id.in_(ids)).order_by(*_NEWEST))
    rows = [CaseRow(*row) for row in uow.conn.execute(query)]
    more = len(rows) > limit
    page = tuple(rows[:limit])
    return CasePage(page, Cursor(page[-1].received_at, page[-1].case_id).encode() if more else None)
