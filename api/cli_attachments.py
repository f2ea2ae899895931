"""`petiflow attachments sweep`: delete the attachment files no attachment names, older than a grace period.

The sweep (engine.services.attachment_sweep) walks the attachments folder shard by shard with
progress on stderr. Ctrl+C finishes the batch in hand and stops (a second Ctrl+C stops at once:
a file being removed may stay set aside, and the next sweep puts it back or removes it). At the
end it says what it found and did, with the bytes freed; `--dry-run` removes nothing.
"""
from __future__ import annotations

import re
import sys
from datetime import timedelta

import click

from engine.settings import Settings


class _Duration(click.ParamType):
    """A duration: a number and a unit, s, m, h or d (90m, 24h, 7d)."""

    name = "duration"
    _FORM = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
    _UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

    def convert(self, value, param, ctx):
        if isinstance(value, timedelta):
            return value
        found = self._FORM.fullmatch(str(value).strip().lower())
        if found is None or float(found.group(1)) <= 0:
            self.fail(f"{value!r} is not a duration such as 90m, 24h or 7d", param, ctx)
        return timedelta(**{self._UNITS[found.group(2)]: float(found.group(1))})


def size_text(size: int) -> str:
    """A size as people read it: 512 bytes, 3.2 KiB, 14.0 MiB, 2.1 GiB."""
    if size < 1024:
        return f"{size} byte{'s' if size != 1 else ''}"
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}"
    raise AssertionError("unreachable")


def _hours(grace: timedelta) -> str:
    hours = grace.total_seconds() / 3600
    return f"{hours:g} h"


@click.group("attachments")
def attachments() -> None:
    """The files attached to cases: sweep away those no attachment names."""


@attachments.command("sweep")
@click.option("--grace", type=_Duration(), default="24h", show_default=True,
              help="Leave files younger than this (an upload in flight), e.g. 90m, 24h, 7d.")
@click.option("--dry-run", is_flag=True, help="Remove nothing; say what would be removed.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000),
              help="Files asked about per database query.")
def sweep(grace: timedelta, dry_run: bool, batch_size: int) -> None:
    """Delete the files of the attachments folder that no attachment names and that are older than the grace
    period, and the temporary files uploads and removals cut short left there.

    Ctrl+C finishes the batch in hand and stops; running it again carries on.
    """
    from api.cli import _migrated_runtime
    from api.cli_timers import _Interrupt
    from engine.services.attachment_sweep import SweepAttachments, SweepReport, sweep_attachments
    runtime = _migrated_runtime(Settings.from_env())
    try:
        click.echo(f"{'dry run: ' if dry_run else ''}sweeping {runtime.attachments.root}: files no attachment "
                   f"names, older than {_hours(grace)}")
        with _Interrupt("batch") as interrupt, click.progressbar(length=1, label="shards", show_pos=True,
                                                                 file=sys.stderr) as bar:
            def progress(report: SweepReport, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(1)
            try:
                report = sweep_attachments(SweepAttachments(grace, dry_run, batch_size), runtime, progress=progress,
                                           stop=lambda: interrupt.requested)
            except KeyboardInterrupt:
                report = None
    finally:
        runtime.close()
    if report is None:
        click.echo("interrupted at once: a file being removed may be left set aside (.withdrawn-...); "
                   "the next sweep puts it back or removes it")
        sys.exit(130)
    would = "would remove" if dry_run else "removed"
    click.echo(f"looked at {report.files} file{'s' if report.files != 1 else ''} in {report.shards} "
               f"shard{'s' if report.shards != 1 else ''}: {report.named} named by attachments, {report.young} "
               f"younger than {_hours(grace)} left alone")
    click.echo(f"{would} {report.removed} file{'s' if report.removed != 1 else ''} no attachment names "
               f"({size_text(report.removed_bytes)})")
    if report.leftovers:
        click.echo(f"{would} {report.leftovers} temporary file{'s' if report.leftovers != 1 else ''} of uploads "
                   f"or removals cut short ({size_text(report.leftover_bytes)})")
    if report.restored:
        click.echo(f"{'would put' if dry_run else 'put'} {report.restored} file{'s' if report.restored != 1 else ''} "
                   "set aside by a removal cut short back in place: an attachment names it")
    if report.used_again:
        click.echo(f"kept {report.used_again} file{'s' if report.used_again != 1 else ''} an upload used again "
                   "while the sweep looked")
    for path, reason in report.failed:
        click.echo(f"  could not remove {path}: {reason}")
    if report.interrupted:
        click.echo("interrupted: the shards not reached are left as they were; run the sweep again to finish")
        sys.exit(130)
    if report.failed:
        sys.exit(1)
