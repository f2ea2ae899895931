"""Database engines: SQLite tuned for one writer at a time, PostgreSQL as is."""
from __future__ import annotations

import logging
import re
from functools import lru_cache

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from engine.settings import Settings


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


#: A statement that needs no transaction: a plain read (SELECT, SHOW, or a WITH query whose parts
#: only read: see _WRITING) that takes no row locks.
_PLAIN_READ = re.compile(r"\s*(SELECT|SHOW|WITH)\b", re.IGNORECASE)
#: What makes a WITH query a write: a data-modifying part.
_WRITING = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)
_LOCKING = re.compile(r"\bFOR\s+(UPDATE|NO\s+KEY\s+UPDATE|SHARE|KEY\s+SHARE)\b|\bpg_(try_)?advisory_xact_lock",
                      re.IGNORECASE)
#: psycopg.pq.TransactionStatus.IDLE: the server has no transaction open on the connection.
PG_IDLE = 0
#: psycopg.pq.TransactionStatus.INERROR: the server's transaction failed and awaits its end.
PG_FAILED = 3
#: Every step of a case that locks takes this row first (engine.store.uow.UnitOfWork.lock_instance).
LOCK_INSTANCE = "SELECT 1 FROM workflow_instances WHERE id = %(id)s FOR UPDATE"


#: Statements PostgreSQL refuses inside a transaction block, and transaction control itself.
_NO_TRANSACTION = re.compile(
    r"\s*(VACUUM|(CREATE|DROP)\s+(DATABASE|TABLESPACE)|ALTER\s+SYSTEM|"
    r"(CREATE|DROP|REINDEX)\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY|REINDEX\b.*\bCONCURRENTLY|"
    r"REINDEX\s+(SYSTEM|DATABASE)|DISCARD|"
    r"BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT)\b", re.IGNORECASE)


@lru_cache(maxsize=2048)
def _needs_transaction(statement: str) -> bool:
    if _NO_TRANSACTION.match(statement):
        return False
    read = _PLAIN_READ.match(statement)
    if not read:
        return True
    if read.group(1).upper() == "WITH" and _WRITING.search(statement):
        return True
    return bool(_LOCKING.search(statement))


def _tune_postgresql(engine: Engine) -> None:
    """Transactions begin at the first write or locking read, not at the first statement.

    The engine's connections are in driver autocommit (isolation_level AUTOCOMMIT); before a
    statement that writes or takes row locks (or DDL, SAVEPOINT...: anything but a plain read),
    BEGIN is sent unless the server already has a transaction open, and commit() and rollback()
    end it as usual. Statements PostgreSQL runs only outside a transaction (VACUUM, CREATE
    DATABASE...) and connections that asked for isolation_level AUTOCOMMIT themselves get none.
    Under READ COMMITTED a plain read sees the same rows outside a transaction as inside it,
    so nothing changes but the round trips saved. A statement run with the execution option
    `petiflow_atomic` (a workflow step, complete in itself: engine.store.step_sql) needs no BEGIN.
    """

    @event.listens_for(engine, "before_cursor_execute")
    def _begin_at_first_write(conn, cursor, statement, parameters, context, executemany):
        options = context.execution_options if context is not None else conn.get_execution_options()
        if (cursor.connection.info.transaction_status != PG_IDLE or not _needs_transaction(statement)
                or options.get("petiflow_atomic") or options.get("isolation_level") == "AUTOCOMMIT"):
            return  # a connection asked for AUTOCOMMIT explicitly gets it (VACUUM, maintenance)
        uow = conn.get_execution_options().get("petiflow_uow")
        if uow is None:
            cursor.execute("BEGIN")
        elif uow.step_instance is not None:
            # A step that writes before its save (an engine action) takes its instance's row
            # lock first, as every other step of the case does, so that two steps never lock
            # the case's rows in opposite orders.
            uow.lock_instance(uow.step_instance)
        else:
            uow.begin()


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
    # No JIT: petiflow's statements are short, and compiling one whose estimate passes jit_above_cost
    # (a text search gathering many candidates) took 13-26 ms, more than most of them run.
    engine = create_engine(url, hide_parameters=True, pool_size=10, max_overflow=10,
                           pool_recycle=3600, isolation_level="AUTOCOMMIT", connect_args={
                               "options": "-c jit=off",
                               "connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30,
                               "keepalives_interval": 10, "keepalives_count": 3})
    _tune_postgresql(engine)
    return engine
