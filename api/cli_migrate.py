"""`petiflow migrate-cases`: move running cases from one deployed version of a process to a later one.

A dry run first, page by page (engine.queries.migration); then each case that can move is moved in
its own unit of work (engine.services.migration). Progress is shown as it goes; Ctrl+C finishes the
case being moved and stops (a second Ctrl+C stops at once: that case's transaction is rolled back
and it stays as it was). At the end it says what it moved, what it refused and why, what failed.
"""
from __future__ import annotations

import sys

import click

from engine.settings import Settings


@click.command("migrate-cases")
@click.option("--process", "process_key", required=True, help="The process key, e.g. petition.")
@click.option("--from", "from_version", required=True, type=click.IntRange(min=1), help="The version cases run now.")
@click.option("--to", "to_version", required=True, type=click.IntRange(min=1), help="The later version to move them to.")
@click.option("--dry-run", is_flag=True, help="Only say which cases can move and why the others cannot.")
@click.option("--case", "case_nos", multiple=True, metavar="CASE_NO",
              help="Only this case (repeat for several); default: every running case of the version.")
def migrate_cases(process_key: str, from_version: int, to_version: int, dry_run: bool, case_nos: tuple) -> None:
    """Move running cases of a process from one deployed version to a later one.

    Each case moves in its own transaction; a case that cannot move (it waits at a task the new
    version removes...) is left as it was and named with the reason. Ctrl+C stops between cases.
    """
    from api.cli import _migrated_runtime
    from api.cli_timers import _Interrupt
    from engine.queries.migration import preview_migration
    from engine.services.migration import COMMAND_LINE, MigrateCases, MigrationReport
    from engine.services.migration import migrate_cases as run
    settings = Settings.from_env()
    runtime = _migrated_runtime(settings)
    command = MigrateCases(process_key, from_version, to_version, COMMAND_LINE,
                           case_nos=tuple(dict.fromkeys(c.strip() for c in case_nos if c.strip())), dry_run=dry_run)
    report = MigrationReport(process_key, from_version, to_version, dry_run)
    try:
        with runtime.uow(read_only=True) as uow:  # bad versions or process stop here, naming the problem
            first = preview_migration(uow, COMMAND_LINE, process_key, from_version, to_version, limit=1)
        total = len(command.case_nos) if command.case_nos else first.running_cases
        verb = "checking" if dry_run else "moving"
        click.echo(f"{process_key}: {first.running_cases} running case{'s' if first.running_cases != 1 else ''} "
                   f"on version {from_version}; {verb} {'the named cases' if command.case_nos else 'them'} "
                   f"{'against' if dry_run else 'to'} version {to_version}" + (" (dry run: nothing changes)" if dry_run else ""))
        with _Interrupt("case") as interrupt, click.progressbar(
                length=max(total, 1), label=verb, show_pos=True, file=sys.stderr,
                item_show_func=lambda case_no: case_no) as bar:
            def progress(_, result) -> None:
                report.results.append(result)
                bar.update(1, result.case_no)
            done = run(command, runtime, progress=progress, stop=lambda: interrupt.requested)
        report.interrupted = done.interrupted
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        runtime.close()
    _summary(report)


def _summary(report) -> None:
    if report.dry_run:
        click.echo(f"dry run, nothing changed: {report.movable} can move to version {report.to_version}, "
                   f"{report.refused} cannot")
    else:
        click.echo(f"moved {report.moved} to version {report.to_version}, refused {report.refused}, "
                   f"failed {report.failed}")
    for r in report.results:
        if r.result in ("refused", "failed"):
            click.echo(f"  {r.result}: {r.case_no}: {'; '.join(r.reasons)}")
    if report.refused or report.failed:
        click.echo(f"cases refused or failed stay on version {report.from_version}, as they were")
    if report.interrupted:
        click.echo("interrupted: cases not reached yet stay on version "
                   f"{report.from_version}; run the command again to go on")
        sys.exit(130)
    if report.failed:
        sys.exit(1)
