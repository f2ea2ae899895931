"""Open311 GeoReport v2 under /open311/v2: the city's street reports for citizens' apps.

Every resource answers in XML or JSON by its extension (services.xml, requests/D20261126000001.json);
errors come in the spec's shape (a list of code and description) with 400, 403 (api_key), 404 or
429 (rate limits). Reading needs no key; reporting (POST requests) needs a key an administrator
issued (POST /api/v1/admin/open311-keys). Nothing of the reporter (name, e-mail, phone) is ever
served back.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from flask import Blueprint, Flask, request
from werkzeug.exceptions import HTTPException

from engine.errors import DatabaseError, InvalidInput, NotAuthenticated, PetiflowError, is_outage
from engine.queries.categories import categories
from engine.queries.open311 import (
    MAX_PAGE_SIZE,
    RequestFilter,
    attributes_of,
    service,
    service_request,
    service_requests,
)
from engine.services.open311 import SubmitServiceRequest, submit_service_request

from .. import errors as api_errors
from .. import limits
from ..units import read, run, runtime
from .render import respond, w3_time

log = logging.getLogger(__name__)

#: Where GeoReport v2 is served.
PREFIX = "/open311/v2"

#: The largest POST body a report may have (no files: media are URLs), in bytes.
MAX_POST_BYTES = 64 * 1024

#: The longest range of GET requests' dates (GeoReport v2: 90 days), and the most ids one GET names.
MAX_RANGE, MAX_IDS = timedelta(days=90), 200

bp = Blueprint("open311", __name__, url_prefix=PREFIX)

_FMT = "<any(json, xml):fmt>"


def _error_list(status: int, descriptions: list[str]) -> list[dict]:
    return [{"code": status, "description": text} for text in descriptions]


def _fmt() -> str:
    found = (request.view_args or {}).get("fmt")
    if found in ("json", "xml"):
        return found
    return "xml" if request.path.endswith(".xml") else "json"


def _errors(status: int, descriptions: list[str], headers=None):
    response = respond(_fmt(), "errors", _error_list(status, descriptions), status)
    for name, value in headers or []:
        response.headers[name] = value
    return response


def _petiflow_error(error: PetiflowError):
    status = 403 if isinstance(error, NotAuthenticated) else api_errors.status_for(error)
    status = 400 if status in (409, 422) else status
    fields = (error.details or {}).get("fields") or {}
    described = [f"{name}: {'; '.join(problems)}" for name, problems in fields.items()]
    return _errors(status, described or [error.message])


def _http_error(error: HTTPException):
    headers = [(k, v) for k, v in error.get_headers() if k.lower() in ("retry-after", "allow")]
    return _errors(error.code or 400, [error.description or error.name], headers)


def _unexpected(error: Exception):
    if isinstance(error, DatabaseError) and is_outage(error):
        log.warning("Database unavailable on %s %s: %s", request.method, request.path, error)
        return _errors(503, ["the service is unavailable for a moment; try again shortly"])
    log.exception("Unhandled exception on %s %s", request.method, request.path, exc_info=error)
    return _errors(500, [api_errors.GENERIC_500_MESSAGE])


bp.register_error_handler(PetiflowError, _petiflow_error)
bp.register_error_handler(HTTPException, _http_error)
bp.register_error_handler(Exception, _unexpected)


@bp.before_request
def _jurisdiction():
    """A jurisdiction_id other than the city's is a 404 (the argument is optional: one city is served)."""
    if request.method != "POST":  # reports count against the report limits instead
        limits.check_open311_read()
    if (request.content_length or 0) > MAX_POST_BYTES:
        return _errors(413, [f"the request is larger than {MAX_POST_BYTES // 1024} KiB"])
    given = request.values.get("jurisdiction_id") if request.method == "POST" else request.args.get("jurisdiction_id")
    expected = runtime().settings.open311_jurisdiction
    if given and given != expected:
        return _errors(404, [f"jurisdiction_id {given[:100]!r} was not found: this endpoint serves {expected}"])
    return None


# --- discovery and services ----------------------------------------------------------------------


@bp.get(f"/discovery.{_FMT}")
def discovery(fmt):
    """Service discovery: where the GeoReport v2 endpoint is and what it speaks."""
    settings = runtime().settings
    endpoint = request.url_root.rstrip("/") + PREFIX + "/"
    return respond(fmt, "discovery", {
        "changeset": "2026-12-07T00:00:00Z",
        "contact": f"研考會 (Research, Development and Evaluation Commission), {settings.open311_jurisdiction}",
        "key_service": "API keys are issued by the city's petiflow administrators",
        "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": endpoint,
                       "changeset": "2026-12-07T00:00:00Z", "type": "production",
                       "formats": ["text/xml", "application/json"]}]})


def _english() -> bool:
    return request.accept_languages.best_match(["zh-TW", "zh", "en"]) == "en"


def _service(category) -> dict:
    english = _english()
    return {"service_code": category.code, "service_name": category.name_en if english else category.name,
            "description": category.description, "metadata": bool(attributes_of(category.code)),
            "type": "realtime", "keywords": f"{category.name}, {category.name_en}", "group": category.group}


@bp.get(f"/services.{_FMT}")
def services(fmt):
    """The service list: the 19 dispatch categories."""
    return respond(fmt, "services", [_service(c) for c in categories()])


