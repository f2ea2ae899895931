"""The report rollups: catch them up with the cases, rebuild them from the case records, check them.

How they stay right is engine.cases.rollups's docstring; the README's Reports section says it for
operators.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.cases import rollups


@dataclass(frozen=True)
class CatchUpRollups:
    """Bring the shares of up to `limit` marked cases, of ids above `after`, up to date."""

    limit: int = rollups.BATCH
    after: int = 0


@dataclass(frozen=True)
class CaughtUp:
    """How many cases a batch caught up (0: none waiting, or another catch-up is running), and the last id."""

    cases: int
    last_case_id: int


def catch_up_rollups(cmd: CatchUpRollups, uow) -> CaughtUp:
    """One batch of the catch-up, committed."""
    done, last = rollups.catch_up(uow, cmd.limit, cmd.after)
    uow.commit()
    return CaughtUp(done, last)


def catch_up_all(runtime, *, limit: int = rollups.BATCH, progress=None, stop=None) -> int:
    """Catch up batch after batch, each in its own unit of work, until no case waits (or `stop()`
    says so, between batches); returns the cases caught up. `progress(done, waiting)` after each batch.

    Batches go up the case ids; at the top, one more pass from the bottom takes the marks made
    meanwhile below."""
    total, after = 0, 0
    while stop is None or not stop():
        with runtime.uow() as uow:
            batch = catch_up_rollups(CatchUpRollups(limit, after), uow)
        if not batch.cases:
            if after == 0:
                break
            after = 0
            continue
        done, after = batch.cases, batch.last_case_id
        total += done
        if progress is not None:
            with runtime.uow(read_only=True) as uow:
                progress(total, rollups.pending(uow))
    return total


@dataclass(frozen=True)
class RebuildRollups:
    """Recompute the rollups from the case records."""

    limit: int = 2_000


@dataclass
class RebuildReport:
    """What a rebuild did: the cases marked for it, those recomputed, whether it was stopped."""

    marked: int = 0
    recomputed: int = 0
    interrupted: bool = False
    busy: bool = False  # another catch-up held the lock: nothing was emptied


def rebuild_rollups(cmd: RebuildRollups, runtime, *, progress=None, stop=None) -> RebuildReport:
    """Empty the rollups and mark every case (one transaction), then catch up batch by batch.

    Stopped between batches, the rollups hold the cases recomputed so far and the rest stay
    marked: any later catch-up (the workers', or this command again) completes them, each case
    counted once. Reports read in the meantime show part of the figures.
    """
    report = RebuildReport()
    with runtime.uow() as uow:
        marked = rollups.start_rebuild(uow)
        if marked < 0:
            report.busy = True
            return report
        uow.commit()
    report.marked = marked
    report.recomputed = catch_up_all(runtime, limit=cmd.limit, progress=progress, stop=stop)
    with runtime.uow(read_only=True) as uow:
        report.interrupted = rollups.pending(uow) > 0
    return report


@dataclass(frozen=True)
class CheckRollups:
    """Compare the rollups with what the case records give now."""

    show: int = 20


@dataclass(frozen=True)
class RollupCheck:
    """The check's answer: agree when no counter differs and no case waits for a catch-up."""

    differing: int
    first_differences: tuple = field(default_factory=tuple)  # (table, key, measure, stored, computed)
    pending: int = 0
    cells: int = 0

    @property
    def agree(self) -> bool:
        return self.differing == 0 and self.pending == 0


def check_rollups(cmd: CheckRollups, uow, *, progress=None) -> RollupCheck:
    """Recompute every case's share (a full scan) and compare the sums with the stored counters.

    Cases still marked for a catch-up are counted apart: their changes are not in the rollups yet.
    """
    waiting = rollups.pending(uow)
    computed = rollups.computed_counters(uow, progress=progress)
    stored = rollups.stored_counters(uow)
    found = rollups.differences(stored, computed)
    return RollupCheck(len(found), tuple(found[:cmd.show]), waiting, len(computed))
