"""One unit of work per request: reads share the request's read-only unit, a change runs one service and commits.

The request's read-only unit is opened by the first read (signing the caller in, usually) and
closed when the request ends, so a request that only reads opens one transaction, however many
queries it makes; a change opens a unit of its own and commits it.
"""
from __future__ import annotations

from contextlib import contextmanager

from flask import Flask, current_app, g

#: Where the runtime is kept in app.extensions.
EXTENSION_KEY = "petiflow"


def runtime():
    """The runtime of the current app."""
    return current_app.extensions[EXTENSION_KEY]


@contextmanager
def reading():
    """The request's read-only unit of work (opened at the first read, closed with the request)."""
    uow = g.get("read_uow")
    if uow is None:
        uow = runtime().uow(read_only=True)
        uow.__enter__()
        g.read_uow = uow
    yield uow


def read(query, *args, **kwargs):
    """Run one query in the request's read-only unit of work and return its value."""
    with reading() as uow:
        return query(uow, *args, **kwargs)


def run(service, command, *, one_step: bool = False):
    """Run one service in its own unit of work and commit; nothing is kept if it raises.

    The request's read-only unit, if open, is closed first: what the change reads is current.
    one_step: the service runs one workflow step (opening a case, completing an item), which
    PostgreSQL may then save in one statement (engine.store.uow.UnitOfWork.one_step).
    """
    _close_reading()
    with runtime().uow(one_step=one_step) as uow:
        result = service(command, uow)
        uow.commit()
        return result


def drive(driver, command, **kwargs):
    """Run an engine driver that opens a unit of work per record itself (a bulk move of cases),
    on the app's runtime; each of its units commits or rolls back on its own."""
    _close_reading()
    return driver(command, runtime(), **kwargs)


def _close_reading(exc=None) -> None:
    uow = g.pop("read_uow", None)
    if uow is not None:
        uow.__exit__(None, None, None)


def install(app: Flask) -> None:
    """Close the request's read-only unit when the request ends, whatever happened."""
    app.teardown_request(_close_reading)
