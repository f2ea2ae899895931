"""Attachment files on disk, content-addressed by SHA-256: <var>/attachments/ab/cd/<sha256>.

A file is received into a temporary file in the attachments folder itself (one file system, so
the rename that follows is atomic), hashed and counted as it is written, flushed to disk, and
only then renamed to its final name: a crash leaves at most a temporary file (named
`.incoming-...`), never half a file under a final name. The same content is kept once however
often it is attached. Files are never changed; a row of `attachments` names its file by SHA-256.

A file's modification time says when it was last put to use, on the runtime's clock: when it
was put in place, and again whenever an upload of the same content finds it kept already
(`keep`). Taking a file away (`withdraw`: a unit of work that put it in place did not commit,
or no row names it: engine.services.attachment_sweep) first renames it aside (`.withdrawn-...`),
then looks at it there: a file used again meanwhile is put back, one untouched is deleted. An
upload that finds the file gone puts its own copy in place. So a file an upload in flight is
about to name is never lost to its removal.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Callable

from engine.errors import TooLarge

#: How received files are named until they are whole (left over only by a crash).
INCOMING_PREFIX = ".incoming-"

#: How a file being taken away is named while it is looked at (left over only by a crash).
WITHDRAWN_PREFIX = ".withdrawn-"

#: How far a file used again moves its time on at least: past the coarsest time stamps of a file
#: system (FAT's two seconds), so that taking away a file just put in place sees the reuse.
REUSE_STEP_NS = 2_000_000_000

#: How much of an upload is copied at a time.
CHUNK_BYTES = 1024 * 1024

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Staged:
    """A file received whole into its temporary file, with its digest and size."""

    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class Kept:
    """A file in place under its SHA-256: whether this upload put it there (it was not kept before),
    and its modification time as the upload left it (nanoseconds)."""

    path: Path
    sha256: str
    placed: bool
    mtime_ns: int


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)


@dataclass(frozen=True)
class AttachmentStore:
    """The attachments folder, and the largest file it takes (bytes)."""

    root: Path
    max_bytes: int

    def path_of(self, sha256: str) -> Path:
        """Where the file of this SHA-256 (64 lower-case hex digits) is kept; raises ValueError for another string."""
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a SHA-256 in hex: {sha256[:80]!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def sha256_of(self, name: str) -> str | None:
        """The SHA-256 a kept file's name is, or None for a name that is not one."""
        return name if _SHA256.fullmatch(name) else None

    def receive(self, stream: BinaryIO, now: datetime | None = None) -> Staged:
        """Copy the stream into a temporary file, hashing it; raises TooLarge past max_bytes (nothing is kept).

        `now` (the runtime clock's) is the file's time once received, as kept files count their age.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=INCOMING_PREFIX, dir=self.root)  # mode 0600: personal data
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(handle, "wb") as out:
                while chunk := stream.read(CHUNK_BYTES):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise TooLarge(f"the file is larger than {_mib(self.max_bytes)}, the most an attachment "
                                       "may be", details={"fields": {"file": [f"at most {_mib(self.max_bytes)}"]}})
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if now is not None:
                os.utime(name, ns=(_ns(now), _ns(now)))
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Staged(Path(name), digest.hexdigest(), size)

    def keep(self, staged: Staged, now: datetime) -> Kept:
        """Put the staged file in place under its SHA-256, or, when that content is kept already, drop the
        staged copy and mark the kept file used again now. `now` is the runtime clock's."""
        final = self.path_of(staged.sha256)
        try:
            mtime_ns = self._use_again(final, now)
        except FileNotFoundError:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.utime(staged.path, ns=(_ns(now), _ns(now)))
            os.replace(staged.path, final)
            _sync_folder(final.parent)  # the new name survives a power cut, as the content does
            return Kept(final, staged.sha256, True, final.stat().st_mtime_ns)
        self.discard(staged)
        return Kept(final, staged.sha256, False, mtime_ns)

    def _use_again(self, final: Path, now: datetime) -> int:
        """Move a kept file's time to now, and at least REUSE_STEP_NS past its own; raises FileNotFoundError
        when it is not there (never kept, or being taken away)."""
        before = final.stat().st_mtime_ns
        moment = max(_ns(now), before + REUSE_STEP_NS)
        os.utime(final, ns=(moment, moment))
        return final.stat().st_mtime_ns

    def discard(self, staged: Staged) -> None:
        """Delete the staged file if it is still there."""
        staged.path.unlink(missing_ok=True)

    def withdraw(self, path: Path, sha256: str, unused: Callable[[os.stat_result], bool]) -> int | None:
        """Take a kept file away unless it was used again: rename it aside, then delete it if `unused(its
        stat)` says so, returning its size, or else put it back and return None (None too if it was gone)."""
        aside = self.root / f"{WITHDRAWN_PREFIX}{sha256}-{secrets.token_hex(4)}"
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return None
        found = aside.stat()
        if unused(found):
            aside.unlink()
            return found.st_size
        self.put_back(aside, path)
        return None

    def put_back(self, aside: Path, path: Path) -> None:
        """Rename a file set aside to its name again (over a copy of the same content placed meanwhile)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(aside, path)
        _sync_folder(path.parent)

    def withdraw_placed(self, kept: Kept) -> int | None:
        """Take away a file this upload put in place, unless another used it since (its time moved)."""
        return self.withdraw(kept.path, kept.sha256, lambda found: found.st_mtime_ns == kept.mtime_ns)


def keep_in_unit(uow, staged: Staged) -> Kept:
    """Put a received file in place within a unit of work (its `attachments` store, its clock): if the unit
    does not commit, the file is taken away again, unless another upload used it meanwhile."""
    store = uow.attachments
    kept = store.keep(staged, uow.clock.now())
    if kept.placed:
        uow.on_rollback(lambda: store.withdraw_placed(kept))
    return kept


def _mib(size: int) -> str:
    return f"{size / 2**20:g} MiB"


def _sync_folder(folder: Path) -> None:
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # a platform that cannot open folders (Windows) has no folder to sync
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
