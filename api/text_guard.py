"""Text no database can keep is refused at the door: a NUL character or a lone surrogate anywhere
in a request's query, form or JSON body is a 400 naming where, before any view runs.

PostgreSQL refuses NUL in text and JSON, and neither database can store half of a UTF-16
surrogate pair; a request carrying one would otherwise fail at its INSERT (a 500), or be kept
by SQLite and break every later read of the row.
"""
from __future__ import annotations

from flask import Flask, request

from engine.errors import InvalidInput

#: What a field holding such text is told.
PROBLEM = "must not contain NUL characters or lone surrogates (not UTF-8 text)"


def _bad(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _walk(value, path: str, found: list) -> None:
    if isinstance(value, str):
        if _bad(value):
            found.append(path or "(body)")
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _bad(key):
                found.append(f"{path}.(a key)" if path else "(a key)")
            else:
                _walk(item, where, found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, f"{path}.{i}" if path else str(i), found)


def _check() -> None:
    found: list = []
    for name, value in request.args.items(multi=True):
        _walk(value, name, found)
    if request.mimetype == "application/json":
        _walk(request.get_json(silent=True), "", found)
    elif request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for name, value in request.form.items(multi=True):
            _walk(value, name, found)
    if found:
        raise InvalidInput("the request holds text that cannot be stored",
                           details={"fields": {where: [PROBLEM] for where in found}})


def install(app: Flask) -> None:
    """Check every request before its view."""
    app.before_request(_check)
