"""Open a case: the case row, its petitioner, and its workflow run to the first wait."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select

from engine.accounts.identity import SYSTEM, Principal
from engine.cases import location
from engine.cases.history import event
from engine.cases.steps import InstanceRef, finish_step
from engine.deadlines.rules import deadline_for
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.scripting.datacheck import has_lone_surrogate
from engine.store.changes import NewCase, StepChanges
from engine.store.schema import agencies, cases, petitioners
from engine.store.steps import next_case_id
from engine.workflow import runner, service_tasks

#: Case number prefixes per case type; the number reads as prefix + local date + sequence.
CASE_PREFIXES = {"petition": "P", "hotline": "H", "dispatch": "D", "site_inspection": "S",
                 "council_item": "C", "tracked_item": "T"}

#: The longest description a case takes: a long letter, well inside what a search index keeps per row.
MAX_DESCRIPTION = 10_000

_PETITIONER_FIELDS = ("name", "id_number", "phone", "email", "address")


@dataclass(frozen=True)
class StartCase:
    """Open a case of a type and start the latest deployed version of its process."""

    case_type: str
    process_key: str | None = None
    channel: str | None = None
    category: str | None = None
    district: str | None = None
    subject: str | None = None
    description: str | None = None  # what the petitioner wrote, searched with the subject
    agency_code: str | None = None
    confidential: bool = False
    petitioner: dict | None = None
    petitioner_id: int | None = None  # an existing petitioner (a caller's new case)
    data: dict = field(default_factory=dict)
    received_at: datetime | None = None
    principal: Principal = SYSTEM
    address: str | None = None  # where the problem is, as described (not the petitioner's address)
    latitude: float | None = None  # where the problem is (WGS84), when the report gave a point
    longitude: float | None = None


@dataclass(frozen=True)
class CaseStarted:
    """The case opened, and the work items its workflow is now waiting on."""

    case_id: int
    case_no: str
    instance_id: int
    status: str
    work_item_ids: list


def case_number_prefix(case_type: str, received_at: datetime, zone: ZoneInfo) -> str:
    """The case number up to its sequence: the type's letter and the date in the city's zone, P20261126."""
    prefix = CASE_PREFIXES.get(case_type, case_type[:1].upper())
    return f"{prefix}{received_at.astimezone(zone):%Y%m%d}"


def case_number(case_type: str, received_at: datetime, case_id: int, zone: ZoneInfo) -> str:
    """A readable, unique case number: P20261126000123 (the case id, at least six digits)."""
    return f"{case_number_prefix(case_type, received_at, zone)}{case_id:06d}"


_agency_by_code = select(agencies.c.id).where(agencies.c.code == bindparam("code"))


def _agency_id(conn, code: str | None) -> int | None:
    if code is None:
        return None
    found = conn.execute(_agency_by_code, {"code": code}).scalar_one_or_none()
    if found is None:
        raise InvalidInput(f"agency {code!r} does not exist", details={"fields": {"agency_code": ["unknown agency"]}})
    return found


def _deadline(uow, cmd: StartCase, received_at: datetime):
    """The case's deadline under the rules (以案管制), or None when no rule covers its type."""
    try:
        return deadline_for(uow, cmd.case_type, received_at, channel=cmd.channel, category=cmd.category)
    except NotFound:
        return None


def _text_problems(table, values: dict, prefix: str = "") -> dict[str, list[str]]:
    """What is wrong with text values for a table's columns: not text, too long, or holding NUL.

    Checked before anything is written, the same on SQLite (which would store any length) and
    PostgreSQL (which would refuse the statement, with the values in its error).
    """
    problems = {}
    for key, value in values.items():
        if value is None:
            continue
        column = table.c[key]
        limit = getattr(column.type, "length", None)
        if not isinstance(value, str):
            problems[prefix + key] = ["must be text"]
        elif "\x00" in value:
            problems[prefix + key] = ["must not contain NUL characters"]
        elif has_lone_surrogate(value):
            problems[prefix + key] = ["must not contain lone surrogate characters (not UTF-8 text)"]
        elif limit is not None and len(value) > limit:
            problems[prefix + key] = [f"at most {limit} characters"]
    return problems


def _check_texts(cmd: StartCase) -> None:
    problems = _text_problems(cases, {"case_type": cmd.case_type, "channel": cmd.channel, "category": cmd.category,
                                      "district": cmd.district, "subject": cmd.subject, "address": cmd.address})
    problems.update(_text_problems(cases, {"description": cmd.description}))
    if "description" not in problems and cmd.description is not None and len(cmd.description) > MAX_DESCRIPTION:
        problems["description"] = [f"at most {MAX_DESCRIPTION} characters"]
    if cmd.petitioner:
        unknown = set(cmd.petitioner) - set(_PETITIONER_FIELDS)
        if unknown:
            raise InvalidInput("unknown petitioner fields", details={"fields": {k: ["unknown field"] for k in unknown}})
        problems.update(_text_problems(petitioners, cmd.petitioner, "petitioner."))
    if cmd.received_at is not None and (not isinstance(cmd.received_at, datetime)
                                        or cmd.received_at.utcoffset() is None):
        problems["received_at"] = ["must be a date and time with its UTC offset"]
    try:
        location.check_point(cmd.latitude, cmd.longitude)
    except InvalidInput as exc:
        problems.update({{"lat": "latitude", "long": "longitude"}[k]: v for k, v in exc.details["fields"].items()})
    if problems:
        raise InvalidInput("the case has fields that cannot be stored", details={"fields": problems})


