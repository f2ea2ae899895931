"""One unit of work per request: read through a query, or run one service and commit."""
from __future__ import annotations

from contextlib import contextmanager

from flask import current_app

#: Where the runtime is kept in app.extensions.
EXTENSION_KEY = "petiflow"


def runtime():
    """The runtime of the current app."""
    return current_app.extensions[EXTENSION_KEY]


@contextmanager
def reading():
    """A read-only unit of work for queries."""
    with runtime().uow(read_only=True) as uow:
        yield uow


def read(query, *args, **kwargs):
    """Run one query in a read-only unit of work and return its value."""
    with reading() as uow:
        return query(uow, *args, **kwargs)


def run(service, command, *, one_step: bool = False):
    """Run one service in its own unit of work and commit; nothing is kept if it raises.

    one_step: the service runs one workflow step (opening a case, completing an item), which
    PostgreSQL may then save in one statement (engine.store.uow.UnitOfWork.one_step).
    """
    with runtime().uow(one_step=one_step) as uow:
        result = service(command, uow)
        uow.commit()
        return result
