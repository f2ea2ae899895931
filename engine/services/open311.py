"""Open311 GeoReport v2 intake: keys issued to citizens' apps, and a report through one opening a
dispatch case, routed and given its due time by the dispatch workflow and the deadline rules."""
from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jsonschema import Draft202012Validator
from sqlalchemy import insert, select, update

from engine.accounts.identity import SYSTEM, Principal
from engine.accounts.passwords import key_digest
from engine.cases import location
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.queries.categories import Category
from engine.queries.open311 import CASE_TYPE, KEY_PREFIX, attributes_of, key_holder, report_form, service
from engine.store.schema import cases, open311_keys

from .cases import StartCase, start_case
from .duplicates import LinkIfDuplicate, link_if_duplicate

#: The channel Open311 reports come in by (deadline rules and reports tell channels apart).
CHANNEL = "open311"

#: The longest each field of a report may be, in characters (GeoReport v2: a description of 4,000).
LIMITS = {"description": 4000, "address_string": 500, "address_id": 100, "media_url": 2000, "email": 320,
          "first_name": 100, "last_name": 100, "phone": 50, "device_id": 100, "account_id": 100,
          "attribute": 200}

#: How stale a key's "last used" may grow before a report notes it again.
USE_NOTED_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class SubmitServiceRequest:
    """A report from an Open311 app (GeoReport v2 POST requests), as the app sent it: text, not yet checked."""

    api_key: str | None
    service_code: str | None
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    address_id: str | None = None
    description: str | None = None
    media_url: str | None = None
    attributes: dict = field(default_factory=dict)  # code -> value (a list for a multivaluelist)
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    device_id: str | None = None
    account_id: str | None = None


@dataclass(frozen=True)
class ServiceRequestSubmitted:
    """The new request's id (its case number), what the reporter is told, and the case it repeats."""

    service_request_id: str
    service_notice: str
    account_id: str | None
    duplicate_of: str | None
    case_id: int


def _check_lengths(cmd: SubmitServiceRequest) -> None:
    problems = {}
    for name, limit in LIMITS.items():
        value = getattr(cmd, name, None)
        if value is not None and len(value) > limit:
            problems[name] = [f"at most {limit} characters"]
    for code, value in cmd.attributes.items():
        values = value if isinstance(value, list) else [value]
        if len(code) > 64 or any(len(v) > LIMITS["attribute"] for v in values):
            problems[f"attribute[{code[:64]}]"] = [f"at most {LIMITS['attribute']} characters"]
    if cmd.media_url and not cmd.media_url.lower().startswith(("https://", "http://")):
        problems["media_url"] = ["an http(s) URL"]
    if cmd.email and ("@" not in cmd.email or any(c.isspace() for c in cmd.email)):
        problems["email"] = ["an e-mail address"]
    if problems:
        raise InvalidInput("the request has fields that are too long or malformed", details={"fields": problems})


def _number(text: str):
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(text)
    return int(number) if number.is_integer() else number


def _attributes(category: Category, given: dict) -> dict:
    """The answers to the category's attributes, typed and checked against the report form."""
    known = {a.code: a for a in attributes_of(category.code)}
    problems = {f"attribute[{code}]": ["not an attribute of this service"] for code in given if code not in known}
    answers = {}
    for code, attribute in known.items():
        value = given.get(code)
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else value
        if value is None or value == "":
            if attribute.required:
                problems[f"attribute[{code}]"] = ["required"]
            continue
        if attribute.datatype == "number":
            try:
                value = _number(value)
            except (TypeError, ValueError):
                problems[f"attribute[{code}]"] = ["must be a number"]
                continue
        answers[code] = value
    form = report_form()
    schema = {**form, "properties": {k: v for k, v in form["properties"].items() if k in known}, "required": []}
    for error in Draft202012Validator(schema).iter_errors(answers):
        where = error.path[0] if error.path else "attribute"
        problems.setdefault(f"attribute[{where}]", []).append(
            "not one of the values listed" if error.validator == "enum" else error.message)
    if problems:
        raise InvalidInput("the attributes do not fit the service's definition", details={"fields": problems})
    return answers


def _petitioner(cmd: SubmitServiceRequest) -> dict | None:
    name = " ".join(part.strip() for part in (cmd.first_name, cmd.last_name) if part and part.strip()) or None
    found = {"name": name, "phone": (cmd.phone or "").strip() or None, "email": (cmd.email or "").strip() or None}
    return {k: v for k, v in found.items() if v is not None} or None


def _notice(uow, case_no: str, due_at: datetime | None, duplicate) -> str:
    if duplicate is not None:
        return (f"此地點 50 公尺內已有同類查報 {duplicate.case_no} 正在處理，您的查報 {case_no} 已與其連結。"
                f" A report of the same service within 50 m ({duplicate.case_no}) is already open; "
                f"yours ({case_no}) is linked to it.")
    if due_at is None:
        return f"已收到您的查報 {case_no}。 Your report was received as {case_no}."
    local = due_at.astimezone(uow.zone).strftime("%Y-%m-%d %H:%M")
    return (f"已收到您的查報 {case_no}，預計於 {local} 前處理。"
            f" Your report was received as {case_no}; it is expected to be handled by {local} (city time).")


