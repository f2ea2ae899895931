"""Staff passwords: salted Argon2id hashes that only the right password opens; older scrypt ones still read."""
import pytest
from sqlalchemy import select

from engine.accounts.passwords import check_password, hash_password, needs_rehash
from engine.store.schema import users


def test_the_right_password_opens_its_hash_and_no_other():
    stored = hash_password("府城陳情 2026!")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
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
    import base64
    stored = hash_password("petiflow-demo")
    head, _, tag = stored.rpartition("$")
    raw = base64.b64decode(tag + "=" * (-len(tag) % 4))
    short = f"{head}${base64.b64encode(raw[:4]).decode().rstrip('=')}"  # the shortest tag Argon2 accepts
    assert not any(check_password(f"guess-{i}", short) for i in range(300))
    assert not check_password("petiflow-demo", short)

def scrypt_hash(password: str) -> str:
    """A hash as petiflow stored it before Argon2: scrypt$n$r$p$salt$digest."""
    import base64
    import hashlib
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def test_a_password_stored_with_scrypt_before_still_opens_and_asks_to_be_stored_anew():
    stored = scrypt_hash("petiflow-demo")
    assert check_password("petiflow-demo", stored) and not check_password("petiflow", stored)
    assert needs_rehash(stored)
    assert not needs_rehash(hash_password("petiflow-demo"))


def test_an_argon2_hash_with_weaker_parameters_asks_to_be_stored_anew():
    from argon2 import PasswordHasher
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("petiflow-demo")
    assert check_password("petiflow-demo", weak) and needs_rehash(weak)


@pytest.mark.parametrize("stored", [
    "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$",
    "$argon2id$v=19$m=65536,t=3,p=4$not base64!$aGFzaGhhc2hoYXNo",
    "$argon2id$v=19$m=zzz,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
    "$argon2x$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
], ids=["no tag", "bad salt", "bad memory", "unknown variant"])
def test_a_damaged_argon2_hash_lets_nobody_in(stored):
    assert check_password("anything", stored) is False
