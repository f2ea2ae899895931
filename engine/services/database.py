"""The database as a whole: its schema revision, migrations, agreement with the models, backups.

These act on the runtime's database outside any unit of work (a migration or a backup is not a
step of a case), so they take the runtime rather than a command and a unit of work.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from engine.store import migrate
from engine.store.backup import BackupDone, backup_sqlite, sqlite_file

__all__ = ["BackupDone", "DatabaseState", "back_up", "database_state", "schema_differences", "sqlite_file",
           "upgrade_schema"]

#: The code's migration head cannot change while the process runs; reading the migration
#: scripts on every readiness probe would cost more than the probe itself.
_head_revision = cache(migrate.head_revision)


@dataclass(frozen=True)
class DatabaseState:
    """Whether the database answers, and the schema revision it is at against the code's."""

    reachable: bool
    revision: str | None = None
    head: str | None = None
    error: str | None = None  # why it did not answer: the error's class, the detail is in the log

    @property
    def current(self) -> bool:
        return self.reachable and self.revision == self.head


def database_state(runtime) -> DatabaseState:
    """Ask the database a question and read its schema revision; never raises for an outage."""
    try:
        with runtime.db.connect() as conn:
            conn.execution_options(read_only=True).execute(text("SELECT 1"))
        revision = migrate.current_revision(runtime.db)
    except SQLAlchemyError as exc:
        return DatabaseState(False, error=type(exc).__name__)
    return DatabaseState(True, revision, _head_revision())


def upgrade_schema(runtime, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate the schema to `revision`; returns the revisions before and after."""
    before = migrate.current_revision(runtime.db)
    migrate.upgrade(runtime.db, revision)
    return before, migrate.current_revision(runtime.db)


def schema_differences(runtime) -> list:
    """Where the database's schema differs from the models (empty when they agree)."""
    return migrate.schema_differences(runtime.db)


def back_up(runtime, target: Path, progress: Callable[[int, int], None] | None = None) -> BackupDone:
    """Copy the embedded SQLite database, while petiflow runs, to a new checked file (engine.store.backup)."""
    return backup_sqlite(runtime.db, target, progress=progress)
