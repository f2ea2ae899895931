"""Open a case: the case row, its petitioner, and its workflow run to the first wait."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Text, bindparam, func, insert, literal_column, select

from .. import actions, runner, step_sql
from ..deadlines import deadline_for
from ..errors import InvalidInput, NotFound
from ..identity import SYSTEM, Principal
from ..history import event
from ..instances import InstanceRef, persist_step
from ..schema import agencies, cases, petitioners
from ..scripting.datacheck import has_lone_surrogate

#: Case number prefixes per case type; the number reads as prefix + local date + sequence.
CASE_PREFIXES = {"petition": "P", "hotline": "H", "dispatch": "D", "site_inspection": "S",
                 "council_item": "C"}

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
    agency_code: str | None = None
    confidential: bool = False
    petitioner: dict | None = None
    petitioner_id: int | None = None  # an existing petitioner (a caller's new case)
    data: dict = field(default_factory=dict)
    received_at: datetime | None = None
    principal: Principal = SYSTEM


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


_insert_petitioner = insert(petitioners).returning(petitioners.c.id)
_CASE_FIELDS = [cases.c[name] for name in (
    "case_type", "channel", "category", "district", "subject", "status", "confidential", "agency_id",
    "petitioner_id", "received_at", "due_at", "created_at", "updated_at")]


def _new_case_source():
    new = select((func.coalesce(func.max(cases.c.id), 0) + 1).label("id")).subquery("new_case")
    return select(new.c.id, bindparam("prefix", type_=Text).concat(func.printf("%06d", new.c.id)),
                  *[bindparam(c.name, type_=c.type) for c in _CASE_FIELDS]).select_from(new)


#: SQLite: INSERT ... SELECT that takes the next id and writes the case number made from it, in
#: one statement: `prefix || id padded to six digits`, as case_number() writes it. Safe because a
#: unit of work there holds the write lock from its first statement (BEGIN IMMEDIATE). PostgreSQL
#: draws the id from the table's sequence first (_hold_case_back).
_insert_case = (insert(cases).from_select(["id", "case_no", *[c.name for c in _CASE_FIELDS]], _new_case_source())
                .returning(cases.c.id, cases.c.case_no))
_agency_by_code = select(agencies.c.id).where(agencies.c.code == bindparam("code"))
_next_case_id = select(func.nextval(literal_column("'cases_id_seq'")))
_insert_case_row = insert(cases)


def _hold_case_back(uow, cmd: StartCase, row: dict) -> tuple[int, str]:
    """PostgreSQL: draw the case id now; the petitioner and case rows go in with the step's statement.

    Should anything run a statement before that (an engine action of the first step), the rows
    are written first, on their own (UnitOfWork.defer).
    """
    case_id = uow.conn.execute(_next_case_id).scalar_one()
    row.update(id=case_id, case_no=case_number(cmd.case_type, row["received_at"], case_id, uow.zone))
    if cmd.petitioner:
        uow.defer((step_sql.PETITIONER, case_id), {**cmd.petitioner, "created_at": row["created_at"]},
                  lambda conn, values: row.update(
                      petitioner_id=conn.execute(_insert_petitioner, values).scalar_one()))
    uow.defer((step_sql.CASE, case_id), row, lambda conn, values: conn.execute(_insert_case_row, values))
    return case_id, row["case_no"]


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
                                      "district": cmd.district, "subject": cmd.subject})
    if cmd.petitioner:
        unknown = set(cmd.petitioner) - set(_PETITIONER_FIELDS)
        if unknown:
            raise InvalidInput("unknown petitioner fields", details={"fields": {k: ["unknown field"] for k in unknown}})
        problems.update(_text_problems(petitioners, cmd.petitioner, "petitioner."))
    if cmd.received_at is not None and (not isinstance(cmd.received_at, datetime)
                                        or cmd.received_at.utcoffset() is None):
        problems["received_at"] = ["must be a date and time with its UTC offset"]
    if problems:
        raise InvalidInput("the case has fields that cannot be stored", details={"fields": problems})


def start_case(cmd: StartCase, uow) -> CaseStarted:
    """Open a case and run its workflow to the first wait; raises NotFound if no process is deployed."""
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
                "district": cmd.district, "subject": cmd.subject, "status": "open",
                "confidential": cmd.confidential, "agency_id": agency_id, "petitioner_id": cmd.petitioner_id,
                "received_at": received_at, "due_at": deadline.due_at if deadline else None,
                "created_at": now, "updated_at": now}
    if uow.dialect == "postgresql":
        case_id, case_no = _hold_case_back(uow, cmd, case_row)
    else:
        if cmd.petitioner:
            case_row["petitioner_id"] = conn.execute(
                _insert_petitioner, {**cmd.petitioner, "created_at": now}).scalar_one()
        case_id, case_no = conn.execute(_insert_case, {
            "prefix": case_number_prefix(cmd.case_type, received_at, uow.zone), **case_row}).one()
    data = {**cmd.data, "case_id": case_id, "case_no": case_no, "case_type": cmd.case_type,
            "channel": cmd.channel, "category": cmd.category, "district": cmd.district,
            "received_at": received_at.isoformat()}
    events = [event(case_id, now, "case_received", actor_id=cmd.principal.user_id,
                    process=process_key, version=definition.version, channel=cmd.channel)]
    if deadline is not None:
        # Diagrams read `due_at` in timer expressions; the full terms travel with the case.
        data.update(due_at=deadline.due_at.isoformat(), deadline=deadline.to_data())
        events.append(event(case_id, now, "deadline_set", rule=deadline.rule_code, rule_id=deadline.rule_id,
                            due_at=deadline.due_at.isoformat(), limit=deadline.limit, unit=deadline.unit))
    due_at = deadline.due_at if deadline else None
    with actions.step(actions.StepContext(uow, case_id, agency_id, cmd.principal.user_id, events, due_at)) as ctx:
        workflow = runner.start(definition, data, uow.script_engine, uow.clock)
    ref = InstanceRef(None, case_id, definition_id, 0, ctx.agency_id, is_new=True, due_at=ctx.due_at)
    result = persist_step(uow, ref, workflow, events)
    return CaseStarted(case_id, case_no, result.instance_id, result.status, result.opened)
