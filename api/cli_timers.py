"""`petiflow timers`: list pending timers; run the due ones as of a given moment (drills).

`run-due --as-of T` runs the deadline machinery synchronously on a clock standing at T
(DESIGN.md decision 13): it claims due timers in batches like the scheduler does and fires
each in its own unit of work like a worker does, so a drill shows what the city's staff
would find in their inboxes at T. Ctrl+C finishes the timer being fired and stops (a
second Ctrl+C stops at once; that timer's transaction is rolled back). Timers claimed
but not fired are given back, so the scheduler can take them.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import click

from engine.settings import Settings


class _Moment(click.ParamType):
    """An ISO 8601 time; without an offset it is read in the city's time zone."""

    name = "ISO time"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time such as 2026-12-03T09:00 or "
                      "2026-12-03T09:00:00+08:00", param, ctx)


MOMENT = _Moment()


def _aware(moment: datetime | None, settings: Settings) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=ZoneInfo(settings.timezone))


def _local(moment: datetime | None, settings: Settings) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(ZoneInfo(settings.timezone)).isoformat(sep=" ", timespec="seconds")


def _runtime(settings: Settings, clock=None):
    """A runtime on a database at the latest schema, or exit saying how to get there."""
    from api.cli import _migrated_runtime  # late: api.cli adds this group to `petiflow`
    return _migrated_runtime(settings, clock=clock)


