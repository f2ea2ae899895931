"""The public web mailbox (縣政信箱): a citizen files a petition, and is given its number and lookup code.

The petition is opened through the same path as every channel's (engine.services.cases), so
routing and its due time come from the same workflow and deadline rules. The engine takes it
in on the citizen's behalf; nobody signs in. One unit of work holds the case, its photos (each
kept as it came for the handling staff, and shown to everyone else without EXIF data), the
lookup code's digest and, when an e-mail address was given, the receipt in the outbox. A
petition without a name or any contact is taken in and marked anonymous: the workflow's
dispatcher decides under art. 173 of the Administrative Procedure Act.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from email.headerregistry import Address
from typing import BinaryIO

from sqlalchemy import insert, update

from engine.accounts.identity import SYSTEM
from engine.cases import location, lookup_codes
from engine.cases.history import event
from engine.cases.photos import PUBLIC_PHOTO_TYPES, strip_metadata
from engine.cases.sniffing import sniff
from engine.errors import InvalidInput, TooLarge
from engine.queries.categories import categories
from engine.services.attachments import AddAttachment, add_attachment
from engine.services.cases import StartCase, start_case
from engine.services.notifications import email_payload
from engine.store import outbox
from engine.store.files import keep_in_unit
from engine.store.schema import attachments, case_events, case_lookup_codes

#: The districts of the city (after the 2014 upgrade), with their English names.
DISTRICTS = {"桃園": "Taoyuan", "中壢": "Zhongli", "平鎮": "Pingzhen", "八德": "Bade", "楊梅": "Yangmei",
             "蘆竹": "Luzhu", "大溪": "Daxi", "龜山": "Guishan", "大園": "Dayuan", "觀音": "Guanyin",
             "新屋": "Xinwu", "龍潭": "Longtan", "復興": "Fuxing"}

#: The longest text of each field, in characters.
LIMITS = {"subject": 200, "description": 5000, "location": 300, "name": 100, "phone": 30, "email": 254,
          "address": 300}

#: The most photos one petition may carry, and the largest photo (bytes; the attachment limit if lower).
MAX_PHOTOS = 5
MAX_PHOTO_BYTES = 10 * 2**20

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_PHONE = re.compile(r"[0-9+()#\- ]{6,30}")


@dataclass(frozen=True)
class Photo:
    """A file the citizen attached: the name it came with, and its content."""

    filename: str | None
    content: BinaryIO


@dataclass(frozen=True)
class SubmitPetition:
    """File a petition on the web mailbox (every text as typed; empty strings count as not given)."""

    subject: str
    description: str
    category: str = ""
    district: str = ""
    location: str = ""  # where the matter is: an address or a landmark
    latitude: str = ""
    longitude: str = ""
    name: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""  # the petitioner's postal address
    confidential: bool = False
    photos: tuple = ()
    site_url: str | None = None  # the mailbox's address, for links in later e-mails


@dataclass(frozen=True)
class PetitionSubmitted:
    """The new case's number, and its lookup code: shown once, never kept."""

    case_id: int
    case_no: str
    lookup_code: str
    anonymous: bool


def _texts(cmd: SubmitPetition) -> dict:
    values = {key: (getattr(cmd, key) or "").strip() for key in LIMITS}
    values.update(category=(cmd.category or "").strip(), district=(cmd.district or "").strip())
    return values


def _mailable(address: str) -> bool:
    """True if the address is one the mailer can send to (handlers/notify_email.py parses it alike)."""
    if not _EMAIL.fullmatch(address):
        return False
    try:
        parsed = Address(addr_spec=address)
    except Exception:  # the parser raises ValueError, HeaderParseError or a defect
        return False
    return bool(parsed.username) and "." in parsed.domain


def _point(cmd: SubmitPetition, problems: dict) -> tuple[float, float] | None:
    """The form's point, checked as every intake's is (engine.cases.location); the form names one field."""
    lat, lon = (cmd.latitude or "").strip(), (cmd.longitude or "").strip()
    try:
        return location.check_point(lat or None, lon or None)
    except InvalidInput:
        problems["latitude"] = ["a latitude from -90 to 90 and a longitude from -180 to 180, in degrees"]
        return None


def check_petition(cmd: SubmitPetition) -> dict[str, list[str]]:
    """What is wrong with the form, field by field (empty when nothing is)."""
    values, problems = _texts(cmd), {}
    for key, limit in LIMITS.items():
        if len(values[key]) > limit:
            problems[key] = [f"at most {limit} characters"]
    for key in ("subject", "description"):
        if not values[key]:
            problems[key] = ["required"]
    if values["category"] and values["category"] not in {c.code for c in categories()}:
        problems["category"] = ["not one of the categories"]
    if values["district"] and values["district"] not in DISTRICTS:
        problems["district"] = ["not one of the city's districts"]
    if values["email"] and "email" not in problems and not _mailable(values["email"]):
        problems["email"] = ["not an e-mail address"]
    if values["phone"] and "phone" not in problems and not _PHONE.fullmatch(values["phone"]):
        problems["phone"] = ["digits, spaces, + - ( ) # only"]
    _point(cmd, problems)
    if len(cmd.photos) > MAX_PHOTOS:
        problems["photos"] = [f"at most {MAX_PHOTOS} photos"]
    return problems


