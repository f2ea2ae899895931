"""Signing in with a password: who the user is, checked against the stored hash.

The engine only learns who acts (a Principal); how a person proved it (a password here, a
directory or OIDC later) stays in this module and the adapter that calls it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import bindparam, select, update

from engine.accounts.identity import Principal
from engine.accounts.passwords import check_password, hash_password, needs_rehash
from engine.errors import NotAuthenticated
from engine.queries.principals import load_principal
from engine.store.schema import users

#: What every failed sign-in says: it never tells an unknown account from a wrong password.
REFUSED = "the user name or the password is wrong, or the account is closed"


@dataclass(frozen=True)
class SignIn:
    """Check a user name and password (from an address and a browser, noted on a session it opens)."""

    username: str
    password: str
    address: str | None = None
    user_agent: str | None = None


_user = select(users.c.id, users.c.password_hash, users.c.active).where(users.c.username == bindparam("b_name"))
_rehash = update(users).where(users.c.id == bindparam("b_id")).values(password_hash=bindparam("password_hash"))


@cache
def _stand_in_hash() -> str:
    """A hash to check when there is no account, so that a refusal takes as long either way."""
    return hash_password("no account has this password")


def sign_in(cmd: SignIn, uow) -> Principal:
    """The principal of an active user whose password matches; raises NotAuthenticated otherwise.

    A hash of an older kind (scrypt) or weaker parameters is replaced by one of today's, in the
    unit of work, once the password has matched.
    """
    row = uow.conn.execute(_user, {"b_name": cmd.username}).one_or_none()
    if row is None or not row.active or not row.password_hash:
        check_password(cmd.password, _stand_in_hash())
        raise NotAuthenticated(REFUSED)
    if not check_password(cmd.password, row.password_hash):
        raise NotAuthenticated(REFUSED)
    if needs_rehash(row.password_hash):
        uow.conn.execute(_rehash, {"b_id": row.id, "password_hash": hash_password(cmd.password)})
    return load_principal(uow, user_id=row.id)