def submit_service_request(cmd: SubmitServiceRequest, uow) -> ServiceRequestSubmitted:
    """Open a dispatch case for the report, link it to an open report of its service within 50 m.

    Raises NotAuthenticated (no key, or not a valid one), InvalidInput (a field missing, too long or
    not fitting the service's definition), NotFound (no such service_code).
    """
    holder = key_holder(uow, cmd.api_key)
    if not cmd.service_code:
        raise InvalidInput("service_code was not provided", details={"fields": {"service_code": ["required"]}})
    _check_lengths(cmd)
    category = service(cmd.service_code)
    has_point = cmd.lat not in (None, "") or cmd.long not in (None, "")
    if not has_point and not (cmd.address_string or "").strip() and not (cmd.address_id or "").strip():
        needed = "a location is required: lat and long, address_string or address_id"
        raise InvalidInput(needed, details={"fields": {"lat": [needed]}})
    answers = _attributes(category, cmd.attributes)
    point = location.check_point(cmd.lat or None, cmd.long or None) if has_point else None
    lat, lon = point if point else (None, None)
    address = (cmd.address_string or "").strip() or None
    data = {key: value for key, value in {
        "address": address, "address_id": (cmd.address_id or "").strip() or None, "photo_ref": cmd.media_url,
        "open311_app": holder.name, "road_width_m": answers.get("road_width_m")}.items() if value is not None}
    app = Principal(user_id=None, username=f"open311:{holder.name}", roles=frozenset({("open311_app", None)}))
    try:
        started = start_case(StartCase(
            CASE_TYPE, channel=CHANNEL, category=category.code, district=answers.get("district"),
            subject=f"{category.name}（{address}）" if address else category.name, description=cmd.description,
            address=address, latitude=lat, longitude=lon, petitioner=_petitioner(cmd),
            data={**data, **({"lat": lat, "lon": lon} if point else {})},
            principal=app), uow)
    except InvalidInput as exc:
        renamed = {"latitude": "lat", "longitude": "long", "subject": "address_string",
                   "petitioner.name": "first_name", "petitioner.phone": "phone", "petitioner.email": "email"}
        fields = {renamed.get(k, k): v for k, v in exc.details.get("fields", {}).items()}
        raise InvalidInput(exc.message, details={**exc.details, "fields": fields}) from None
    duplicate = link_if_duplicate(LinkIfDuplicate(started.case_id), uow)
    now = uow.clock.now()
    if holder.last_used_at is None or holder.last_used_at <= now - USE_NOTED_EVERY:
        uow.conn.execute(update(open311_keys).where(open311_keys.c.id == holder.key_id).values(last_used_at=now))
    due_at = uow.conn.execute(select(cases.c.due_at).where(cases.c.id == started.case_id)).scalar_one()
    return ServiceRequestSubmitted(started.case_no, _notice(uow, started.case_no, due_at, duplicate),
                                   (cmd.account_id or "").strip() or None,
                                   duplicate.case_no if duplicate else None, started.case_id)


# --- keys ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueOpen311Key:
    """Issue a key to a citizens' app (administrators only; the engine itself for the command line)."""

    name: str
    principal: Principal = SYSTEM


@dataclass(frozen=True)
class Open311KeyIssued:
    """The key, shown this once, and its record."""

    id: int
    key: str
    name: str
    prefix: str
    created_at: datetime


@dataclass(frozen=True)
class RevokeOpen311Key:
    """Stop a key working at once (administrators only; the engine itself for the command line)."""

    key_id: int
    principal: Principal = SYSTEM


def _admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Open311 keys are issued and revoked by administrators")


def issue_open311_key(cmd: IssueOpen311Key, uow) -> Open311KeyIssued:
    """Issue a key; raises Forbidden (not an administrator), InvalidInput (a blank or long name)."""
    _admin(cmd.principal)
    name = (cmd.name or "").strip()
    limit = open311_keys.c.name.type.length
    if not name or len(name) > limit or not name.isprintable():
        raise InvalidInput("the key cannot be issued", details={"fields": {"name": [f"1 to {limit} printable "
                                                                                    "characters"]}})
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    now = uow.clock.now()
    key_id = uow.conn.execute(insert(open311_keys).returning(open311_keys.c.id), {
        "name": name, "key_hash": key_digest(key), "prefix": key[:10], "created_by": cmd.principal.user_id,
        "created_at": now}).scalar_one()
    return Open311KeyIssued(key_id, key, name, key[:10], now)


def revoke_open311_key(cmd: RevokeOpen311Key, uow) -> bool:
    """Revoke a key; False if it was revoked before. Raises Forbidden, NotFound."""
    _admin(cmd.principal)
    row = uow.conn.execute(select(open311_keys.c.revoked_at).where(open311_keys.c.id == cmd.key_id)).one_or_none()
    if row is None:
        raise NotFound(f"Open311 key {cmd.key_id} does not exist")
    if row.revoked_at is not None:
        return False
    uow.conn.execute(update(open311_keys).where(open311_keys.c.id == cmd.key_id).values(revoked_at=uow.clock.now()))
    return True