def _width(text: str) -> int:
    """Columns the text takes in a terminal: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _clip(text: str, columns: int) -> str:
    """The text cut to at most this many terminal columns."""
    while _width(text) > columns:
        text = text[:-1]
    return text


@click.group("timers")
def timers() -> None:
    """Deadlines: list pending timers, run the due ones as of a moment."""


@timers.command("list")
@click.option("--due-before", type=MOMENT, default=None,
              help="Only timers due before this ISO time (city time when it has no offset).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000),
              help="Show at most this many.")
def list_timers(due_before, limit: int) -> None:
    """Pending timers, earliest due first, with their case numbers."""
    from engine.queries.timers import count_pending_timers, list_pending_timers
    settings = Settings.from_env()
    due_before = _aware(due_before, settings)
    runtime = _runtime(settings)
    try:
        with runtime.uow(read_only=True) as uow:
            total = count_pending_timers(uow, due_before)
            rows = list_pending_timers(uow, due_before=due_before, limit=limit)
    finally:
        runtime.close()
    where = f" due before {_local(due_before, settings)}" if due_before else ""
    if not rows:
        click.echo(f"no pending timers{where}")
        return
    table = [("ID", "CASE", "DUE", "KIND", "NAME", "TRIES", "LEASED BY")]
    table += [(str(t.id), t.case_no + ("" if t.case_status == "open" else f" ({t.case_status})"),
               _local(t.due_at, settings), t.kind, _clip(t.name or "", 40), str(t.attempts),
               t.lease_owner or "") for t in rows]
    widths = [max(_width(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths)).rstrip())
    shown = f", showing the first {len(rows)}" if total > len(rows) else ""
    click.echo(f"{total} pending timer{'s' if total != 1 else ''}{where}{shown}")
    for t in rows:
        if t.last_error:
            click.echo(f"timer {t.id} last failed: {t.last_error.splitlines()[0][:200]}")


@dataclass
class RunReport:
    """What a run-due did."""

    fired: list[int] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (timer id, case no, reason)
    interrupted: bool = False

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


class _Interrupt:
    """Ctrl+C once: finish the current timer (or whatever is in hand), then stop. Twice: stop now."""

    def __init__(self, what: str = "timer"):
        self.requested = False
        self._previous = None
        self._what = what

    def __enter__(self):
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: no handler, Ctrl+C stops at once
            self._previous = None
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        click.echo(f"\nstopping after the current {self._what} (Ctrl+C again to stop now)", err=True)

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


_SKIP_REASONS = {"done": "already fired", "cancelled": "cancelled (the task ended or the case was closed)",
                 "pending": "not due yet for its workflow", None: "no longer exists"}


def run_due_timers(runtime, *, batch_size: int = 100, limit: int | None = None, owner: str | None = None,
                   progress=None, interrupt: _Interrupt | None = None) -> RunReport:
    """Claim and fire the timers due on the runtime's clock until none is left; returns what happened.

    Each timer fires in its own unit of work; a failure is kept on the timer row
    (last_error) and its lease given back, so the scheduler retries it later.
    """
    from engine.queries.timers import case_numbers, timer_status
    from engine.services.timers import (
        ClaimDueTimers,
        FireTimer,
        RecordTimerFailure,
        ReleaseTimers,
        claim_due_timers,
        fire_timer,
        record_timer_failure,
        release_timers,
    )
    owner = owner or f"cli:{socket.gethostname()}:{os.getpid()}"
    report = RunReport()
    pending: list[int] = []
    try:
        while True:
            if interrupt is not None and interrupt.requested:
                report.interrupted = True
                break
            room = batch_size if limit is None else min(batch_size, limit - len(report.fired))
            if room <= 0:
                break
            with runtime.uow() as uow:
                pending = claim_due_timers(ClaimDueTimers(owner, room), uow)
                uow.commit()
            if not pending:
                break
            with runtime.uow(read_only=True) as uow:
                numbers = case_numbers(uow, pending)
            while pending:
                if interrupt is not None and interrupt.requested:
                    report.interrupted = True
                    break
                timer_id = pending[0]
                try:
                    with runtime.uow() as uow:
                        fired = fire_timer(FireTimer(timer_id), uow)
                        status = None if fired else timer_status(uow, timer_id)
                        uow.commit()
                except Exception as exc:  # noqa: BLE001 - reported, kept on the row, retried later
                    message = str(exc).splitlines()[0] if str(exc) else ""
                    reason = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
                    report.failed.append((timer_id, numbers.get(timer_id, "?"), reason))
                    # The lease stays until the end of the run, so this run does not claim it again.
                    with runtime.uow() as uow:
                        record_timer_failure(RecordTimerFailure(timer_id, reason), uow)
                        uow.commit()
                else:
                    if fired:
                        report.fired.append(timer_id)
                    else:
                        report.skipped[_SKIP_REASONS.get(status, f"status {status}")] += 1
                pending.pop(0)
                if progress is not None:
                    progress(report, numbers.get(timer_id, "?"))
            if report.interrupted:
                break
    finally:
        # Give back what was claimed but not fired (interrupted) and what failed, so the
        # scheduler can take them: their leases were counted on this run's clock.
        left = tuple(pending) + tuple(timer_id for timer_id, _, _ in report.failed)
        if left:
            with runtime.uow() as uow:
                release_timers(ReleaseTimers(left, owner), uow)
                uow.commit()
    return report


@timers.command("run-due")
@click.option("--as-of", "as_of", type=MOMENT, required=True,
              help="Run as if it were this ISO time (city time when it has no offset).")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 10_000),
              help="Timers claimed per batch.")
@click.option("--limit", default=None, type=click.IntRange(1), help="Stop after firing this many.")
def run_due(as_of: datetime, batch_size: int, limit: int | None) -> None:
    """Fire every timer due as of a moment, each in its own transaction (drills, catching up).

    Ctrl+C finishes the current timer and stops; what is left stays pending.
    """
    from engine.clock import FixedClock
    from engine.queries.timers import count_pending_timers
    settings = Settings.from_env()
    as_of = _aware(as_of, settings)
    runtime = _runtime(settings, clock=FixedClock(as_of))
    try:
        with runtime.uow(read_only=True) as uow:
            due = count_pending_timers(uow, as_of)
        click.echo(f"{due} pending timer{'s' if due != 1 else ''} due as of {_local(as_of, settings)}")
        with _Interrupt() as interrupt, click.progressbar(
                length=max(due, 1), label="firing", show_pos=True, file=sys.stderr,
                item_show_func=lambda case_no: case_no) as bar:
            def progress(report: RunReport, case_no: str) -> None:
                bar.update(1, case_no)
            report = run_due_timers(runtime, batch_size=batch_size, limit=limit, progress=progress,
                                    interrupt=interrupt)
    finally:
        runtime.close()
    click.echo(f"as of {_local(as_of, settings)}: fired {len(report.fired)}, "
               f"skipped {report.skipped_total}, failed {len(report.failed)}")
    for reason, count in sorted(report.skipped.items()):
        click.echo(f"  skipped {count}: {reason}")
    for timer_id, case_no, reason in report.failed:
        click.echo(f"  failed: timer {timer_id} of case {case_no}: {reason}")
    if report.failed:
        click.echo("failed timers stay pending with their error (see `petiflow timers list`); "
                   "the scheduler retries them")
    if report.interrupted:
        click.echo("interrupted: timers not fired yet stay pending")
        sys.exit(130)
    if report.failed:
        sys.exit(1)
