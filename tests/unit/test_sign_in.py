"""Signing in: the right password gives the user's principal; every refusal reads the same."""
import pytest
from sqlalchemy import insert, select, update

from engine.errors import NotAuthenticated
from engine.services.accounts import REFUSED, SignIn, sign_in
from engine.store.schema import group_members, groups, users
from tests.unit.test_passwords import scrypt_hash


@pytest.fixture
def staff(runtime, clock):
    """A caseworker of no agency with an scrypt hash from before Argon2, and a closed account."""
    from engine.accounts.passwords import hash_password
    with runtime.uow() as uow:
        chen = uow.conn.execute(insert(users).returning(users.c.id), {
            "username": "cw.chen", "display_name": "陳承辦", "password_hash": scrypt_hash("府城 2026!"),
            "created_at": clock.now()}).scalar_one()
        uow.conn.execute(insert(users), {"username": "gone", "display_name": "離職", "active": False,
                                         "password_hash": hash_password("府城 2026!"), "created_at": clock.now()})
        group = uow.conn.execute(insert(groups).returning(groups.c.id), {
            "code": "reviewers", "name": "研考", "role": "reviewer"}).scalar_one()
        uow.conn.execute(insert(group_members), {"group_id": group, "user_id": chen})
        uow.commit()
    return runtime, chen


def stored_hash(runtime, user_id):
    with runtime.db.connect() as conn:
        return conn.execute(select(users.c.password_hash).where(users.c.id == user_id)).scalar_one()


def test_the_right_password_signs_in_with_the_users_roles_and_upgrades_an_old_hash(staff):
    runtime, chen = staff
    with runtime.uow() as uow:
        principal = sign_in(SignIn("cw.chen", "府城 2026!"), uow)
        uow.commit()
    assert (principal.user_id, principal.username, principal.roles) == (chen, "cw.chen", frozenset({("reviewer", None)}))
    upgraded = stored_hash(runtime, chen)
    assert upgraded.startswith("$argon2id$")
    with runtime.uow() as uow:  # the new hash opens with the same password, and is kept as it is
        assert sign_in(SignIn("cw.chen", "府城 2026!"), uow).user_id == chen
        uow.commit()
    assert stored_hash(runtime, chen) == upgraded


@pytest.mark.parametrize("username,password", [("cw.chen", "府城 2026"), ("nobody", "府城 2026!"),
                                               ("gone", "府城 2026!"), ("cw.chen", "")],
                         ids=["wrong password", "no such account", "closed account", "empty password"])
def test_a_refused_sign_in_never_tells_why_and_changes_nothing(staff, username, password):
    runtime, chen = staff
    before = stored_hash(runtime, chen)
    with runtime.uow() as uow:
        with pytest.raises(NotAuthenticated) as refused:
            sign_in(SignIn(username, password), uow)
        uow.commit()
    assert refused.value.message == REFUSED and refused.value.details == {}
    assert stored_hash(runtime, chen) == before


def test_an_account_without_a_password_cannot_sign_in_with_an_empty_one(staff):
    runtime, chen = staff
    with runtime.uow() as uow:
        uow.conn.execute(update(users).where(users.c.id == chen).values(password_hash=None))
        with pytest.raises(NotAuthenticated):
            sign_in(SignIn("cw.chen", ""), uow)
