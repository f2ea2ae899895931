"""The unit of work: one transaction per request or message, rolled back unless committed.

On PostgreSQL the transaction begins at the unit's first write or locking read (engine.store.db),
not at its first statement: under READ COMMITTED a plain read sees the same committed rows
inside a transaction as outside it, so reads before the first write lose nothing, and a unit
that runs one workflow step (one_step=True) and whose only write is the step's statement
(engine.store.step_sql) runs it on its own, atomic without BEGIN and COMMIT. A step's writes
are made in one call at its end (engine.store.steps.write_step), never along the way.
"""
from __future__ import annotations

import logging
from typing import Callable

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from engine.clock import DEFAULT_ZONE, enter_zone, leave_zone
from engine.errors import NotReady
from engine.store.db import LOCK_INSTANCE, PG_FAILED, PG_IDLE

log = logging.getLogger(__name__)


class UnitOfWork:
    """A database transaction plus what services need alongside it (clock, specs, scripts).

    Used as a context manager; leaving the block without commit() rolls everything back.
    Callbacks registered with after_commit() run once the commit has succeeded; those registered
    with on_rollback() (undoing what is not in the database: a file put in place) run when the
    work is rolled back, or left without a successful commit.
    """

    def __init__(self, db: Engine, *, clock, specs, script_engine, cache=None, read_only: bool = False,
                 forms_dir=None, one_step: bool = False, actions=None, zone=None, attachments=None):
        self.db = db
        #: The engine actions diagrams may call, by name (what deployment checks diagrams against).
        self.actions = actions
        #: The city's time zone (settings.timezone): working days, office hours, case numbers, and,
        #: while the unit is open, timer dates without an offset and "today" in scripts.
        self.zone = zone or DEFAULT_ZONE
        self._zone_token = None
        #: The unit runs one workflow step and commits it (an API call completing a work item,
        #: opening a case). On PostgreSQL its step may then be saved by a statement that commits
        #: itself, with no BEGIN or COMMIT: the step is durable once the service returns, and the
        #: unit may read afterwards but no longer write.
        self.one_step = one_step
        self.forms_dir = forms_dir  # user-task forms (None: engine.workflow.forms.FORMS_DIR)
        #: Where files attached to cases are kept (engine.store.files.AttachmentStore; None: nowhere).
        self.attachments = attachments
        self.cache = cache
        self.read_only = read_only
        self.clock = clock
        self.specs = specs
        self.script_engine = script_engine
        self.conn: Connection | None = None
        self._after_commit: list[Callable[[], None]] = []
        self._on_rollback: list[Callable[[], None]] = []
        #: PostgreSQL: the instance whose step is running unlocked; its row is locked if the
        #: unit begins a transaction before the step's save (engine.store.db).
        self.step_instance: int | None = None
        #: PostgreSQL: a workflow step was saved by one statement with no transaction open; it is
        #: committed, and the unit may not write any more (check_may_write).
        self.saved_alone = False
        #: PostgreSQL: the instance whose row lock this unit's transaction holds.
        self.locked_instance: int | None = None

    @property
    def dialect(self) -> str:
        return self.db.dialect.name

    def __enter__(self) -> "UnitOfWork":
        try:
            self.conn = self.db.connect()
            if self.dialect == "postgresql":
                self.conn = self.conn.execution_options(petiflow_uow=self)  # see engine.store.db._tune_postgresql
            if self.read_only:
                self.conn = self.conn.execution_options(read_only=True)
            self.conn.begin()
        except DBAPIError as exc:
            if self.conn is not None:
                self.conn.close()
                self.conn = None
            raise NotReady(f"the database is unavailable ({type(exc.orig).__name__}); try again shortly") from exc
        self._zone_token = enter_zone(self.zone)
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.conn.in_transaction():
                if self.read_only and self._server_transaction_open() and not self._server_transaction_failed():
                    # PostgreSQL, a read-only unit that opened its (READ ONLY) transaction: COMMIT ends
                    # it as ROLLBACK would, and keeps the connection's prepared statements, which psycopg
                    # forgets at every ROLLBACK (each would be planned again).
                    self.conn.commit()
                else:
                    self.conn.rollback()
        finally:
            leave_zone(self._zone_token)
            self._after_commit.clear()
            try:
                self.conn.close()
            finally:
                self.conn = None
                self._undo()

    def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        self.conn.commit()
        self._on_rollback.clear()
        self.saved_alone = False
        self.locked_instance = None
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        self.conn.rollback()
        self._after_commit.clear()
        self.locked_instance = None
        self._undo()

    def _undo(self) -> None:
        callbacks, self._on_rollback = self._on_rollback, []
        for callback in reversed(callbacks):
            try:
                callback()
            except OSError:  # the rollback stands; what is left is the attachments sweep's
                log.warning("could not undo a change outside the database after a rollback", exc_info=True)

    @property
    def untouched(self) -> bool:
        """True while the unit has written nothing and awaits nothing after commit (never on SQLite,
        whose units hold the write lock from their first statement)."""
        return not self.writing and not self._after_commit

    @property
    def writing(self) -> bool:
        """True once the unit has written (on PostgreSQL: begun its transaction, or saved a step alone)."""
        if self.dialect != "postgresql":
            return True  # SQLite: BEGIN IMMEDIATE took the write lock at the first statement
        return self.saved_alone or self._server_transaction_open()

    def _server_transaction_open(self) -> bool:
        if self.dialect != "postgresql":
            return False
        return self.conn.connection.driver_connection.info.transaction_status != PG_IDLE

    def _server_transaction_failed(self) -> bool:
        return self.conn.connection.driver_connection.info.transaction_status == PG_FAILED

    def open_for_step(self) -> bool:
        """PostgreSQL, before a step's statement: True if it is to be saved alone.

        Alone only in a one-step unit (see __init__) that has written nothing: the step is then
        committed by its own statement, and the unit may read afterwards but not write
        (check_may_write). Otherwise the transaction is begun here if it is not open yet.
        """
        self.check_may_write()
        if self._server_transaction_open():
            return False
        if self.one_step:
            return True
        self.begin()
        return False

    def lock_instance(self, instance_id: int) -> None:
        """PostgreSQL: hold the instance's row lock until the end of the transaction (begun here if need be).

        A statement that then reads the case's rows sees every step saved before it.
        """
        if self.locked_instance == instance_id:
            return
        self.begin()
        self.conn.connection.driver_connection.execute(LOCK_INSTANCE, {"id": instance_id})
        self.locked_instance = instance_id

    def check_may_write(self) -> None:
        """Refuse a write after a step that saved itself alone: it could not be rolled back with it."""
        if self.saved_alone:
            raise RuntimeError(
                "this unit of work saved its workflow step as one statement without a transaction "
                "(engine.store.step_sql) and cannot write after it; call uow.begin() before the step instead")

    def begin(self) -> None:
        """Open the transaction now (PostgreSQL opens it at the first write otherwise).

        A unit that writes after a workflow step calls this first, so that the step and what
        follows commit or roll back together.
        """
        if self.dialect == "postgresql" and not self._server_transaction_open():
            self.check_may_write()
            # A read-only unit's transaction is READ ONLY: PostgreSQL refuses a write in it, so it
            # may end with COMMIT (see __exit__).
            self.conn.connection.driver_connection.execute("BEGIN READ ONLY" if self.read_only else "BEGIN")

    def begin_mid_step(self) -> None:
        """Open the transaction for a write made while a step runs (an action that opens a case):
        on PostgreSQL the step's instance is locked first, as every step of the case locks it."""
        if self.dialect == "postgresql" and self.step_instance is not None:
            self.lock_instance(self.step_instance)
        else:
            self.begin()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run callback after a successful commit (never if the work is rolled back)."""
        self._after_commit.append(callback)

    def on_rollback(self, callback: Callable[[], None]) -> None:
        """Run callback if the work is rolled back or left uncommitted (never after a successful commit)."""
        self._on_rollback.append(callback)
