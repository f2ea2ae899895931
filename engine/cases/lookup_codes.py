"""Lookup codes: the secret a citizen holds, with the case number, to read a public case's status.

A code is 16 characters of Crockford's base32 (80 random bits), shown in groups of four. It
is shown once; only its SHA-256, bound to the case number, is kept, so a copy of the database
does not open any case. Letters a person may mistype (O for 0, I and L for 1) and the spaces
and dashes they add are forgiven when a code is read back.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

#: The alphabet of codes: digits and letters without I, L, O, U.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

#: Characters in a code (5 bits each).
LENGTH = 16

#: The longest text accepted as a code, dashes and spaces included.
MAX_TYPED = 40

_FORGIVEN = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})


def new_code() -> str:
    """A fresh code as shown to the citizen: XXXX-XXXX-XXXX-XXXX."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, LENGTH, 4))


def normalized(typed: str) -> str:
    """The code as typed, upper case, without dashes or spaces, O read as 0 and I, L as 1."""
    return (typed or "")[:MAX_TYPED].strip().upper().translate(_FORGIVEN)


def digest(case_no: str, code: str) -> str:
    """The SHA-256 (hex) kept for a code of a case."""
    return hashlib.sha256(f"{case_no}:{normalized(code)}".encode("utf-8")).hexdigest()


def matches(case_no: str, typed: str, kept: str | None) -> bool:
    """True if the typed code is the case's; compared in constant time, and as long when nothing is kept."""
    expected = kept or "0" * 64
    return hmac.compare_digest(digest(case_no, typed), expected) and kept is not None
