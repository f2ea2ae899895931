"""Password hashes: Argon2id (argon2-cffi), and the scrypt hashes stored before it, still read.

A hash names its own method and parameters, so a stored hash keeps working when the
parameters change; `needs_rehash` says when a sign-in should store a new one (an scrypt hash,
or Argon2 with weaker parameters than today's).
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: Argon2id with the library's recommended parameters (RFC 9106's second choice: 64 MiB, 3 passes).
_HASHER = PasswordHasher()

#: The password policy (NIST SP 800-63B): length, not composition rules. Any character counts,
#: spaces and Chinese included; the longest bounds the work of hashing one.
MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH = 12, 1024

#: The scrypt hashes of earlier versions: scrypt$n$r$p$salt$hash, 32-byte digests.
_SCRYPT, _SCRYPT_DKLEN = "scrypt$", 32


def _utf8(password: str) -> bytes:
    # A lone surrogate (JSON may carry one) is kept as it came, not refused.
    return password.encode("utf-8", "surrogatepass")


def hash_password(password: str) -> str:
    """A salted Argon2id hash of the password, self-describing ($argon2id$v=19$m=...)."""
    return _HASHER.hash(_utf8(password))


def password_problems(password: str | None, username: str | None = None) -> list[str]:
    """What makes a password unfit to be set (an empty list: none): too short or long, the
    user name itself, or one character repeated."""
    password = password or ""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        return [f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"]
    problems = []
    if username and username.casefold() in password.casefold():
        problems.append("must not contain the user name")
    if len(set(password)) == 1:
        problems.append("must not be one character repeated")
    return problems


def check_password(password: str, stored: str | None) -> bool:
    """True if the password matches the stored hash; a missing or damaged hash lets nobody in."""
    if not stored:
        return False
    if stored.startswith(_SCRYPT):
        return _check_scrypt(password, stored)
    try:
        if extract_parameters(stored).hash_len < _HASHER.hash_len:  # a shortened tag would be easy to match
            return False
        return _HASHER.verify(stored, _utf8(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError, ValueError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when a hash that just matched should be replaced by one of today's."""
    if stored.startswith(_SCRYPT):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def _check_scrypt(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest, validate=True)
        if len(expected) != _SCRYPT_DKLEN:  # a shortened digest would be easy to match
            return False
        computed = hashlib.scrypt(_utf8(password), salt=base64.b64decode(salt, validate=True),
                                  n=int(n), r=int(r), p=int(p), dklen=_SCRYPT_DKLEN)
    except (ValueError, TypeError, OverflowError, MemoryError):  # a damaged hash never lets anyone in
        return False
    return hmac.compare_digest(computed, expected)


def key_digest(key: str) -> str:
    """The SHA-256 (hex) a random key is kept as: an access token or a browser session's key. Such a
    key holds 256 random bits, so a fast hash keeps it safe where a password needs a slow one."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
