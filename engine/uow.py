"""The unit of work: one transaction per request or message, rolled back unless committed."""
from __future__ import annotations

from typing import Callable

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from .errors import NotReady


class UnitOfWork:
    """A database transaction plus what services need alongside it (clock, specs, scripts).

    Used as a context manager; leaving the block without commit() rolls everything back.
    Callbacks registered with after_commit() run once the commit has succeeded.
    """

    def __init__(self, db: Engine, *, clock, specs, script_engine, cache=None, read_only: bool = False,
                 forms_dir=None):
        self.db = db
        self.forms_dir = forms_dir  # user-task forms (None: engine.forms.FORMS_DIR)
        self.cache = cache
        self.read_only = read_only
        self.clock = clock
        self.specs = specs
        self.script_engine = script_engine
        self.conn: Connection | None = None
        self._after_commit: list[Callable[[], None]] = []

    @property
    def dialect(self) -> str:
        return self.db.dialect.name

    def __enter__(self) -> "UnitOfWork":
        try:
            self.conn = self.db.connect()
            if self.read_only:
                self.conn = self.conn.execution_options(read_only=True)
            self.conn.begin()
        except DBAPIError as exc:
            if self.conn is not None:
                self.conn.close()
                self.conn = None
            raise NotReady(f"the database is unavailable ({type(exc.orig).__name__}); try again shortly") from exc
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.conn.in_transaction():
                self.conn.rollback()
        finally:
            self.conn.close()
            self.conn = None
            self._after_commit.clear()

    def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        self.conn.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        self.conn.rollback()
        self._after_commit.clear()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run callback after a successful commit (never if the work is rolled back)."""
        self._after_commit.append(callback)
