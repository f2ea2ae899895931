"""Administering staff accounts: create, update, close (deactivate), and reset a password."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.accounts.identity import Principal
from engine.accounts.passwords import hash_password, password_problems
from engine.cases.history import event
from engine.errors import Conflict
from engine.store.schema import access_tokens, agencies, case_events, units, users, work_items

from .directory import (
    UNCHANGED,
    USERNAME,
    Problems,
    agency_by_code,
    check_admins_remain,
    record,
    require_admin,
    unit_by_code,
    user_or_not_found,
)
from .sessions import end_all_sessions


@dataclass(frozen=True)
class CreateUser:
    """Open a staff account, in an agency (and unit) or none; with no password it cannot sign in
    with one (an account signing in through a directory, later)."""

    principal: Principal
    username: str
    display_name: str
    email: str | None = None
    agency_code: str | None = None
    unit_code: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class UpdateUser:
    """Change what is given of a user's name, address, agency and unit, and whether the account is
    open; a field left UNCHANGED keeps its value, None clears it."""

    principal: Principal
    user_id: int
    display_name: str = UNCHANGED
    email: str | None = UNCHANGED
    agency_code: str | None = UNCHANGED
    unit_code: str | None = UNCHANGED
    active: bool = UNCHANGED


@dataclass(frozen=True)
class DeactivateUser:
    """Close an account: it can no longer sign in, and its access tokens are revoked for good."""

    principal: Principal
    user_id: int


@dataclass(frozen=True)
class SetPassword:
    """Set a user's password (an administrator's reset)."""

    principal: Principal
    user_id: int
    password: str


def create_user(cmd: CreateUser, uow) -> int:
    """Open the account and return its id; raises Forbidden, InvalidInput, Conflict (the name is taken)."""
    require_admin(cmd.principal, "open accounts")
    conn, problems = uow.conn, Problems()
    if not isinstance(cmd.username, str) or not USERNAME.fullmatch(cmd.username):
        problems.add("username", "3 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")
    display_name = problems.text("display_name", cmd.display_name, users.c.display_name)
    email = problems.email("email", cmd.email)
    agency_id = None if cmd.agency_code is None else agency_by_code(conn, problems, "agency_code", cmd.agency_code)
    unit_id = None
    if cmd.unit_code is not None and "agency_code" not in problems.fields:
        unit_id = unit_by_code(conn, problems, "unit_code", agency_id, cmd.unit_code)
    if cmd.password is not None:
        for problem in password_problems(cmd.password, cmd.username if isinstance(cmd.username, str) else None):
            problems.add("password", problem)
    problems.check("the account cannot be opened")
    if conn.execute(select(users.c.id).where(users.c.username == cmd.username)).first() is not None:
        raise Conflict(f"the user name {cmd.username!r} is taken", details={"fields": {"username": ["taken"]}})
    now = uow.clock.now()
    try:
        user_id = conn.execute(insert(users).returning(users.c.id), {
            "username": cmd.username, "display_name": display_name, "email": email,
            "password_hash": None if cmd.password is None else hash_password(cmd.password),
            "agency_id": agency_id, "unit_id": unit_id, "created_at": now}).scalar_one()
    except IntegrityError:  # opened by someone else since the check
        raise Conflict(f"the user name {cmd.username!r} is taken", details={"fields": {"username": ["taken"]}}) \
            from None
    record(conn, cmd.principal, now, "user_created", ("user", user_id), {
        "username": cmd.username, "display_name": display_name, "email": email, "agency": cmd.agency_code,
        "unit": cmd.unit_code, "password_set": cmd.password is not None})
    return user_id


def update_user(cmd: UpdateUser, uow) -> tuple[str, ...]:
    """Apply the fields given and return the names of those that changed; moving a user to another
    agency drops a unit of the old one. Raises Forbidden, NotFound, InvalidInput, Conflict (closing
    the last administrator's account, or one's own)."""
    require_admin(cmd.principal, "change accounts")
    conn, problems = uow.conn, Problems()
    user = user_or_not_found(conn, cmd.user_id)
    new = {}
    if cmd.display_name is not UNCHANGED:
        new["display_name"] = problems.text("display_name", cmd.display_name, users.c.display_name)
    if cmd.email is not UNCHANGED:
        new["email"] = problems.email("email", cmd.email)
    agency_id = user.agency_id
    if cmd.agency_code is not UNCHANGED:
        agency_id = None if cmd.agency_code is None else agency_by_code(conn, problems, "agency_code",
                                                                         cmd.agency_code)
        new["agency_id"] = agency_id
        if cmd.unit_code is UNCHANGED and user.unit_id is not None and user.agency_id != agency_id:
            new["unit_id"] = None
    if cmd.unit_code is not UNCHANGED and "agency_code" not in problems.fields:
        new["unit_id"] = None if cmd.unit_code is None else unit_by_code(conn, problems, "unit_code", agency_id,
                                                                         cmd.unit_code)
    if cmd.active is not UNCHANGED:
        new["active"] = problems.flag("active", cmd.active)
    problems.check("the account cannot be changed")
    changed = {name: value for name, value in new.items() if getattr(user, name) != value}
    if changed.get("active") is False:
        _check_may_close(conn, cmd.principal, user.id)
    if not changed:
        return ()
    conn.execute(update(users).where(users.c.id == user.id).values(**changed))
    now = uow.clock.now()
    closing = changed.get("active") is False
    revoked = _revoke_tokens(conn, user.id, now) if closing else 0
    returned = _return_open_work(conn, user.id, cmd.principal, now) if closing else 0
    record(conn, cmd.principal, now, "user_updated", ("user", user.id),
           {**_described(conn, changed), **({"tokens_revoked": revoked} if revoked else {}),
            **({"work_returned": returned} if returned else {})})
    return tuple({"agency_id": "agency_code", "unit_id": "unit_code"}.get(name, name) for name in changed)


def deactivate_user(cmd: DeactivateUser, uow) -> int:
    """Close the account, revoke its access tokens and give its open work back to the groups;
    returns how many tokens were revoked.

    Raises Forbidden, NotFound, Conflict (the last active administrator, or one's own account).
    """
    require_admin(cmd.principal, "close accounts")
    conn = uow.conn
    user = user_or_not_found(conn, cmd.user_id)
    if user.active:
        _check_may_close(conn, cmd.principal, user.id)
        conn.execute(update(users).where(users.c.id == user.id).values(active=False))
    now = uow.clock.now()
    revoked = _revoke_tokens(conn, user.id, now)
    ended = end_all_sessions(conn, user.id, now)
    returned = _return_open_work(conn, user.id, cmd.principal, now)
    if user.active or revoked or returned or ended:
        record(conn, cmd.principal, now, "user_deactivated", ("user", user.id),
               {"tokens_revoked": revoked, "sessions_ended": ended,
                **({"work_returned": returned} if returned else {})})
    return revoked


def set_password(cmd: SetPassword, uow) -> None:
    """Store a hash of the new password; raises Forbidden, NotFound, InvalidInput (the policy)."""
    require_admin(cmd.principal, "set passwords")
    conn, problems = uow.conn, Problems()
    user = user_or_not_found(conn, cmd.user_id)
    for problem in password_problems(cmd.password if isinstance(cmd.password, str) else None, user.username):
        problems.add("password", problem)
    problems.check("the password cannot be set")
    conn.execute(update(users).where(users.c.id == user.id).values(password_hash=hash_password(cmd.password)))
    now = uow.clock.now()
    # Whoever knew the old password may have signed in with it: their sessions end with it.
    ended = end_all_sessions(conn, user.id, now)
    record(conn, cmd.principal, now, "password_set", ("user", user.id), {"sessions_ended": ended})


def _check_may_close(conn, principal: Principal, user_id: int) -> None:
    if principal.user_id == user_id:
        raise Conflict("you may not close your own account; another administrator may")
    check_admins_remain(conn, user_id=user_id)


def _return_open_work(conn, user_id: int, principal: Principal, now) -> int:
    """Give a closed account's open work back to its groups (each in its case's history); how many."""
    held = conn.execute(select(work_items.c.id, work_items.c.case_id).where(
        work_items.c.assignee_id == user_id, work_items.c.status == "open")).all()
    if held:
        conn.execute(update(work_items).where(work_items.c.id.in_([row.id for row in held]))
                     .values(assignee_id=None, version=work_items.c.version + 1))
        conn.execute(insert(case_events), [
            event(row.case_id, now, "task_unclaimed", actor_id=principal.user_id, work_item_id=row.id,
                  from_user_id=user_id, reason="account_closed") for row in held])
    return len(held)


def _revoke_tokens(conn, user_id: int, now) -> int:
    return conn.execute(update(access_tokens).where(access_tokens.c.user_id == user_id,
                                                    access_tokens.c.revoked_at.is_(None))
                        .values(revoked_at=now)).rowcount


def _described(conn, changed: dict) -> dict:
    """The changes as the record keeps them: agencies and units by code, not id."""
    described = dict(changed)
    if "agency_id" in described:
        agency_id = described.pop("agency_id")
        described["agency"] = None if agency_id is None else conn.execute(
            select(agencies.c.code).where(agencies.c.id == agency_id)).scalar_one()
    if "unit_id" in described:
        unit_id = described.pop("unit_id")
        described["unit"] = None if unit_id is None else conn.execute(
            select(units.c.code).where(units.c.id == unit_id)).scalar_one()
    return described
