"""Database engines: SQLite tuned for one writer at a time, PostgreSQL as is."""
from __future__ import annotations

import logging
import sqlite3

from sqlalchemy import create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from .errors import NotReady
from .settings import Settings


#: SQLite errors that mean the file cannot be used right now; its other operational errors
#: ("no such column": code newer than the schema) are faults to be seen, not waited out.
_SQLITE_OUTAGES = ("locked", "unable to open", "disk i/o error", "disk is full", "readonly database")


def is_outage(exc: BaseException) -> bool:
    """True when exc means the database cannot be reached right now (retry later), not a bug."""
    if isinstance(exc, NotReady):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    if isinstance(exc.orig, sqlite3.Error):
        message = str(exc.orig).lower()
        return any(sign in message for sign in _SQLITE_OUTAGES)
    return True  # PostgreSQL: a refused, lost or shut-down connection, a cancelled statement


#: PostgreSQL's codes for a table or column that does not exist (undefined_table, undefined_column).
_PG_MISSING = ("42P01", "42703")


def is_schema_behind(exc: BaseException) -> bool:
    """True when exc says a table or column is missing: the database needs `petiflow db upgrade`."""
    if not isinstance(exc, DBAPIError):
        return False
    if isinstance(exc.orig, sqlite3.OperationalError):
        return str(exc.orig).startswith(("no such table", "no such column"))
    return getattr(exc.orig, "sqlstate", None) in _PG_MISSING


def _tune_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE for every transaction.

    A deferred SQLite transaction that upgrades from read to write fails with
    "database is locked" under contention whatever the busy timeout; taking the
    write lock at BEGIN serialises writers instead (see reference/infra-notes.md).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event emit BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Readers (execution option read_only=True) must not queue behind a writer.
        read_only = conn.get_execution_options().get("read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _log_statements(enabled: bool) -> None:
    # Through the logging set up by the process (one line per statement), not SQLAlchemy's own
    # extra handler (echo=True), which printed each statement a second time.
    if enabled:
        logging.getLogger("sqlalchemy.engine.Engine").setLevel(logging.INFO)


def make_engine(settings: Settings) -> Engine:
    """Create the SQLAlchemy engine for the configured database.

    Statement parameters are never shown in errors or logs: they hold petitioners' personal data.
    """
    _log_statements(settings.sql_echo)
    url = settings.database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            settings.var_dir.mkdir(parents=True, exist_ok=True)
            from pathlib import Path
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, hide_parameters=True)
        else:
            engine = create_engine(url, hide_parameters=True, poolclass=StaticPool,
                                   connect_args={"check_same_thread": False})
        _tune_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    # No pre-ping: it costs a round trip per unit of work. A connection that died (server
    # restart) fails its first statement, the pool drops every connection, and the unit of
    # work is retried by its caller: workers retry, the API answers 503.
    # A host that vanishes without resetting connections must not hang a worker until the
    # kernel's TCP timeout: connect within 10 s, and notice a dead peer within about a minute.
    return create_engine(url, hide_parameters=True, pool_size=10, max_overflow=10,
                         pool_recycle=3600, connect_args={
                             "connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30,
                             "keepalives_interval": 10, "keepalives_count": 3})
