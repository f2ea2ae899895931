"""`petiflow reports`: catch the report rollups up, rebuild them from the case records, check them.

`rebuild` empties the rollups and marks every case in one transaction, then recomputes the cases
batch by batch, each batch committed, with progress. Ctrl+C finishes the batch in hand and stops
(a second Ctrl+C stops at once: that batch rolls back); the cases not reached stay marked, and
the workers' catch-up, `catch-up` or `rebuild` again finish them, each case counted once.
`check` recomputes every case's share (a full scan) and compares the sums with the rollups.
"""
from __future__ import annotations

import sys

import click

from engine.settings import Settings


@click.group("reports")
def reports() -> None:
    """The report rollups: catch up, rebuild, check."""


def _runtime():
    from api.cli import _migrated_runtime
    return _migrated_runtime(Settings.from_env())


def _run_batches(runtime, label: str, work) -> tuple[int, bool]:
    """Run `work(progress, stop)` with a progress bar on stderr and Ctrl+C stopping between batches."""
    from api.cli_timers import _Interrupt
    from engine.queries.reports import rollup_backlog
    with runtime.uow(read_only=True) as uow:
        waiting = rollup_backlog(uow)
    interrupted = False
    with _Interrupt("batch") as interrupt, click.progressbar(length=max(waiting, 1), label=label, show_pos=True,
                                                             file=sys.stderr) as bar:
        state = {"done": 0}

        def progress(done: int, left: int) -> None:
            bar.length = max(done + left, 1)
            bar.update(done - state["done"])
            state["done"] = done
        try:
            result = work(progress, lambda: interrupt.requested)
        except KeyboardInterrupt:
            result, interrupted = None, True
    return result, interrupted or interrupt.requested


@reports.command("rebuild")
@click.option("--batch", default=2_000, show_default=True, type=click.IntRange(1, 100_000),
              help="Cases recomputed per transaction.")
def rebuild(batch: int) -> None:
    """Recompute the rollups from the case records (the reports show part of the figures meanwhile)."""
    from engine.services.reports import RebuildRollups, rebuild_rollups
    runtime = _runtime()
    try:
        click.echo("emptying the rollups and marking every case ...")
        result, interrupted = _run_batches(
            runtime, "recomputing", lambda progress, stop: rebuild_rollups(RebuildRollups(batch), runtime,
                                                                             progress=progress, stop=stop))
        if result is not None and result.busy:
            click.echo("another catch-up is running (a worker, or a rebuild): nothing changed; try again shortly")
            sys.exit(1)
        from engine.queries.reports import rollup_backlog
        with runtime.uow(read_only=True) as uow:
            left = rollup_backlog(uow)
    finally:
        runtime.close()
    if result is not None:
        click.echo(f"marked {result.marked} cases, recomputed {result.recomputed}")
    if interrupted or left:
        click.echo(f"interrupted: {left} cases still wait; the workers' catch-up, `petiflow reports catch-up` "
                   "or this command again finish them")
        sys.exit(130)
    click.echo("the rollups are rebuilt from the case records")


@reports.command("catch-up")
def catch_up() -> None:
    """Bring the rollups up to date with every marked case now (what the workers do continually)."""
    from engine.services.reports import catch_up_all
    runtime = _runtime()
    try:
        done, interrupted = _run_batches(runtime, "catching up",
                                         lambda progress, stop: catch_up_all(runtime, progress=progress, stop=stop))
    finally:
        runtime.close()
    click.echo(f"caught up {done or 0} cases" + (" (interrupted)" if interrupted else ""))
    if interrupted:
        sys.exit(130)


@reports.command("check")
@click.option("--show", default=20, show_default=True, type=click.IntRange(0, 10_000),
              help="Differences listed at most.")
def check(show: int) -> None:
    """Recompute every case's share and compare with the rollups; exit 1 if they differ."""
    from engine.services.reports import CheckRollups, check_rollups
    runtime = _runtime()
    try:
        with runtime.uow(read_only=True) as uow:
            result = check_rollups(CheckRollups(show), uow)
    finally:
        runtime.close()
    for table, key, measure, stored, computed in result.first_differences:
        click.echo(f"  {table} {'/'.join(str(k) for k in key)} {measure}: {stored} stored, {computed} from the cases")
    if result.pending:
        click.echo(f"{result.pending} cases wait for the catch-up (their latest changes are not in the rollups yet)")
    if result.differing:
        click.echo(f"the rollups differ from the case records in {result.differing} counters; "
                   "run `petiflow reports rebuild`")
        sys.exit(1)
    click.echo(f"the rollups agree with the case records ({result.cells} counters)"
               + ("" if not result.pending else ", as far as caught up"))
    if result.pending:
        sys.exit(1)
