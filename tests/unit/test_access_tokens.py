"""Personal access tokens: shown once, kept as a hash, working until they expire or are revoked."""
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from engine.accounts.identity import Principal
from engine.errors import InvalidInput, NotAuthenticated, NotFound
from engine.queries.access_tokens import REFUSED, access_tokens_of
from engine.services.access_tokens import (
    AuthenticateToken,
    CreateAccessToken,
    RevokeAccessToken,
    authenticate_token,
    create_access_token,
    revoke_access_token,
)
from engine.store.schema import access_tokens, group_members, groups, users


@pytest.fixture
def chen(runtime, clock):
    """A reviewer, as a principal."""
    with runtime.uow() as uow:
        user = uow.conn.execute(insert(users).returning(users.c.id), {
            "username": "rv.chen", "display_name": "陳研考", "created_at": clock.now()}).scalar_one()
        group = uow.conn.execute(insert(groups).returning(groups.c.id), {
            "code": "reviewers", "name": "研考", "role": "reviewer"}).scalar_one()
        uow.conn.execute(insert(group_members), {"group_id": group, "user_id": user})
        uow.commit()
    return Principal(user, "rv.chen", frozenset({("reviewer", None)}))


def make(runtime, principal, **kw):
    with runtime.uow() as uow:
        made = create_access_token(CreateAccessToken(principal, kw.pop("name", "報表匯出"), **kw), uow)
        uow.commit()
    return made


def authenticate(runtime, token):
    with runtime.uow() as uow:
        principal = authenticate_token(AuthenticateToken(token), uow)
        uow.commit()
    return principal


def test_a_token_is_shown_once_kept_as_a_hash_and_acts_for_its_user(runtime, clock, chen):
    made = make(runtime, chen)
    assert made.token.startswith("pf_") and len(made.token) > 40 and made.prefix == made.token[:10]
    with runtime.db.connect() as conn:
        stored = conn.execute(select(access_tokens)).one()
    assert made.token not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64
    clock.advance(hours=1)
    principal = authenticate(runtime, made.token)
    assert (principal.user_id, principal.roles) == (chen.user_id, frozenset({("reviewer", None)}))
    with runtime.uow(read_only=True) as uow:
        (listed,) = access_tokens_of(uow, chen)
    assert (listed.name, listed.prefix, listed.last_used_at) == ("報表匯出", made.prefix, clock.now())
    assert listed.expires_at == made.expires_at


def test_a_revoked_expired_unknown_or_closed_accounts_token_is_refused_alike(runtime, clock, chen):
    revoked, expiring, closed = make(runtime, chen), make(runtime, chen, lifetime=timedelta(days=1)), make(runtime, chen)
    with runtime.uow() as uow:
        assert revoke_access_token(RevokeAccessToken(chen, revoked.id), uow) is True
        assert revoke_access_token(RevokeAccessToken(chen, revoked.id), uow) is False
        uow.commit()
    clock.advance(days=1, seconds=1)
    refused = []
    for token in (revoked.token, expiring.token, "pf_" + "x" * 43, "not-a-token", ""):
        with pytest.raises(NotAuthenticated) as caught:
            authenticate(runtime, token)
        refused.append(caught.value.message)
    with runtime.uow() as uow:
        uow.conn.execute(update(users).where(users.c.id == chen.user_id).values(active=False))
        uow.commit()
    with pytest.raises(NotAuthenticated) as caught:
        authenticate(runtime, closed.token)
    assert set(refused + [caught.value.message]) == {REFUSED}


def test_only_its_owner_or_an_administrator_can_revoke_a_token(runtime, clock, chen):
    made = make(runtime, chen)
    other = Principal(chen.user_id + 100, "someone.else", frozenset({("reviewer", None)}))
    with runtime.uow() as uow:
        with pytest.raises(NotFound):
            revoke_access_token(RevokeAccessToken(other, made.id), uow)
        with pytest.raises(NotFound):
            revoke_access_token(RevokeAccessToken(chen, made.id + 1000), uow)
        admin = Principal(None, "admin", is_admin=True)
        assert revoke_access_token(RevokeAccessToken(admin, made.id), uow) is True


@pytest.mark.parametrize("name,lifetime,field", [("", timedelta(days=1), "name"), ("x" * 101, timedelta(days=1), "name"),
                                                 ("ok", timedelta(days=400), "lifetime"), ("ok", timedelta(0), "lifetime")],
                         ids=["blank name", "long name", "too long a life", "no life"])
def test_a_token_that_cannot_be_made_is_refused_naming_the_field_and_nothing_is_stored(runtime, chen, name,
                                                                                       lifetime, field):
    with runtime.uow() as uow:
        with pytest.raises(InvalidInput) as caught:
            create_access_token(CreateAccessToken(chen, name, lifetime), uow)
        uow.commit()
    assert list(caught.value.details["fields"]) == [field]
    with runtime.db.connect() as conn:
        assert conn.execute(select(access_tokens)).all() == []
