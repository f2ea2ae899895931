"""What the administration commands share: the administrator check, field checks, look-ups by
code, and the record of every change (admin_events).

The commands themselves are in engine.services.staff (users), engine.services.organisation
(agencies and units) and engine.services.groups (groups, membership, roles). Each refuses a
principal who is not an administrator (Forbidden) and bad input with every bad field named
(InvalidInput) before it changes anything.
"""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import and_, func, insert, select

from engine.accounts.identity import Principal
from engine.accounts.roles import ADMIN_ROLE
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.store.schema import admin_events, agencies, group_members, groups, units, users


class _Unchanged:
    """The default of an update's fields: leave the stored value as it is."""

    def __repr__(self) -> str:
        return "UNCHANGED"


#: An update command's field left at this keeps its stored value (None would clear it).
UNCHANGED = _Unchanged()

#: A user name: 3 to 64 lowercase letters, digits, dots, dashes and underscores, starting with a
#: letter or digit (cw.roads, rv-chen_2): easy to type, with no two spellings of one name.
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")

#: A code of an agency, unit or group: 1 to 64 lowercase letters, digits, dots, dashes,
#: underscores and @, starting with a letter or digit (public_works, roads, caseworker@public_works).
CODE = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")

#: An e-mail address as far as it can be told without sending to it: one @, a dot in the domain.
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def require_admin(principal: Principal, what: str) -> None:
    """Raises Forbidden unless the principal is an administrator."""
    if not principal.is_admin:
        raise Forbidden(f"only an administrator may {what}")


class Problems:
    """Bad fields found so far; `check` raises them all at once as InvalidInput."""

    def __init__(self):
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def check(self, message: str) -> None:
        """Raises InvalidInput naming every bad field, if any."""
        if self.fields:
            raise InvalidInput(message, details={"fields": self.fields})

    def text(self, field: str, value, column, *, required: bool = True) -> str | None:
        """The value stripped, or None when blank and not required; notes one too long or missing."""
        value = value.strip() if isinstance(value, str) else value
        if value is None or value == "":
            if required:
                self.add(field, "required")
            return None
        if not isinstance(value, str) or len(value) > column.type.length:
            self.add(field, f"text of at most {column.type.length} characters")
            return None
        return value

    def code(self, field: str, value) -> str | None:
        """The code, or None with the field noted when it is not a code."""
        if not isinstance(value, str) or not CODE.fullmatch(value):
            self.add(field, "1 to 64 lowercase letters, digits, '.', '_', '-' or '@', starting with a letter or digit")
            return None
        return value

    def email(self, field: str, value) -> str | None:
        """The address stripped (None when blank), or None with the field noted when it is not one."""
        value = self.text(field, value, users.c.email, required=False)
        if value is not None and not EMAIL.fullmatch(value):
            self.add(field, "an e-mail address such as name@city.gov.tw")
            return None
        return value

    def flag(self, field: str, value) -> bool | None:
        """The value if it is a bool, else None with the field noted."""
        if not isinstance(value, bool):
            self.add(field, "true or false")
            return None
        return value


def agency_by_code(conn, problems: Problems, field: str, code) -> int | None:
    """The id of the agency with this code, or None with the field noted (unknown or not a code)."""
    if problems.code(field, code) is None:
        return None
    found = conn.execute(select(agencies.c.id).where(agencies.c.code == code)).scalar_one_or_none()
    if found is None:
        problems.add(field, f"no agency has the code {code!r}")
    return found


def unit_by_code(conn, problems: Problems, field: str, agency_id: int | None, code) -> int | None:
    """The id of the agency's unit with this code, or None with the field noted."""
    if problems.code(field, code) is None or agency_id is None:
        if agency_id is None and field not in problems.fields:
            problems.add(field, "a unit is named within its agency: give the agency too")
        return None
    found = conn.execute(select(units.c.id).where(units.c.agency_id == agency_id, units.c.code == code)) \
        .scalar_one_or_none()
    if found is None:
        problems.add(field, f"the agency has no unit with the code {code!r}")
    return found


def agency_or_not_found(conn, code: str):
    """The agency row with this code; raises NotFound."""
    row = conn.execute(select(agencies).where(agencies.c.code == code)).one_or_none() \
        if isinstance(code, str) else None
    if row is None:
        raise NotFound(f"agency {code!r} does not exist")
    return row


def user_or_not_found(conn, user_id: int):
    """The user row with this id; raises NotFound."""
    row = conn.execute(select(users).where(users.c.id == user_id)).one_or_none() \
        if isinstance(user_id, int) and not isinstance(user_id, bool) else None
    if row is None:
        raise NotFound(f"user {user_id} does not exist")
    return row


def check_admins_remain(conn, *, user_id: int, group_ids=None) -> None:
    """Raises Conflict when taking the user out of these groups (None: closing the account) would
    leave no active administrator, so that the city can always administer petiflow."""
    leaving = users.c.id == user_id
    if group_ids is not None:
        leaving = and_(leaving, group_members.c.group_id.in_(sorted(group_ids)))
    left = conn.execute(
        select(func.count(func.distinct(users.c.id)))
        .select_from(group_members.join(groups, groups.c.id == group_members.c.group_id)
                     .join(users, users.c.id == group_members.c.user_id))
        .where(groups.c.role == ADMIN_ROLE, users.c.active.is_(True), ~leaving)).scalar_one()
    if not left:
        raise Conflict("this would leave petiflow without an active administrator; make another one first")


def record(conn, principal: Principal, at: datetime, kind: str, subject: tuple[str, int], data: dict) -> None:
    """Append one change to the record of administration (never a password or its hash)."""
    conn.execute(insert(admin_events), {"at": at, "actor_id": principal.user_id, "kind": kind,
                                        "subject_type": subject[0], "subject_id": subject[1], "data": data})
