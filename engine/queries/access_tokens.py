"""A user's personal access tokens, as the user sees them (never the tokens themselves)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select

from engine.accounts.identity import Principal
from engine.accounts.passwords import key_digest
from engine.errors import NotAuthenticated
from engine.store.schema import access_tokens, group_members, groups, users

from .principals import USER_WITH_ROLES, principal_of

#: Every token starts so: a secret scanner (or a person) can tell a petiflow token at a glance.
TOKEN_PREFIX = "pf_"

#: What every refused token says: it never tells an unknown token from an expired or revoked one.
REFUSED = "the access token is not valid (unknown, expired or revoked)"

#: How stale a token's "last used" may grow before a request notes it again: noting every
#: request would make every read a write.
USE_NOTED_EVERY = timedelta(minutes=5)


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


@dataclass(frozen=True)
class TokenHolder:
    """Whom a token acts for, and whether its use should be noted (last noted long enough ago)."""

    principal: Principal
    token_id: int
    note_use: bool


def token_digest(token: str) -> str:
    """The SHA-256 a token is kept as."""
    return key_digest(token)


#: The token, its user and the user's groups, in one round trip: one row per group.
_by_digest = (select(access_tokens.c.id.label("token_id"), access_tokens.c.expires_at, access_tokens.c.revoked_at,
                     access_tokens.c.last_used_at, users.c.active, *USER_WITH_ROLES)
              .select_from(access_tokens.join(users, users.c.id == access_tokens.c.user_id)
                           .outerjoin(group_members, group_members.c.user_id == users.c.id)
                           .outerjoin(groups, groups.c.id == group_members.c.group_id))
              .where(access_tokens.c.token_hash == bindparam("b_digest")))


def token_holder(uow, token: str) -> TokenHolder:
    """The principal a token acts for (its user's roles as they are now), read only.

    Raises NotAuthenticated for a token unknown, expired, revoked or of a closed account.
    """
    token = token or ""
    rows = uow.conn.execute(_by_digest, {"b_digest": token_digest(token)}).all() \
        if token.startswith(TOKEN_PREFIX) else []
    now = uow.clock.now()
    row = rows[0] if rows else None
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.active:
        raise NotAuthenticated(REFUSED)
    principal = principal_of([r[5:] for r in rows])
    return TokenHolder(principal, row.token_id, row.last_used_at is None or row.last_used_at <= now - USE_NOTED_EVERY)
