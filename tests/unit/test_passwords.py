"""Staff passwords: salted scrypt hashes that only the right password opens."""
import pytest
from sqlalchemy import select

from engine.accounts.passwords import check_password, hash_password
from engine.store.schema import users


def test_the_right_password_opens_its_hash_and_no_other():
    stored = hash_password("府城陳情 2026!")
    assert stored.startswith("scrypt$16384$8$1$")
    assert check_password("府城陳情 2026!", stored)
    assert not check_password("府城陳情 2026", stored)
    assert not check_password("", stored)


def test_two_hashes_of_one_password_differ_by_their_salt():
    assert hash_password("petiflow-demo") != hash_password("petiflow-demo")


def test_a_password_that_is_not_valid_text_can_still_be_set_and_checked():
    stored = hash_password("pass\ud800word")  # a lone surrogate, as JSON may carry one
    assert check_password("pass\ud800word", stored) and not check_password("password", stored)


@pytest.mark.parametrize("stored", [
    None, "", "plain-text-password", "bcrypt$2b$12$abc", "scrypt$", "scrypt$16384$8$1$c2FsdA==",
    "scrypt$16384$8$1$not base64!$aGFzaA==", "scrypt$many$8$1$c2FsdA==$aGFzaA==",
    "scrypt$1000$8$1$c2FsdA==$aGFzaA==",  # n not a power of two
    "scrypt$1048576$8$1$c2FsdA==$" + "A" * 43 + "=",  # past scrypt's memory bound
    "scrypt$1180591620717411303424$8$1$c2FsdA==$" + "A" * 43 + "=",  # n = 2**70
    "scrypt$-2$8$1$c2FsdA==$" + "A" * 43 + "=",
], ids=["none", "empty", "plain", "other scheme", "truncated", "no digest", "bad salt", "bad n", "n not 2^k",
        "too much memory", "n beyond 64 bits", "negative n"])
def test_a_missing_or_damaged_hash_lets_nobody_in(stored):
    assert check_password("anything", stored) is False


def test_every_demo_account_opens_with_the_demo_password(runtime):
    from api.cli import deploy_workflows
    from engine.services.demo import DEMO_PASSWORD, SeedDemo, seed_demo

    deploy_workflows(runtime)
    with runtime.uow() as uow:
        seed_demo(SeedDemo(), uow)
        uow.commit()
    with runtime.db.connect() as conn:
        accounts = conn.execute(select(users.c.username, users.c.password_hash)).all()
    assert len(accounts) >= 10
    assert all(check_password(DEMO_PASSWORD, stored) for _, stored in accounts)
    assert not any(check_password("petiflow", stored) for _, stored in accounts)


def test_a_hash_whose_digest_was_shortened_matches_no_password():
    stored = hash_password("petiflow-demo")
    head, _, digest = stored.rpartition("$")
    import base64
    short = f"{head}${base64.b64encode(base64.b64decode(digest)[:1]).decode()}"
    assert not any(check_password(f"guess-{i}", short) for i in range(300))
    assert not check_password("petiflow-demo", short)
