"""A user's personal access tokens, as the user sees them (never the tokens themselves)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.accounts.identity import Principal
from engine.store.schema import access_tokens


@dataclass(frozen=True)
class AccessToken:
    """One token's record: its name, first characters and dates."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def access_tokens_of(uow, principal: Principal) -> tuple[AccessToken, ...]:
    """The principal's tokens, newest first, revoked and expired ones included."""
    rows = uow.conn.execute(
        select(access_tokens.c.id, access_tokens.c.name, access_tokens.c.prefix, access_tokens.c.created_at,
               access_tokens.c.expires_at, access_tokens.c.revoked_at, access_tokens.c.last_used_at)
        .where(access_tokens.c.user_id == principal.user_id)
        .order_by(access_tokens.c.created_at.desc(), access_tokens.c.id.desc()))
    return tuple(AccessToken(*row) for row in rows)
