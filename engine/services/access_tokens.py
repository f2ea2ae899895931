"""Personal access tokens: made by a user for an API client, shown once, kept as a hash, revocable."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update

from engine.accounts.identity import Principal
from engine.errors import InvalidInput, NotAuthenticated, NotFound
from engine.queries.principals import load_principal
from engine.store.schema import access_tokens, users

#: Every token starts so: a secret scanner (or a person) can tell a petiflow token at a glance.
TOKEN_PREFIX = "pf_"

#: The longest a token may live, and how long it lives when its maker does not say.
MAX_LIFETIME, DEFAULT_LIFETIME = timedelta(days=366), timedelta(days=90)

#: What every refused token says: it never tells an unknown token from an expired or revoked one.
REFUSED = "the access token is not valid (unknown, expired or revoked)"


@dataclass(frozen=True)
class CreateAccessToken:
    """Make a token for the principal's own use by an API client."""

    principal: Principal
    name: str
    lifetime: timedelta = DEFAULT_LIFETIME


@dataclass(frozen=True)
class AccessTokenCreated:
    """The token, shown this once, and its record."""

    id: int
    token: str
    name: str
    prefix: str
    expires_at: datetime


@dataclass(frozen=True)
class RevokeAccessToken:
    """Stop one of the principal's tokens working (an administrator may revoke anyone's)."""

    principal: Principal
    token_id: int


@dataclass(frozen=True)
class AuthenticateToken:
    """Who an API client acts for, from the token it presented."""

    token: str


def _digest(token: str) -> str:
    # A token holds 256 random bits: a fast hash keeps it safe, and lets it be looked up.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_access_token(cmd: CreateAccessToken, uow) -> AccessTokenCreated:
    """Make a token; raises InvalidInput for a blank or long name or a lifetime out of range."""
    name = (cmd.name or "").strip()
    problems = {}
    if not name or len(name) > access_tokens.c.name.type.length:
        problems["name"] = [f"1 to {access_tokens.c.name.type.length} characters"]
    elif "\x00" in name or not name.isprintable():
        problems["name"] = ["printable characters only"]
    if not timedelta(minutes=1) <= cmd.lifetime <= MAX_LIFETIME:
        problems["lifetime"] = [f"from one minute to {MAX_LIFETIME.days} days"]
    if cmd.principal.user_id is None:
        problems["principal"] = ["only a user can hold a token"]
    if problems:
        raise InvalidInput("the access token cannot be made", details={"fields": problems})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = uow.clock.now()
    expires_at = now + cmd.lifetime
    token_id = uow.conn.execute(insert(access_tokens).returning(access_tokens.c.id), {
        "user_id": cmd.principal.user_id, "name": name, "token_hash": _digest(token), "prefix": token[:10],
        "created_at": now, "expires_at": expires_at}).scalar_one()
    return AccessTokenCreated(token_id, token, name, token[:10], expires_at)


def revoke_access_token(cmd: RevokeAccessToken, uow) -> bool:
    """Revoke a token; False if it was revoked before. Raises NotFound for a token that is not the
    principal's (an administrator's excepted), exactly as for one that does not exist."""
    row = uow.conn.execute(select(access_tokens.c.user_id, access_tokens.c.revoked_at)
                           .where(access_tokens.c.id == cmd.token_id)).one_or_none()
    if row is None or (row.user_id != cmd.principal.user_id and not cmd.principal.is_admin):
        raise NotFound(f"access token {cmd.token_id} does not exist")
    if row.revoked_at is not None:
        return False
    uow.conn.execute(update(access_tokens).where(access_tokens.c.id == cmd.token_id)
                     .values(revoked_at=uow.clock.now()))
    return True


_by_digest = (select(access_tokens.c.id, access_tokens.c.user_id, access_tokens.c.expires_at,
                     access_tokens.c.revoked_at, users.c.active)
              .join(users, users.c.id == access_tokens.c.user_id)
              .where(access_tokens.c.token_hash == bindparam("b_digest")))
_used = update(access_tokens).where(access_tokens.c.id == bindparam("b_id")).values(last_used_at=bindparam("b_now"))


def authenticate_token(cmd: AuthenticateToken, uow) -> Principal:
    """The principal the token acts for (its user's roles as they are now); notes when it was used.

    Raises NotAuthenticated for a token unknown, expired, revoked or of a closed account.
    """
    token = cmd.token or ""
    row = uow.conn.execute(_by_digest, {"b_digest": _digest(token)}).one_or_none() \
        if token.startswith(TOKEN_PREFIX) else None
    now = uow.clock.now()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.active:
        raise NotAuthenticated(REFUSED)
    uow.conn.execute(_used, {"b_id": row.id, "b_now": now})
    return load_principal(uow, user_id=row.user_id)
