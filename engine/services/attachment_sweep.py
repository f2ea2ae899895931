"""Sweep the attachments folder: delete the files no attachment names, once they are older than a grace period.

A file can be left with no row naming it: its unit of work failed after it was put in place and
could not take it away (a crash, a power cut), or its row was deleted. Also left over: the
temporary files of uploads a crash cut short (`.incoming-...`), and files set aside by a removal
a crash cut short (`.withdrawn-...`). The sweep walks the folder one shard (`ab/`) at a time,
asks the database in batches which of the files it found are named by a row (`sha256`, or
`original_sha256` for a mailbox photo as it came), and takes the others away with
AttachmentStore.withdraw: a file an upload used again while the sweep looked is put back.

Only files older than the grace period are touched, on the runtime's clock (a file's time is when
it was put in place or last used again): an upload in flight, whose unit of work has not
committed yet, is never swept. The grace period must be longer than any upload's unit of work
takes (minutes at most); the default is a day. A dry run removes nothing and says what it would.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import bindparam, select, union

from engine.store.files import INCOMING_PREFIX, WITHDRAWN_PREFIX
from engine.store.schema import attachments

log = logging.getLogger(__name__)

#: How old a file no row names must be before a sweep removes it.
DEFAULT_GRACE = timedelta(hours=24)

#: How many files one question to the database is about.
BATCH = 500

_SHARD = re.compile(r"[0-9a-f]{2}")

_named = union(
    select(attachments.c.sha256).where(attachments.c.sha256.in_(bindparam("b_shas", expanding=True))),
    select(attachments.c.original_sha256).where(attachments.c.original_sha256.in_(bindparam("b_shas",
                                                                                            expanding=True))))


@dataclass(frozen=True)
class SweepAttachments:
    """Remove the attachment files no row names that are older than `grace` (`dry_run`: only count them)."""

    grace: timedelta = DEFAULT_GRACE
    dry_run: bool = False
    batch_size: int = BATCH


@dataclass
class SweepReport:
    """What a sweep found and did; on a dry run, `removed` and `removed_bytes` are what it would remove."""

    files: int = 0  # kept files looked at
    named: int = 0  # named by a row: kept
    young: int = 0  # younger than the grace period: kept, whether a row names them or not
    removed: int = 0  # named by no row and older than the grace period
    removed_bytes: int = 0
    used_again: int = 0  # named by no row when asked, but used by an upload meanwhile: put back
    leftovers: int = 0  # temporary files of cut-short uploads and removals, removed
    leftover_bytes: int = 0
    restored: int = 0  # set aside by a removal cut short though a row names them: put back
    failed: list = field(default_factory=list)  # (path, reason)
    shards: int = 0  # shards (ab/) done
    interrupted: bool = False


def sweep_attachments(cmd: SweepAttachments, runtime, *, progress=None, stop=None) -> SweepReport:
    """Sweep the runtime's attachments folder; returns what was found and done.

    `progress(report, total_shards)` after each shard; `stop()`, asked between batches, ends the sweep
    early (report.interrupted): every file is then as it was or removed, never half.
    """
    if cmd.grace <= timedelta(0):
        raise ValueError("the grace period must be longer than zero (a shorter one could take an upload in flight)")
    store, report = runtime.attachments, SweepReport()
    with runtime.uow(read_only=True) as uow:
        cutoff = uow.clock.now() - cmd.grace
    cutoff_ns = int(cutoff.timestamp() * 1_000_000_000)
    root = store.root
    shards = [p for p in _folders(root) if _SHARD.fullmatch(p.name)]
    _leftovers(runtime, cmd, root, cutoff_ns, report)
    for shard in shards:
        if stop is not None and stop():
            report.interrupted = True
            break
        batch: list = []
        for sub in _folders(shard):
            for entry in _files(sub):
                sha = store.sha256_of(entry.name)
                if sha is None or not entry.name.startswith(shard.name + sub.name):
                    continue  # not a kept file: never touched
                report.files += 1
                batch.append((sha, Path(entry.path), entry.stat(follow_symlinks=False)))
                if len(batch) >= cmd.batch_size:
                    _sweep_batch(runtime, cmd, batch, cutoff_ns, report)
                    batch = []
                    if stop is not None and stop():
                        report.interrupted = True
                        break
            if report.interrupted:
                break
        if report.interrupted:
            break
        if batch:
            _sweep_batch(runtime, cmd, batch, cutoff_ns, report)
        report.shards += 1
        if progress is not None:
            progress(report, len(shards))
    return report


def _folders(path: Path) -> list:
    try:
        return sorted(Path(e.path) for e in os.scandir(path) if e.is_dir(follow_symlinks=False))
    except FileNotFoundError:
        return []


def _files(path: Path) -> list:
    try:
        return sorted((e for e in os.scandir(path) if e.is_file(follow_symlinks=False)), key=lambda e: e.name)
    except FileNotFoundError:
        return []


def _named_among(runtime, shas: list) -> set:
    with runtime.uow(read_only=True) as uow:
        return set(uow.conn.execute(_named, {"b_shas": shas}).scalars())


def _sweep_batch(runtime, cmd: SweepAttachments, batch: list, cutoff_ns: int, report: SweepReport) -> None:
    """Ask which of the batch's files a row names; take the others older than the cutoff away."""
    store = runtime.attachments
    old = [(sha, path, found) for sha, path, found in batch if found.st_mtime_ns < cutoff_ns]
    report.young += len(batch) - len(old)
    named = _named_among(runtime, sorted({sha for sha, _, _ in old})) if old else set()
    for sha, path, found in old:
        if sha in named:
            report.named += 1
        elif cmd.dry_run:
            report.removed += 1
            report.removed_bytes += found.st_size
        else:
            try:
                size = store.withdraw(path, sha, lambda aside: aside.st_mtime_ns < cutoff_ns)
            except OSError as exc:
                report.failed.append((str(path), f"{type(exc).__name__}: {exc.strerror or exc}"))
                continue
            if size is None:
                report.used_again += 1
            else:
                report.removed += 1
                report.removed_bytes += size
                log.info("removed attachment file %s, %d bytes: no attachment names it", sha, size)


def _leftovers(runtime, cmd: SweepAttachments, root: Path, cutoff_ns: int, report: SweepReport) -> None:
    """The temporary files at the folder's top older than the cutoff: an upload's never finished (deleted),
    a removal's cut short (put back if a row names the file and it is not in place, else deleted)."""
    store = runtime.attachments
    for entry in _files(root):
        incoming, aside = entry.name.startswith(INCOMING_PREFIX), entry.name.startswith(WITHDRAWN_PREFIX)
        if not (incoming or aside):
            continue
        found = entry.stat(follow_symlinks=False)
        if found.st_mtime_ns >= cutoff_ns:
            continue  # an upload or a removal in progress
        path = Path(entry.path)
        sha = store.sha256_of(entry.name[len(WITHDRAWN_PREFIX):][:64]) if aside else None
        try:
            restore = sha is not None and not store.path_of(sha).exists() and sha in _named_among(runtime, [sha])
            if restore and not cmd.dry_run:
                store.put_back(path, store.path_of(sha))
                log.warning("put attachment file %s back in place: a row names it", sha)
            elif not cmd.dry_run:
                path.unlink()
        except FileNotFoundError:
            continue  # taken by another sweep meanwhile
        except OSError as exc:
            report.failed.append((str(path), f"{type(exc).__name__}: {exc.strerror or exc}"))
            continue
        if restore:
            report.restored += 1
        else:
            report.leftovers += 1
            report.leftover_bytes += found.st_size
