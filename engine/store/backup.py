"""A consistent copy of the embedded SQLite database, taken while petiflow keeps running.

Copying the file with `cp` while petiflow writes gives a copy that may not open, or holds
half a step: the database is the file *and* its write-ahead log. `VACUUM INTO` reads one
snapshot of both (writers carry on meanwhile: the database is in WAL mode) and writes it
compacted to a new file. The copy is written beside the target under a hidden name of its
own, checked with `PRAGMA quick_check`, and only then given the target's name (never over an
existing file), so the target is either a whole, checked backup or absent. PostgreSQL is backed up with its own tools.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sqlalchemy.engine import Engine, make_url

from engine.errors import InvalidInput

#: How often the progress callback hears how far the copy has got, in seconds.
PROGRESS_EVERY = 0.5


@dataclass(frozen=True)
class BackupDone:
    """What a backup wrote."""

    target: Path
    bytes: int
    seconds: float


def sqlite_file(database_url) -> Path:
    """The file of a SQLite database URL; InvalidInput for PostgreSQL or an in-memory database."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        raise InvalidInput("the database is PostgreSQL: back it up with the server's tools, e.g. "
                           "pg_dump --format=custom --file=petiflow.dump DATABASE_URL")
    if not url.database or url.database == ":memory:":
        raise InvalidInput("an in-memory database has nothing to back up")
    return Path(url.database).resolve()


def _exists(target: Path) -> InvalidInput:
    return InvalidInput(f"{target} already exists: choose a new file name (a backup never overwrites)")


def _check_target(target: Path, source: Path) -> Path:
    try:
        target = target.expanduser().resolve()
        if target == source:
            raise InvalidInput(f"{target} is the database itself: choose another file")
        if target.exists():
            raise _exists(target)
        if not target.parent.is_dir():
            raise InvalidInput(f"the folder {target.parent} does not exist")
    except OSError as exc:  # a name too long for the file system, say
        raise InvalidInput(f"cannot write a backup to {target}: {exc.strerror or exc}") from None
    return target


def _keep(partial: Path, target: Path) -> None:
    """Give the checked copy its name, never over a file that appeared meanwhile."""
    try:
        os.link(partial, target)  # fails if target exists, unlike a rename
    except FileExistsError:
        raise _exists(target) from None
    except OSError:  # a file system without hard links
        if target.exists():
            raise _exists(target) from None
        os.replace(partial, target)
        return
    partial.unlink()


def _live_size(source: Path) -> int:
    """About how many bytes the copy will have: the pages in use, the log's included."""
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as conn:
        page_size, pages, free = (conn.execute(f"PRAGMA {p}").fetchone()[0]
                                  for p in ("page_size", "page_count", "freelist_count"))
    return max(page_size * (pages - free), 1)


def backup_sqlite(db: Engine, target: Path,
                  progress: Callable[[int, int], None] | None = None) -> BackupDone:
    """Write a checked copy of the SQLite database to target (a new file).

    progress(bytes written, bytes expected) is called from this thread while the copy runs.
    KeyboardInterrupt (Ctrl+C) or an exception from progress stops the copy and removes
    what was written; the target is never left half written.
    """
    source = sqlite_file(db.url)
    target = _check_target(Path(target), source)
    # A name of this run's own: an older copy stopped by kill -9, or a file someone named so, is left alone.
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    expected = _live_size(source)
    started = time.monotonic()
    conn = sqlite3.connect(source, check_same_thread=False, timeout=10)
    failure: list[BaseException] = []

    def copy() -> None:
        try:
            conn.execute("VACUUM INTO ?", (str(partial),))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            failure.append(exc)

    worker = threading.Thread(target=copy, name="petiflow-backup", daemon=True)
    try:
        worker.start()
        while worker.is_alive():
            worker.join(PROGRESS_EVERY)
            if progress is not None and worker.is_alive():
                progress(partial.stat().st_size if partial.exists() else 0, expected)
        if failure:
            if isinstance(failure[0], sqlite3.OperationalError):  # the target's disk is full, read-only, ...
                raise InvalidInput(f"cannot write a backup to {target}: {failure[0]}")
            raise failure[0]
        check = sqlite3.connect(f"file:{partial}?mode=ro", uri=True)
        try:
            verdict = check.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            check.close()
        if verdict != "ok":
            raise RuntimeError(f"the copy failed its integrity check: {verdict}")
        _keep(partial, target)
    except BaseException:
        conn.interrupt()  # stops VACUUM INTO at its next page
        worker.join()
        for leftover in (partial, partial.with_name(partial.name + "-journal")):
            leftover.unlink(missing_ok=True)
        raise
    finally:
        conn.close()
    size = target.stat().st_size
    if progress is not None:
        progress(size, size)
    return BackupDone(target, size, time.monotonic() - started)
