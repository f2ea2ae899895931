"""Attachment files on disk, content-addressed by SHA-256: <var>/attachments/ab/cd/<sha256>.

A file is received into a temporary file in the attachments folder itself (one file system, so
the rename that follows is atomic), hashed and counted as it is written, flushed to disk, and
only then renamed to its final name: a crash leaves at most a temporary file (named
`.incoming-...`, safe to delete while petiflow is stopped), never half a file under a final
name. The same content is kept once however often it is attached. Files are never changed,
and never deleted by petiflow: a row of `attachments` names its file by SHA-256.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from engine.errors import TooLarge

#: How received files are named until they are whole (left over only by a crash).
INCOMING_PREFIX = ".incoming-"

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
class AttachmentStore:
    """The attachments folder, and the largest file it takes (bytes)."""

    root: Path
    max_bytes: int

    def path_of(self, sha256: str) -> Path:
        """Where the file of this SHA-256 (64 lower-case hex digits) is kept; raises ValueError for another string."""
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a SHA-256 in hex: {sha256[:80]!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def receive(self, stream: BinaryIO) -> Staged:
        """Copy the stream into a temporary file, hashing it; raises TooLarge past max_bytes (nothing is kept)."""
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
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Staged(Path(name), digest.hexdigest(), size)

    def keep(self, staged: Staged) -> Path:
        """Rename the staged file to its final name (dropping it when that content is kept already); returns it."""
        final = self.path_of(staged.sha256)
        if final.is_file():
            self.discard(staged)
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, final)
        _sync_folder(final.parent)  # the new name survives a power cut, as the content does
        return final

    def discard(self, staged: Staged) -> None:
        """Delete the staged file if it is still there."""
        staged.path.unlink(missing_ok=True)


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
