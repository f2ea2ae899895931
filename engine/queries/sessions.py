"""A user's browser sessions, as the user sees them (never their keys)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.accounts.identity import Principal
from engine.accounts.passwords import key_digest
from engine.store.schema import user_sessions

#: The most sessions listed, newest first.
LISTED = 50


@dataclass(frozen=True)
class SessionSeen:
    """One browser session: when and where it was opened, whether it is the caller's own, and when it ended."""

    opened_at: datetime
    address: str | None
    user_agent: str | None
    current: bool
    ended_at: datetime | None


def sessions_of(uow, principal: Principal, current_key: str | None = None) -> tuple[SessionSeen, ...]:
    """The principal's own sessions, open ones first, each newest first (the one of `current_key` marked)."""
    mine = key_digest(current_key) if current_key else None
    s = user_sessions
    rows = uow.conn.execute(select(s.c.key_hash, s.c.created_at, s.c.address, s.c.user_agent, s.c.ended_at)
                            .where(s.c.user_id == principal.user_id)
                            .order_by(s.c.ended_at.is_not(None), s.c.created_at.desc(), s.c.id.desc()).limit(LISTED))
    return tuple(SessionSeen(r.created_at, r.address, r.user_agent, r.key_hash == mine, r.ended_at) for r in rows)
