"""Personal access tokens: made by a user for an API client, shown once, kept as a hash, revocable."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update

from engine.accounts.identity import Principal
from engine.errors import InvalidInput, NotFound
from engine.queries.access_tokens import TOKEN_PREFIX, token_digest, token_holder
from engine.store.schema import access_tokens

#: The longest a token may live, and how long it lives when its maker does not say.
MAX_LIFETIME, DEFAULT_LIFETIME = timedelta(days=366), timedelta(days=90)



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
        "user_id": cmd.principal.user_id, "name": name, "token_hash": token_digest(token), "prefix": token[:10],
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


_used = update(access_tokens).where(access_tokens.c.id == bindparam("b_id")).values(last_used_at=bindparam("b_now"))


@dataclass(frozen=True)
class NoteTokenUse:
    """Note that a token was used now."""

    token_id: int


def note_token_use(cmd: NoteTokenUse, uow) -> None:
    """Set the token's last use to now."""
    uow.conn.execute(_used, {"b_id": cmd.token_id, "b_now": uow.clock.now()})


def authenticate_token(cmd: AuthenticateToken, uow) -> Principal:
    """The principal the token acts for (its user's roles as they are now); notes its use when the last
    note is older than USE_NOTED_EVERY.

    Raises NotAuthenticated for a token unknown, expired, revoked or of a closed account.
    """
    holder = token_holder(uow, cmd.token)
    if holder.note_use:
        note_token_use(NoteTokenUse(holder.token_id), uow)
    return holder.principal
