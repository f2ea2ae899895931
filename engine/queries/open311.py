"""What Open311 GeoReport v2 serves: the services (the dispatch categories), their attributes, and the
city's street reports as service requests, with nothing of the people who reported them."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import bindparam, literal_column, select

from engine.accounts.passwords import key_digest
from engine.errors import NotAuthenticated, NotFound
from engine.settings import PROJECT_ROOT
from engine.store.schema import agencies, cases, open311_keys

from .categories import Category, categories

#: What a report carries besides its category, place and description (a JSON Schema): the attributes.
REPORT_FORM = PROJECT_ROOT / "workflows" / "seed" / "dispatch_report.json"

#: The case type Open311 reports open, and the only one it lists: street problems, not petitions.
CASE_TYPE = "dispatch"

#: Every key starts so, to be told from a personal access token (pf_) at a glance.
KEY_PREFIX = "o311_"

#: What a refused key is told: never whether the key was unknown or revoked.
KEY_REFUSED = "the api_key is not valid (unknown or revoked)"

#: The most requests one GET returns (GeoReport v2: the first 1000).
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Attribute:
    """One attribute of a service definition (GeoReport v2's attribute element)."""

    code: str
    datatype: str
    required: bool
    order: int
    description: str
    datatype_description: str | None
    values: tuple  # (key, name) pairs of a value list


@lru_cache(maxsize=1)
def report_form() -> dict:
    """The report form's JSON Schema."""
    return json.loads(REPORT_FORM.read_text(encoding="utf-8"))


def _datatype(prop: dict) -> tuple[str, str | None]:
    if "enum" in prop:
        return "singlevaluelist", None
    if prop.get("type") in ("number", "integer"):
        low, high = prop.get("minimum"), prop.get("maximum")
        bounds = f" from {low:g} to {high:g}" if low is not None and high is not None else ""
        return "number", ("a whole number" if prop["type"] == "integer" else "a number") + bounds
    if prop.get("format") == "date-time":
        return "datetime", "a date and time with its UTC offset (ISO 8601)"
    if prop.get("maxLength", 0) > 255:
        return "text", None
    return "string", None


def attributes_of(code: str) -> tuple[Attribute, ...]:
    """The attributes a report of the category answers, in the form's order."""
    form = report_form()
    required = set(form.get("required", ()))
    found = []
    for name, prop in form["properties"].items():
        if "x-categories" in prop and code not in prop["x-categories"]:
            continue
        datatype, explained = _datatype(prop)
        titles = prop.get("x-enumTitles") or prop.get("enum") or ()
        values = tuple(zip(prop.get("enum", ()), titles))
        description = prop.get("title", name) + (f": {prop['description']}" if prop.get("description") else "")
        found.append(Attribute(name, datatype, name in required, len(found) + 1, description, explained, values))
    return tuple(found)


def service(code: str) -> Category:
    """The category of a service code; raises NotFound."""
    found = next((c for c in categories() if c.code == code), None)
    if found is None:
        raise NotFound(f"service_code {code[:100]!r} was not found")
    return found


@dataclass(frozen=True)
class ServiceRequest:
    """A street report as Open311 shows it: no reporter, no internal notes, no staff."""

    service_request_id: str
    status: str  # open, closed
    status_notes: str | None
    service_code: str | None
    description: str | None
    agency_responsible: str | None
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None
    address: str | None
    lat: float | None
    long: float | None


_original = cases.alias("original")
_requests = (select(cases.c.id, cases.c.case_no, cases.c.status, cases.c.category, cases.c.description,
                    agencies.c.name.label("agency"), cases.c.received_at, cases.c.updated_at, cases.c.closed_at,
                    cases.c.due_at, cases.c.address, cases.c.latitude, cases.c.longitude,
                    _original.c.case_no.label("original_no"))
             .select_from(cases.outerjoin(agencies, agencies.c.id == cases.c.agency_id)
                          .outerjoin(_original, _original.c.id == cases.c.duplicate_of))
             .where(cases.c.case_type == literal_column(f"'{CASE_TYPE}'"),
                    cases.c.confidential == literal_column("false")))


def _notes(row) -> str | None:
    if row.original_no is None:
        return None
    if row.status == "open":
        return f"Reported before: linked to {row.original_no} (within 50 m, same service)"
    return f"Duplicate of {row.original_no}"


def _request(row) -> ServiceRequest:
    closed = row.status != "open"
    return ServiceRequest(row.case_no, "closed" if closed else "open", _notes(row), row.category, row.description,
                          row.agency, row.received_at, (row.closed_at if closed and row.closed_at else row.updated_at),
                          row.due_at, row.address, row.latitude, row.longitude)


def service_request(uow, case_no: str) -> ServiceRequest:
    """One request by its id (the case number); raises NotFound for any other case, a petition's included."""
    row = uow.conn.execute(_requests.where(cases.c.case_no == bindparam("b_no")), {"b_no": case_no}).one_or_none()
    if row is None:
        raise NotFound(f"service_request_id {case_no[:100]!r} was not found")
    return _request(row)


@dataclass(frozen=True)
class RequestFilter:
    """GET requests' filters: ids (which override the rest), or codes, a range received and statuses."""

    ids: tuple = ()
    codes: tuple = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple = ()
    page: int = 1
    page_size: int = MAX_PAGE_SIZE


def service_requests(uow, which: RequestFilter) -> tuple[ServiceRequest, ...]:
    """The requests matching the filter, the newest first, a page at a time."""
    query = _requests
    if which.ids:
        query = query.where(cases.c.case_no.in_(which.ids))
    else:
        if which.codes:
            query = query.where(cases.c.category.in_(which.codes))
        if which.start is not None:
            query = query.where(cases.c.received_at >= which.start)
        if which.end is not None:
            query = query.where(cases.c.received_at <= which.end)
        if which.statuses and set(which.statuses) != {"open", "closed"}:
            query = (query.where(cases.c.status == literal_column("'open'")) if "open" in which.statuses
                     else query.where(cases.c.status != literal_column("'open'")))
    query = (query.order_by(cases.c.received_at.desc(), cases.c.id.desc())
             .limit(which.page_size).offset((which.page - 1) * which.page_size))
    return tuple(_request(row) for row in uow.conn.execute(query))


# --- keys --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyHolder:
    """The app a key was issued to."""

    key_id: int
    name: str
    last_used_at: datetime | None


_by_digest = select(open311_keys.c.id, open311_keys.c.name, open311_keys.c.revoked_at, open311_keys.c.last_used_at) \
    .where(open311_keys.c.key_hash == bindparam("b_digest"))


def key_holder(uow, key: str | None) -> KeyHolder:
    """The app holding the key; raises NotAuthenticated for a key missing, unknown or revoked."""
    key = key or ""
    row = uow.conn.execute(_by_digest, {"b_digest": key_digest(key)}).one_or_none() \
        if key.startswith(KEY_PREFIX) else None
    if row is None or row.revoked_at is not None:
        raise NotAuthenticated(KEY_REFUSED)
    return KeyHolder(row.id, row.name, row.last_used_at)


@dataclass(frozen=True)
class Open311Key:
    """An issued key as administrators see it (never the key itself)."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def open311_keys_issued(uow) -> tuple[Open311Key, ...]:
    """Every key issued, the newest first, revoked ones included."""
    rows = uow.conn.execute(select(open311_keys.c.id, open311_keys.c.name, open311_keys.c.prefix,
                                   open311_keys.c.created_at, open311_keys.c.revoked_at, open311_keys.c.last_used_at)
                            .order_by(open311_keys.c.id.desc()))
    return tuple(Open311Key(*row) for row in rows)
