"""The organisation as administrators read it: users, agencies and units, groups and members, the
record of administration; and who a section chief may assign work to.

Every query but `assignable_users` is for administrators only (Forbidden otherwise).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, or_, select

from engine.accounts.identity import Principal
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.store.schema import admin_events, agencies, group_members, groups, units, users

from .visibility import supervision_scope

#: The most users one page lists, and how many when the caller does not say.
MAX_PAGE, DEFAULT_PAGE = 200, 50


@dataclass(frozen=True)
class UserSummary:
    """A user as a list shows them: names, address, home agency and unit, open or closed."""

    id: int
    username: str
    display_name: str
    email: str | None
    active: bool
    agency_code: str | None
    agency_name: str | None
    unit_code: str | None
    unit_name: str | None
    created_at: datetime


@dataclass(frozen=True)
class UserPage:
    """Users in user-name order, and the cursor of the next page (None: this was the last)."""

    users: tuple[UserSummary, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class Membership:
    """A group a user is in, and the role it gives where."""

    group_id: int
    group_code: str
    group_name: str
    role: str
    agency_code: str | None
    agency_name: str | None
    unit_code: str | None
    unit_name: str | None


@dataclass(frozen=True)
class UserDetail:
    """One user with their groups and the (role, agency code) pairs they hold (None: every agency)."""

    user: UserSummary
    has_password: bool
    groups: tuple[Membership, ...]
    roles: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class UnitView:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class AgencyView:
    """An agency and its units, by code."""

    id: int
    code: str
    name: str
    kind: str
    active: bool
    units: tuple[UnitView, ...]


@dataclass(frozen=True)
class GroupView:
    """A group, where its role is held, and how many members it has."""

    id: int
    code: str
    name: str
    role: str
    agency_code: str | None
    agency_name: str | None
    unit_code: str | None
    unit_name: str | None
    member_count: int


@dataclass(frozen=True)
class Member:
    user_id: int
    username: str
    display_name: str
    active: bool


@dataclass(frozen=True)
class AdminEvent:
    """One change in the record of administration: who (None: the system), when, what."""

    id: int
    at: datetime
    actor: str | None
    kind: str
    subject_type: str
    subject_id: int
    data: dict | None


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only an administrator may read the directory")


_summary = (select(users.c.id, users.c.username, users.c.display_name, users.c.email, users.c.active,
                   agencies.c.code, agencies.c.name, units.c.code, units.c.name, users.c.created_at)
            .outerjoin(agencies, agencies.c.id == users.c.agency_id).outerjoin(units, units.c.id == users.c.unit_id))


def _held(user_id_column, *conditions):
    return exists(select(group_members.c.user_id).join(groups, groups.c.id == group_members.c.group_id)
                  .where(group_members.c.user_id == user_id_column, *conditions))


def list_users(uow, principal: Principal, *, agency_code: str | None = None, role: str | None = None,
               active: bool | None = None, text: str | None = None, cursor: str | None = None,
               limit: int = DEFAULT_PAGE) -> UserPage:
    """A page of users in user-name order, narrowed to an agency (their own, or a group held in it),
    a role held (in that agency, when one is named), open or closed accounts, and text in the user
    or display name. Raises Forbidden, InvalidInput (a bad limit or cursor)."""
    _require_admin(principal)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("the page size is out of range", details={"fields": {"limit": [f"1 to {MAX_PAGE}"]}})
    if cursor is not None and not isinstance(cursor, str):
        raise InvalidInput("the cursor is not one a page of this list gave", details={"fields": {"cursor": ["text"]}})
    query = _summary
    in_agency = []
    if agency_code is not None:
        agency_id = select(agencies.c.id).where(agencies.c.code == agency_code).scalar_subquery()
        in_agency = [groups.c.agency_id == agency_id]
        query = query.where(or_(users.c.agency_id == agency_id, _held(users.c.id, *in_agency)))
    if role is not None:
        query = query.where(_held(users.c.id, groups.c.role == role, *in_agency))
    if active is not None:
        query = query.where(users.c.active.is_(active))
    if text and text.strip():
        needle = text.strip().lower()
        query = query.where(or_(func.lower(users.c.username).contains(needle, autoescape=True),
                                func.lower(users.c.display_name).contains(needle, autoescape=True)))
    if cursor is not None:
        query = query.where(users.c.username > cursor)
    rows = uow.conn.execute(query.order_by(users.c.username).limit(limit + 1)).all()
    page = tuple(UserSummary(*row) for row in rows[:limit])
    return UserPage(page, page[-1].username if len(rows) > limit else None)


_memberships = (select(groups.c.id, groups.c.code, groups.c.name, groups.c.role, agencies.c.code, agencies.c.name,
                       units.c.code, units.c.name)
                .join(group_members, group_members.c.group_id == groups.c.id)
                .outerjoin(agencies, agencies.c.id == groups.c.agency_id)
                .outerjoin(units, units.c.id == groups.c.unit_id))


def get_user(uow, principal: Principal, user_id: int) -> UserDetail:
    """One user with their groups and roles; raises Forbidden, NotFound."""
    _require_admin(principal)
    row = uow.conn.execute(_summary.add_columns(users.c.password_hash.is_not(None))
                           .where(users.c.id == user_id)).one_or_none()
    if row is None:
        raise NotFound(f"user {user_id} does not exist")
    held = tuple(Membership(*m) for m in uow.conn.execute(
        _memberships.where(group_members.c.user_id == user_id).order_by(groups.c.role, groups.c.code)))
    roles = tuple(sorted({(m.role, m.agency_code) for m in held}, key=lambda r: (r[0], r[1] or "")))
    return UserDetail(UserSummary(*row[:-1]), bool(row[-1]), held, roles)


def list_agencies(uow, principal: Principal) -> tuple[AgencyView, ...]:
    """Every agency, closed ones too, by code, each with its units by code; raises Forbidden."""
    _require_admin(principal)
    by_agency: dict[int, list] = {}
    for unit in uow.conn.execute(select(units.c.agency_id, units.c.id, units.c.code, units.c.name)
                                 .order_by(units.c.code)):
        by_agency.setdefault(unit.agency_id, []).append(UnitView(unit.id, unit.code, unit.name))
    rows = uow.conn.execute(select(agencies.c.id, agencies.c.code, agencies.c.name, agencies.c.kind,
                                   agencies.c.active).order_by(agencies.c.code))
    return tuple(AgencyView(*row, tuple(by_agency.get(row.id, ()))) for row in rows)


def list_groups(uow, principal: Principal, *, role: str | None = None,
                agency_code: str | None = None) -> tuple[GroupView, ...]:
    """Groups by code with their member counts, narrowed to a role or an agency; raises Forbidden."""
    _require_admin(principal)
    members = (select(func.count()).select_from(group_members)
               .where(group_members.c.group_id == groups.c.id).scalar_subquery())
    query = (select(groups.c.id, groups.c.code, groups.c.name, groups.c.role, agencies.c.code, agencies.c.name,
                    units.c.code, units.c.name, members)
             .outerjoin(agencies, agencies.c.id == groups.c.agency_id)
             .outerjoin(units, units.c.id == groups.c.unit_id).order_by(groups.c.code))
    if role is not None:
        query = query.where(groups.c.role == role)
    if agency_code is not None:
        query = query.where(agencies.c.code == agency_code)
    return tuple(GroupView(*row) for row in uow.conn.execute(query))


def group_members_of(uow, principal: Principal, group_code: str) -> tuple[Member, ...]:
    """The members of a group by user name; raises Forbidden, NotFound."""
    _require_admin(principal)
    group_id = uow.conn.execute(select(groups.c.id).where(groups.c.code == group_code)).scalar_one_or_none()
    if group_id is None:
        raise NotFound(f"group {group_code!r} does not exist")
    rows = uow.conn.execute(select(users.c.id, users.c.username, users.c.display_name, users.c.active)
                            .join(group_members, group_members.c.user_id == users.c.id)
                            .where(group_members.c.group_id == group_id).order_by(users.c.username))
    return tuple(Member(*row) for row in rows)


def assignable_users(uow, principal: Principal, role: str, agency_id: int | None) -> tuple[Member, ...]:
    """The active users holding the role in the agency (or for every agency), by display name: whom
    work of that role and agency (None: central work) may be assigned to.

    For administrators and whoever oversees that agency's open work (its section chiefs and head;
    the commission's for central work); raises Forbidden for anyone else.
    """
    scope = supervision_scope(uow, principal)
    if not (scope.everything or (agency_id in scope.agency_ids if agency_id is not None else scope.central)):
        raise Forbidden("only an administrator or a supervisor of the agency may see whom its work can go to")
    where = groups.c.agency_id.is_(None) if agency_id is None else or_(groups.c.agency_id == agency_id,
                                                                        groups.c.agency_id.is_(None))
    rows = uow.conn.execute(select(users.c.id, users.c.username, users.c.display_name, users.c.active)
                            .where(users.c.active.is_(True), _held(users.c.id, groups.c.role == role, where))
                            .order_by(users.c.display_name, users.c.username))
    return tuple(Member(*row) for row in rows)


def admin_history(uow, principal: Principal, subject_type: str, subject_id: int,
                  limit: int = 100) -> tuple[AdminEvent, ...]:
    """The latest changes to one user, agency, unit or group, newest first; raises Forbidden."""
    _require_admin(principal)
    actor = users.alias("actor")
    rows = uow.conn.execute(
        select(admin_events.c.id, admin_events.c.at, actor.c.username, admin_events.c.kind,
               admin_events.c.subject_type, admin_events.c.subject_id, admin_events.c.data)
        .outerjoin(actor, actor.c.id == admin_events.c.actor_id)
        .where(admin_events.c.subject_type == subject_type, admin_events.c.subject_id == subject_id)
        .order_by(admin_events.c.id.desc()).limit(max(1, min(limit, 1000))))
    return tuple(AdminEvent(*row) for row in rows)
