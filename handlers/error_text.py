"""Error texts fit for logs, incidents, the outbox and timer rows: one line, no addresses.

An exception's later lines repeat SQL and its values, and an SMTP server's reply quotes the
recipient: a citizen's address is personal data, and these places must not hold it.
"""
from __future__ import annotations

import re

#: Anything that looks like an e-mail address in an error text (a server's reply quotes it).
_ADDRESS = re.compile(r"[\w.!#$%&*+=?^`~-]+@([\w-]+(?:\.[\w-]+)+)")


def redact(text: str) -> str:
    """The text with every address masked to its first letter and domain: c***@example.tw."""
    return _ADDRESS.sub(lambda m: f"{m.group(0)[0]}***@{m.group(1)}", text)


def summary(exc: BaseException, limit: int = 200) -> str:
    """`Type: first line of the message`, addresses masked."""
    return f"{type(exc).__name__}: {redact((str(exc).splitlines() or [''])[0][:limit])}"
