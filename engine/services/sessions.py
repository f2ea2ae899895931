"""Browser sessions kept on the server: opened at sign-in, ended at sign-out, everywhere at once on
request, and whenever the user's password is set or the account closed.

The cookie carries a random key (256 bits); only its SHA-256 is kept (`user_sessions`), and each
request's principal is read through it (engine.queries.principals.load_principal), so a session
that has ended lets nobody in whatever its cookie says.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, insert, update

from engine.accounts.identity import Principal
from engine.accounts.passwords import key_digest
from engine.errors import Forbidden
from engine.store.schema import user_sessions

from .accounts import SignIn, sign_in

#: How long the rows of ended sessions are kept, for a user's list of where they signed in.
ENDED_KEPT = timedelta(days=30)


@dataclass(frozen=True)
class SessionOpened:
    """The signed-in principal and the key its session cookie carries (never stored as such)."""

    principal: Principal
    key: str


def _clip(text: str | None, size: int) -> str | None:
    return None if text is None else text[:size]


def sign_in_session(cmd: SignIn, uow) -> SessionOpened:
    """Check the user name and password (as accounts.sign_in) and open a browser session for them.

    Ended sessions of the user older than ENDED_KEPT are forgotten on the way.
    """
    principal = sign_in(cmd, uow)
    key = secrets.token_urlsafe(32)
    now = uow.clock.now()
    uow.conn.execute(delete(user_sessions).where(user_sessions.c.user_id == principal.user_id,
                                                 user_sessions.c.ended_at < now - ENDED_KEPT))
    uow.conn.execute(insert(user_sessions), {
        "user_id": principal.user_id, "key_hash": key_digest(key), "created_at": now,
        "address": _clip(cmd.address, 64), "user_agent": _clip(cmd.user_agent, 255)})
    return SessionOpened(principal, key)


@dataclass(frozen=True)
class EndSession:
    """Sign out: end the session whose cookie carries this key."""

    key: str


def end_session(cmd: EndSession, uow) -> bool:
    """End the session; False when it had already ended (or never was)."""
    done = uow.conn.execute(update(user_sessions)
                            .where(user_sessions.c.key_hash == key_digest(cmd.key), user_sessions.c.ended_at.is_(None))
                            .values(ended_at=uow.clock.now()))
    return done.rowcount > 0


@dataclass(frozen=True)
class EndSessions:
    """End every open session of a user but, optionally, the caller's own (`keep_key`): the user
    themselves ("sign out everywhere else") or an administrator."""

    principal: Principal
    user_id: int
    keep_key: str | None = None


def end_sessions(cmd: EndSessions, uow) -> int:
    """End the sessions and return how many; raises Forbidden for another user's unless an administrator."""
    if cmd.principal.user_id != cmd.user_id and not cmd.principal.is_admin:
        raise Forbidden("only administrators end another user's sessions")
    return end_all_sessions(uow.conn, cmd.user_id, uow.clock.now(), keep_key=cmd.keep_key)


def end_all_sessions(conn, user_id: int, now, *, keep_key: str | None = None) -> int:
    """End a user's open sessions (but the one of `keep_key`) in the caller's transaction: a new
    password or a closed account ends them (engine.services.staff)."""
    wanted = [user_sessions.c.user_id == user_id, user_sessions.c.ended_at.is_(None)]
    if keep_key is not None:
        wanted.append(user_sessions.c.key_hash != key_digest(keep_key))
    return conn.execute(update(user_sessions).where(*wanted).values(ended_at=now)).rowcount
