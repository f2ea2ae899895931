"""Administering groups: a group is a role held in an agency (or one of its units), or for every
agency; its members hold that role from their next request on (engine.queries.principals), so a
change of membership applies to open work at once."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, delete, insert, select

from engine.accounts.identity import Principal
from engine.accounts.roles import ADMIN_ROLE, AGENCY_ROLES, HELD_EVERYWHERE, ROLES
from engine.errors import Conflict, NotFound
from engine.store.schema import agencies, group_members, groups, units

from .directory import (
    Problems,
    agency_by_code,
    check_admins_remain,
    record,
    require_admin,
    unit_by_code,
    user_or_not_found,
)


@dataclass(frozen=True)
class CreateGroup:
    """Make a group holding a role in an agency or one of its units (or, for the commission's and
    the system's roles, for every agency)."""

    principal: Principal
    code: str
    name: str
    role: str
    agency_code: str | None = None
    unit_code: str | None = None


@dataclass(frozen=True)
class AddMember:
    """Put a user in a group: they hold its role from their next request on."""

    principal: Principal
    group_code: str
    user_id: int


@dataclass(frozen=True)
class RemoveMember:
    """Take a user out of a group: they no longer hold its role from their next request on."""

    principal: Principal
    group_code: str
    user_id: int


@dataclass(frozen=True)
class GrantRole:
    """Give a user a role in an agency (or unit): put them in that role's group there, made if none."""

    principal: Principal
    user_id: int
    role: str
    agency_code: str | None = None
    unit_code: str | None = None


@dataclass(frozen=True)
class RevokeRole:
    """Take a role from a user: out of every group of that role in that agency (or only that unit)."""

    principal: Principal
    user_id: int
    role: str
    agency_code: str | None = None
    unit_code: str | None = None


_group = (select(groups.c.id, groups.c.code, groups.c.role, agencies.c.code.label("agency"),
                 units.c.code.label("unit"))
          .outerjoin(agencies, agencies.c.id == groups.c.agency_id).outerjoin(units, units.c.id == groups.c.unit_id))


def create_group(cmd: CreateGroup, uow) -> int:
    """Make the group and return its id; raises Forbidden, InvalidInput (an unknown role, or one held
    where it cannot be), Conflict (the code is taken)."""
    require_admin(cmd.principal, "make groups")
    conn, problems = uow.conn, Problems()
    problems.code("code", cmd.code)
    name = problems.text("name", cmd.name, groups.c.name)
    agency_id, unit_id = _where_held(conn, problems, cmd.role, cmd.agency_code, cmd.unit_code)
    problems.check("the group cannot be made")
    if conn.execute(select(groups.c.id).where(groups.c.code == cmd.code)).first() is not None:
        raise Conflict(f"a group has the code {cmd.code!r} already", details={"fields": {"code": ["taken"]}})
    return _insert_group(uow, cmd.principal, cmd.code, name, cmd.role, agency_id, unit_id,
                         cmd.agency_code, cmd.unit_code)


def add_member(cmd: AddMember, uow) -> bool:
    """Add the user to the group; False if they were in it. Raises Forbidden, NotFound, InvalidInput
    (a closed account)."""
    require_admin(cmd.principal, "change groups")
    group = _group_or_not_found(uow.conn, cmd.group_code)
    return _add(uow, cmd.principal, group, cmd.user_id)


def remove_member(cmd: RemoveMember, uow) -> bool:
    """Take the user out of the group; False if they were not in it. Raises Forbidden, NotFound,
    Conflict (the last administrator)."""
    require_admin(cmd.principal, "change groups")
    conn = uow.conn
    group = _group_or_not_found(conn, cmd.group_code)
    user_or_not_found(conn, cmd.user_id)
    return _remove(uow, cmd.principal, [group], cmd.user_id) == 1


def grant_role(cmd: GrantRole, uow) -> int:
    """Put the user in the role's group of that agency (or unit), made if there is none; returns the
    group's id. Raises Forbidden, NotFound (the user), InvalidInput (as for CreateGroup, or a closed
    account)."""
    require_admin(cmd.principal, "grant roles")
    conn, problems = uow.conn, Problems()
    agency_id, unit_id = _where_held(conn, problems, cmd.role, cmd.agency_code, cmd.unit_code)
    problems.check("the role cannot be granted")
    user_or_not_found(conn, cmd.user_id)
    found = conn.execute(_group.where(groups.c.role == cmd.role, _same(groups.c.agency_id, agency_id),
                                      _same(groups.c.unit_id, unit_id)).order_by(groups.c.id).limit(1)).first()
    if found is None:
        group_id = _insert_group(uow, cmd.principal, *_new_group(conn, cmd.role, agency_id, unit_id),
                                 cmd.role, agency_id, unit_id, cmd.agency_code, cmd.unit_code)
        found = conn.execute(_group.where(groups.c.id == group_id)).one()
    _add(uow, cmd.principal, found, cmd.user_id)
    return found.id


def revoke_role(cmd: RevokeRole, uow) -> int:
    """Take the user out of every group of the role in that agency (only that unit's, when one is
    named); returns how many groups they left. Raises Forbidden, NotFound, InvalidInput, Conflict
    (the last administrator)."""
    require_admin(cmd.principal, "revoke roles")
    conn, problems = uow.conn, Problems()
    if not _known(cmd.role):
        problems.add("role", f"one of {', '.join(ROLES)}")
    agency_id = None if cmd.agency_code is None else agency_by_code(conn, problems, "agency_code", cmd.agency_code)
    unit_id = None
    if cmd.unit_code is not None and "agency_code" not in problems.fields:
        unit_id = unit_by_code(conn, problems, "unit_code", agency_id, cmd.unit_code)
    problems.check("the role cannot be revoked")
    user_or_not_found(conn, cmd.user_id)
    held = conn.execute(_group.join(group_members, group_members.c.group_id == groups.c.id)
                        .where(group_members.c.user_id == cmd.user_id, groups.c.role == cmd.role,
                               _same(groups.c.agency_id, agency_id),
                               *([groups.c.unit_id == unit_id] if unit_id is not None else []))
                        .order_by(groups.c.id)).all()
    return _remove(uow, cmd.principal, held, cmd.user_id)


def _where_held(conn, problems: Problems, role, agency_code, unit_code) -> tuple[int | None, int | None]:
    """The agency and unit ids a group of the role is held in, every problem with them noted."""
    if not _known(role):
        problems.add("role", f"one of {', '.join(ROLES)}")
    elif role in HELD_EVERYWHERE:
        for field, value in (("agency_code", agency_code), ("unit_code", unit_code)):
            if value is not None:
                problems.add(field, f"{role} is held for every agency: name no agency or unit")
        return None, None
    elif role in AGENCY_ROLES and agency_code is None:
        problems.add("agency_code", f"{role} is held in an agency: name it")
    agency_id = None if agency_code is None else agency_by_code(conn, problems, "agency_code", agency_code)
    unit_id = None
    if unit_code is not None and "agency_code" not in problems.fields:
        unit_id = unit_by_code(conn, problems, "unit_code", agency_id, unit_code)
    return agency_id, unit_id


def _known(role) -> bool:
    return isinstance(role, str) and role in ROLES


def _same(column, value):
    return column.is_(None) if value is None else column == value


def _new_group(conn, role: str, agency_id: int | None, unit_id: int | None) -> tuple[str, str]:
    """A code and a name for a group made by GrantRole: caseworker@public_works.roads, 承辦人..."""
    if agency_id is None:
        code, name = f"{role}@central", f"{role} (every agency)"
    else:
        agency = conn.execute(select(agencies.c.code, agencies.c.name).where(agencies.c.id == agency_id)).one()
        unit = None if unit_id is None else conn.execute(
            select(units.c.code, units.c.name).where(units.c.id == unit_id)).one()
        code = f"{role}@{agency.code}" + (f".{unit.code}" if unit else "")
        name = f"{role} {agency.name}" + (f" {unit.name}" if unit else "")
    taken = set(conn.execute(select(groups.c.code).where(groups.c.code.like(f"{code}%"))).scalars())
    suffix = next(n for n in range(1, len(taken) + 2) if (code if n == 1 else f"{code}-{n}") not in taken)
    return (code if suffix == 1 else f"{code}-{suffix}")[:groups.c.code.type.length], name[:groups.c.name.type.length]


def _insert_group(uow, principal, code, name, role, agency_id, unit_id, agency_code, unit_code) -> int:
    group_id = uow.conn.execute(insert(groups).returning(groups.c.id), {
        "code": code, "name": name, "role": role, "agency_id": agency_id, "unit_id": unit_id}).scalar_one()
    record(uow.conn, principal, uow.clock.now(), "group_created", ("group", group_id),
           {"code": code, "name": name, "role": role, "agency": agency_code, "unit": unit_code})
    return group_id


def _group_or_not_found(conn, code):
    row = conn.execute(_group.where(groups.c.code == code)).one_or_none() if isinstance(code, str) else None
    if row is None:
        raise NotFound(f"group {code!r} does not exist")
    return row


def _add(uow, principal, group, user_id: int) -> bool:
    conn = uow.conn
    user = user_or_not_found(conn, user_id)
    if not user.active:
        problems = Problems()
        problems.add("user_id", "the account is closed; reopen it first")
        problems.check(f"{user.username} cannot join a group")
    member = and_(group_members.c.group_id == group.id, group_members.c.user_id == user.id)
    if conn.execute(select(group_members.c.user_id).where(member)).first() is not None:
        return False
    conn.execute(insert(group_members), {"group_id": group.id, "user_id": user.id})
    record(conn, principal, uow.clock.now(), "member_added", ("user", user.id), _membership(group))
    return True


def _remove(uow, principal, held: list, user_id: int) -> int:
    conn = uow.conn
    held = [g for g in held if conn.execute(select(group_members.c.user_id).where(
        group_members.c.group_id == g.id, group_members.c.user_id == user_id)).first() is not None]
    if any(g.role == ADMIN_ROLE for g in held):
        check_admins_remain(conn, user_id=user_id, group_ids={g.id for g in held if g.role == ADMIN_ROLE})
    now = uow.clock.now()
    for g in held:
        conn.execute(delete(group_members).where(group_members.c.group_id == g.id,
                                                 group_members.c.user_id == user_id))
        record(conn, principal, now, "member_removed", ("user", user_id), _membership(g))
    return len(held)


def _membership(group) -> dict:
    return {"group": group.code, "role": group.role, "agency": group.agency, "unit": group.unit}
