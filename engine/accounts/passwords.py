"""Password hashing with scrypt from the standard library."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

#: scrypt cost parameters (n, r, p): about 50 ms on the 2-core machines we run on.
_N, _R, _P = 2**14, 8, 1
_DKLEN = 32


def hash_password(password: str) -> str:
    """A salted scrypt hash, self-describing: scrypt$n$r$p$salt$hash."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    enc = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${_N}${_R}${_P}${enc(salt)}${enc(digest)}"


def check_password(password: str, stored: str | None) -> bool:
    """True if the password matches the stored hash."""
    if not stored or not stored.startswith("scrypt$"):
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest, validate=True)
        if len(expected) != _DKLEN:  # a shortened digest would be easy to match
            return False
        computed = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=base64.b64decode(salt, validate=True),
                                  n=int(n), r=int(r), p=int(p), dklen=_DKLEN)
    except (ValueError, TypeError, OverflowError, MemoryError):  # a damaged hash never lets anyone in
        return False
    return hmac.compare_digest(computed, expected)
