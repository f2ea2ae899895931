"""Password hashing with scrypt from the standard library."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

#: scrypt cost parameters (n, r, p): about 50 ms on the 2-core machines we run on.
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """A salted scrypt hash, self-describing: scrypt$n$r$p$salt$hash."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    enc = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${_N}${_R}${_P}${enc(salt)}${enc(digest)}"


def check_password(password: str, stored: str | None) -> bool:
    """True if the password matches the stored hash."""
    if not stored or not stored.startswith("scrypt$"):
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest, validate=True)
        computed = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=base64.b64decode(salt, validate=True),
                                  n=int(n), r=int(r), p=int(p), dklen=len(expected) or 32)
    except ValueError:  # a damaged hash (binascii.Error is a ValueError) never lets anyone in
        return False
    return hmac.compare_digest(computed, expected)
