"""Administering the organisation: agencies (the commission, bureaus, district offices) and their units."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, insert, select, update

from engine.accounts.identity import Principal
from engine.errors import Conflict, NotFound
from engine.store.schema import agencies, cases, units

from .directory import UNCHANGED, Problems, agency_or_not_found, record, require_admin

#: The kinds of agency: the commission (研考會, one, whose chiefs chase late work everywhere),
#: the city's bureaus (局處), district offices (區公所) and other offices (處, 中心).
AGENCY_KINDS = ("commission", "bureau", "district_office", "office")


@dataclass(frozen=True)
class CreateAgency:
    """Add an agency that cases can be routed to."""

    principal: Principal
    code: str
    name: str
    kind: str = "bureau"


@dataclass(frozen=True)
class UpdateAgency:
    """Rename an agency, change its kind, or close or reopen it; its code never changes."""

    principal: Principal
    code: str
    name: str = UNCHANGED
    kind: str = UNCHANGED
    active: bool = UNCHANGED


@dataclass(frozen=True)
class CreateUnit:
    """Add a unit (科, 課, 隊) to an agency."""

    principal: Principal
    agency_code: str
    code: str
    name: str


@dataclass(frozen=True)
class UpdateUnit:
    """Rename a unit."""

    principal: Principal
    agency_code: str
    code: str
    name: str


def create_agency(cmd: CreateAgency, uow) -> int:
    """Add the agency and return its id; raises Forbidden, InvalidInput, Conflict (the code is taken,
    or a second commission)."""
    require_admin(cmd.principal, "add agencies")
    conn, problems = uow.conn, Problems()
    problems.code("code", cmd.code)
    name = problems.text("name", cmd.name, agencies.c.name)
    _check_kind(problems, cmd.kind)
    problems.check("the agency cannot be added")
    if conn.execute(select(agencies.c.id).where(agencies.c.code == cmd.code)).first() is not None:
        raise Conflict(f"an agency has the code {cmd.code!r} already", details={"fields": {"code": ["taken"]}})
    if cmd.kind == "commission":
        _check_one_commission(conn)
    agency_id = conn.execute(insert(agencies).returning(agencies.c.id),
                             {"code": cmd.code, "name": name, "kind": cmd.kind}).scalar_one()
    record(conn, cmd.principal, uow.clock.now(), "agency_created", ("agency", agency_id),
           {"code": cmd.code, "name": name, "kind": cmd.kind})
    _forget_cached_agencies(uow)
    return agency_id


def update_agency(cmd: UpdateAgency, uow) -> tuple[str, ...]:
    """Apply the fields given and return the names of those that changed; raises Forbidden, NotFound,
    InvalidInput, Conflict (closing an agency with open cases, or a second commission)."""
    require_admin(cmd.principal, "change agencies")
    conn, problems = uow.conn, Problems()
    agency = agency_or_not_found(conn, cmd.code)
    new = {}
    if cmd.name is not UNCHANGED:
        new["name"] = problems.text("name", cmd.name, agencies.c.name)
    if cmd.kind is not UNCHANGED:
        new["kind"] = _check_kind(problems, cmd.kind)
    if cmd.active is not UNCHANGED:
        new["active"] = problems.flag("active", cmd.active)
    problems.check("the agency cannot be changed")
    changed = {name: value for name, value in new.items() if getattr(agency, name) != value}
    if not changed:
        return ()
    if changed.get("kind") == "commission" or (changed.get("active") and agency.kind == "commission"):
        _check_one_commission(conn)
    if changed.get("active") is False:
        open_cases = conn.execute(select(func.count()).select_from(cases)
                                  .where(cases.c.agency_id == agency.id, cases.c.status == "open")).scalar_one()
        if open_cases:
            raise Conflict(f"agency {cmd.code!r} has {open_cases} open cases; transfer them before closing it")
    conn.execute(update(agencies).where(agencies.c.id == agency.id).values(**changed))
    record(conn, cmd.principal, uow.clock.now(), "agency_updated", ("agency", agency.id), changed)
    _forget_cached_agencies(uow)
    return tuple(changed)


def create_unit(cmd: CreateUnit, uow) -> int:
    """Add the unit and return its id; raises Forbidden, NotFound (the agency), InvalidInput, Conflict."""
    require_admin(cmd.principal, "add units")
    conn, problems = uow.conn, Problems()
    agency = agency_or_not_found(conn, cmd.agency_code)
    problems.code("code", cmd.code)
    name = problems.text("name", cmd.name, units.c.name)
    problems.check("the unit cannot be added")
    if _unit(conn, agency.id, cmd.code) is not None:
        raise Conflict(f"agency {cmd.agency_code!r} has a unit {cmd.code!r} already",
                       details={"fields": {"code": ["taken"]}})
    unit_id = conn.execute(insert(units).returning(units.c.id),
                           {"agency_id": agency.id, "code": cmd.code, "name": name}).scalar_one()
    record(conn, cmd.principal, uow.clock.now(), "unit_created", ("unit", unit_id),
           {"agency": cmd.agency_code, "code": cmd.code, "name": name})
    return unit_id


def update_unit(cmd: UpdateUnit, uow) -> bool:
    """Rename the unit; False if the name was already so. Raises Forbidden, NotFound, InvalidInput."""
    require_admin(cmd.principal, "change units")
    conn, problems = uow.conn, Problems()
    agency = agency_or_not_found(conn, cmd.agency_code)
    unit = _unit(conn, agency.id, cmd.code)
    if unit is None:
        raise NotFound(f"agency {cmd.agency_code!r} has no unit {cmd.code!r}")
    name = problems.text("name", cmd.name, units.c.name)
    problems.check("the unit cannot be changed")
    if name == unit.name:
        return False
    conn.execute(update(units).where(units.c.id == unit.id).values(name=name))
    record(conn, cmd.principal, uow.clock.now(), "unit_updated", ("unit", unit.id), {"name": name})
    return True


def _forget_cached_agencies(uow) -> None:
    """Steps and the escalation ladder cache agency ids and the commission: drop them now and after
    the commit (a reader may have cached the old rows meanwhile)."""
    if uow.cache is not None:
        uow.cache.clear()
        uow.after_commit(uow.cache.clear)


def _unit(conn, agency_id: int, code):
    return conn.execute(select(units.c.id, units.c.name)
                        .where(units.c.agency_id == agency_id, units.c.code == code)).one_or_none()


def _check_kind(problems: Problems, kind) -> str | None:
    if kind not in AGENCY_KINDS:
        problems.add("kind", f"one of {', '.join(AGENCY_KINDS)}")
        return None
    return kind


def _check_one_commission(conn) -> None:
    """Raises Conflict when an active commission exists: the escalation ladder knows only one."""
    existing = conn.execute(select(agencies.c.code).where(agencies.c.kind == "commission",
                                                          agencies.c.active.is_(True))).first()
    if existing is not None:
        raise Conflict(f"agency {existing.code!r} is the commission already; there is only one")
