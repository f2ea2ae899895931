"""Error texts fit for logs, incidents, the outbox and timer rows: one line, no personal identifiers.

An exception's later lines repeat SQL and its values, and an SMTP server's reply quotes the
recipient: a citizen's address is personal data, and these places must not hold it.
"""
from __future__ import annotations

import re

#: Anything that looks like an e-mail address in an error text (a server's reply quotes it).
_ADDRESS = re.compile(r"[\w.!#$%&*+=?^`~-]+@([\w-]+(?:\.[\w-]+)+)")


#: A Taiwanese phone number (0912-345-678, 02 2720 8889, +886912345678), not inside a longer word.
_PHONE = re.compile(r"(?<![\w+-])(?:\+886[-\s]?|0)\d{1,3}(?:[-\s]?\d{3,4}){2}(?![\w-])")
#: A national identification number (身分證字號 / 居留證號): a letter, 1 or 2 (or A-D, 8, 9), 8 digits.
_ID_NUMBER = re.compile(r"(?<![A-Za-z0-9])[A-Z][12ABCD89]\d{8}(?![0-9])")


def redact(text: str) -> str:
    """The text with personal identifiers masked: addresses to c***@example.tw, phone and ID numbers
    to their first two characters (09***, A1***)."""
    text = _ADDRESS.sub(lambda m: f"{m.group(0)[0]}***@{m.group(1)}", text)
    text = _PHONE.sub(lambda m: f"{m.group(0)[:2]}***", text)
    return _ID_NUMBER.sub(lambda m: f"{m.group(0)[:2]}***", text)


def summary(exc: BaseException, limit: int = 200) -> str:
    """`Type: first line of the message`, personal identifiers masked."""
    return f"{type(exc).__name__}: {redact((str(exc).splitlines() or [''])[0][:limit])}"