@bp.get(f"/services/<code>.{_FMT}")
def service_definition(code, fmt):
    """A service's definition: the attributes a report of it answers."""
    category = service(code)
    return respond(fmt, "service_definition", {"service_code": category.code, "attributes": [
        {"variable": True, "code": a.code, "datatype": a.datatype, "required": a.required,
         "datatype_description": a.datatype_description, "order": a.order, "description": a.description,
         **({"values": [{"key": key, "name": name} for key, name in a.values]} if a.values else {})}
        for a in attributes_of(category.code)]})


# --- requests ------------------------------------------------------------------------------------

_ATTRIBUTE = re.compile(r"attribute\[([^\[\]]{1,64})\](\[\])?")


def _attributes(form) -> dict:
    found: dict = {}
    for name in form:
        match = _ATTRIBUTE.fullmatch(name)
        if match:
            values = form.getlist(name)
            found[match.group(1)] = values if match.group(2) else values[-1]
    return found


@bp.post(f"/requests.{_FMT}")
def create_request(fmt):
    """Report a problem: a dispatch case is opened, routed and given its due time (api_key required)."""
    form = request.form
    api_key = form.get("api_key") or request.args.get("api_key")
    limits.check_open311_post(api_key)
    fields = ("service_code", "lat", "long", "address_string", "address_id", "description", "media_url", "email",
              "first_name", "last_name", "phone", "device_id", "account_id")
    done = run(submit_service_request, SubmitServiceRequest(
        api_key=api_key, attributes=_attributes(form), **{name: form.get(name) for name in fields}))
    return respond(fmt, "service_requests", [{"service_request_id": done.service_request_id,
                                              "service_notice": done.service_notice,
                                              "account_id": done.account_id}])


def _as_dict(found, zone) -> dict:
    english = _english()
    category = next((c for c in categories() if c.code == found.service_code), None)
    name = None if category is None else (category.name_en if english else category.name)
    return {"service_request_id": found.service_request_id, "status": found.status,
            "status_notes": found.status_notes, "service_name": name, "service_code": found.service_code,
            "description": found.description, "agency_responsible": found.agency_responsible,
            "service_notice": None, "requested_datetime": w3_time(found.requested_datetime, zone),
            "updated_datetime": w3_time(found.updated_datetime, zone),
            "expected_datetime": w3_time(found.expected_datetime, zone), "address": found.address,
            "address_id": None, "zipcode": None, "lat": found.lat, "long": found.long, "media_url": None}


def _listed(name: str) -> tuple:
    return tuple(part.strip() for value in request.args.getlist(name) for part in value.split(",") if part.strip())


def _date(name: str) -> datetime | None:
    text = request.args.get(name) or None
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise_invalid(f"{name} must be a w3 date and time with its offset, such as 2026-11-26T09:00:00+08:00")
    return at


def raise_invalid(message: str):
    """Refuse the request's arguments (a 400 naming the problem)."""
    raise InvalidInput(message)


def _whole(name: str, default: int, high: int) -> int:
    text = request.args.get(name) or None
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= high:
        raise_invalid(f"{name} must be a whole number from 1 to {high}")
    return int(text)


def _filter(now: datetime) -> RequestFilter:
    ids = _listed("service_request_id")
    if len(ids) > MAX_IDS:
        raise_invalid(f"service_request_id names at most {MAX_IDS} requests")
    statuses = _listed("status")
    if set(statuses) - {"open", "closed"}:
        raise_invalid("status must be open or closed (or both, comma delimited)")
    start, end = _date("start_date"), _date("end_date")
    if start is None and end is None:
        start = now - MAX_RANGE
    elif start is None:
        start = end - MAX_RANGE
    elif end is not None and end - start > MAX_RANGE:
        raise_invalid("start_date and end_date may not span more than 90 days")
    if end is not None and start > end:
        raise_invalid("start_date is after end_date")
    codes = _listed("service_code")
    for code in codes:
        service(code)  # a 404 naming an unknown code
    return RequestFilter(ids=ids, codes=codes, start=start, end=end, statuses=statuses,
                         page=_whole("page", 1, 100_000), page_size=_whole("page_size", MAX_PAGE_SIZE, MAX_PAGE_SIZE))


@bp.get(f"/requests.{_FMT}")
def list_requests(fmt):
    """Requests by ids, or by service, date range received and status, the newest first (90 days, 1000 at most)."""
    rt = runtime()
    found = read(service_requests, _filter(rt.clock.now()))
    return respond(fmt, "service_requests", [_as_dict(r, rt.zone) for r in found])


@bp.get(f"/requests/<request_id>.{_FMT}")
def get_request(request_id, fmt):
    """One request by its id (the case number)."""
    found = read(service_request, request_id)
    return respond(fmt, "service_requests", [_as_dict(found, runtime().zone)])


@bp.get(f"/tokens/<token>.{_FMT}")
def token(token, fmt):
    """Every service here is realtime: a POST answers with the request's id, and no token is ever given."""
    return _errors(404, [f"token {token[:100]!r} was not found: requests here get their id at once"])


def install(app: Flask) -> None:
    """Serve GeoReport v2 on the app."""
    app.register_blueprint(bp)