def _place(cmd: StartCase) -> dict:
    """The case's point and grid cell (all None without a point)."""
    point = location.check_point(cmd.latitude, cmd.longitude)
    if point is None:
        return {"address": cmd.address, "latitude": None, "longitude": None, "geo_cell": None}
    return {"address": cmd.address, "latitude": point[0], "longitude": point[1], "geo_cell": location.geo_cell(*point)}


#: The roles that take cases in: 1999 operators, the commission's dispatchers and reviewers
#: (site inspections), council liaisons (council items), caseworkers (a letter at the counter), and
#: citizens' apps reporting through Open311.
INTAKE_ROLES = frozenset({"operator", "dispatcher", "reviewer", "council_liaison", "caseworker",
                          "open311_app"})  # a citizens' app with an Open311 key (engine/services/open311.py)


def may_take_in(principal: Principal) -> bool:
    """True if the principal may open cases (an administrator and the engine may)."""
    return principal.is_admin or any(role in INTAKE_ROLES for role, _ in principal.roles)


def start_case(cmd: StartCase, uow) -> CaseStarted:
    """Open a case and run its workflow to the first wait.

    Raises Forbidden for a principal who takes in no cases, InvalidInput, or NotFound if no
    process is deployed.
    """
    if not may_take_in(cmd.principal):
        raise Forbidden("cases are taken in by operators, dispatchers, reviewers, council liaisons and caseworkers")
    runner.check_data(cmd.data)
    _check_texts(cmd)
    conn = uow.conn
    process_key = cmd.process_key or cmd.case_type
    definition_id = uow.specs.latest_id(conn, process_key)
    if definition_id is None:
        raise NotFound(f"no process {process_key!r} is deployed")
    definition = uow.specs.get(conn, definition_id)
    now = uow.clock.now()
    received_at = cmd.received_at or now
    agency_id = _agency_id(conn, cmd.agency_code)
    deadline = _deadline(uow, cmd, received_at)
    case_row = {"case_type": cmd.case_type, "channel": cmd.channel, "category": cmd.category,
                "district": cmd.district, "subject": cmd.subject, "description": cmd.description,
                "status": "open",
                "confidential": cmd.confidential, "agency_id": agency_id, "petitioner_id": cmd.petitioner_id,
                "received_at": received_at, "due_at": deadline.due_at if deadline else None,
                "created_at": now, "updated_at": now, **_place(cmd)}
    case_id = next_case_id(uow)
    case_no = case_number(cmd.case_type, received_at, case_id, uow.zone)
    case_row.update(id=case_id, case_no=case_no, closed_at=None)
    changes = StepChanges(case_id, now, new_case=NewCase(case_row, dict(cmd.petitioner) if cmd.petitioner else None))
    data = {**cmd.data, "case_id": case_id, "case_no": case_no, "case_type": cmd.case_type,
            "channel": cmd.channel, "category": cmd.category, "district": cmd.district,
            "received_at": received_at.isoformat()}
    events = changes.events
    events.append(event(case_id, now, "case_received", actor_id=cmd.principal.user_id,
                        process=process_key, version=definition.version, channel=cmd.channel))
    if deadline is not None:
        # Diagrams read `due_at` in timer expressions; the full terms travel with the case.
        data.update(due_at=deadline.due_at.isoformat(), deadline=deadline.to_data())
        events.append(event(case_id, now, "deadline_set", rule=deadline.rule_code, rule_id=deadline.rule_id,
                            due_at=deadline.due_at.isoformat(), limit=deadline.limit, unit=deadline.unit))
    due_at = deadline.due_at if deadline else None
    context = service_tasks.StepContext(uow, changes, agency_id, cmd.principal.user_id, due_at, case_no=case_no,
                                        petitioner_id=cmd.petitioner_id, new_petitioner=changes.new_case.petitioner)
    with service_tasks.step(context):
        workflow = runner.start(definition, data, uow.script_engine, uow.clock)
    ref = InstanceRef(None, case_id, definition_id, 0, context.agency_id, is_new=True, due_at=context.due_at)
    result = finish_step(uow, ref, workflow, changes)
    return CaseStarted(case_id, case_no, result.instance_id, result.status, result.opened)