def _read_photo(photo: Photo, limit: int) -> tuple[bytes, str]:
    content = photo.content.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(f"a photo is larger than {limit // 2**20} MiB, the most a photo may be",
                       details={"fields": {"photos": [f"at most {limit // 2**20} MiB each"]}})
    found = sniff(io.BytesIO(content))
    if found.media_type not in PUBLIC_PHOTO_TYPES:
        raise InvalidInput(f"{found.kind} cannot be attached here: the mailbox takes photos as JPEG, PNG, WebP "
                           "or GIF", details={"fields": {"photos": [f"{found.kind} is not accepted"]}})
    return content, found.media_type


@dataclass(frozen=True)
class _Prepared:
    filename: str | None
    content: bytes  # as it came
    shown: bytes  # without EXIF data
    changed: bool


def _prepare(photo: Photo, limit: int) -> _Prepared:
    """Read, sniff and strip a photo: CPU work done before the unit of work writes (and, on SQLite, locks)."""
    content, media_type = _read_photo(photo, limit)
    clean = strip_metadata(content, media_type)
    return _Prepared(photo.filename, content, clean.content, clean.changed)


def _attach(uow, case_id: int, photo: _Prepared) -> None:
    shown = add_attachment(AddAttachment(SYSTEM, case_id, photo.filename, io.BytesIO(photo.shown)), uow)
    if photo.changed:
        staged = uow.attachments.receive(io.BytesIO(photo.content), uow.clock.now())
        keep_in_unit(uow, staged)
        uow.conn.execute(update(attachments).where(attachments.c.id == shown.attachment_id)
                         .values(original_sha256=staged.sha256))


def _receipt(case_no: str, code: str, subject: str, site_url: str | None) -> str:
    where = f"\n查詢網址 / Status: {site_url}mailbox/status?case_no={case_no}" if site_url else ""
    return (f"您的陳情已收到，案件編號 {case_no}。\n主旨：{subject}\n查詢碼：{code}\n"
            f"請妥善保存查詢碼，憑案件編號及查詢碼可查詢處理進度、答復及填寫滿意度調查。{where}\n\n"
            f"Your petition was received as case {case_no}. Lookup code: {code}\n"
            "Keep the code: with the case number it shows the progress and the reply, and opens the survey.")


def submit_petition(cmd: SubmitPetition, uow) -> PetitionSubmitted:
    """Open the petition, attach its photos, keep its lookup code's digest, queue the receipt.

    Raises InvalidInput (details.fields names each field) or TooLarge; nothing is kept then.
    """
    problems = check_petition(cmd)
    if problems:
        raise InvalidInput("the petition has fields to correct", details={"fields": problems})
    limit = min(MAX_PHOTO_BYTES, uow.attachments.max_bytes)
    photos = [_prepare(photo, limit) for photo in cmd.photos]
    values = _texts(cmd)
    point = _point(cmd, {})
    contact = {key: values[key] for key in ("name", "phone", "email", "address") if values[key]}
    anonymous = not values["name"] or not (values["phone"] or values["email"] or values["address"])
    data = {"anonymous": anonymous, "location": values["location"] or None,
            "latitude": point[0] if point else None, "longitude": point[1] if point else None}
    started = start_case(StartCase("petition", channel="web", category=values["category"] or None,
                                   district=values["district"] or None, subject=values["subject"],
                                   description=values["description"], confidential=cmd.confidential,
                                   petitioner=contact or None, data=data, address=values["location"] or None,
                                   latitude=data["latitude"], longitude=data["longitude"]), uow)
    for photo in photos:
        _attach(uow, started.case_id, photo)
    code, now = lookup_codes.new_code(), uow.clock.now()
    uow.conn.execute(insert(case_lookup_codes), {"case_id": started.case_id, "created_at": now,
                                                  "code_sha256": lookup_codes.digest(started.case_no, code),
                                                  "site_url": (cmd.site_url or None) and cmd.site_url[:300]})
    uow.conn.execute(insert(case_events), event(
        started.case_id, now, "filed_on_web_mailbox", anonymous=anonymous, confidential=cmd.confidential,
        location=data["location"], latitude=data["latitude"], longitude=data["longitude"], photos=len(cmd.photos)))
    if values["email"]:
        outbox.queue_message(uow, "email", email_payload(
            subject=f"案件 {started.case_no} 已受理 / received",
            body=_receipt(started.case_no, code, values["subject"], cmd.site_url),
            to=values["email"], case_id=started.case_id, secrets=(code,)), f"citizen:{started.case_id}:receipt")
    return PetitionSubmitted(started.case_id, started.case_no, code, anonymous)
