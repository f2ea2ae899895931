"""The `petiflow calendar` and `petiflow deadlines` commands: load and show the calendar and rules."""
from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click

from engine.errors import InvalidInput
from engine.queries.calendar import DEFAULT_CITY


class _Date(click.ParamType):
    """A calendar date written YYYY-MM-DD."""

    name = "YYYY-MM-DD"

    def get_metavar(self, param, ctx=None) -> str:
        return self.name

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return datetime.strptime(value.strip(), "%Y-%m-%d").date()
        except ValueError:
            self.fail(f"{value} is not a date ({self.name})", param, ctx)


_DATE = _Date()


def _runtime():
    from api.cli import _migrated_runtime, _settings  # late: api.cli registers these groups
    return _migrated_runtime(_settings())


def _fail(message: str) -> None:
    from api.cli import _fail as fail
    fail(message)


def _in_one_unit_of_work(items, label: str, step):
    """Run step(item, uow) for each item with a progress bar; commit all or nothing."""
    runtime = _runtime()
    try:
        with runtime.uow() as uow:
            results = []
            with click.progressbar(items, label=label, file=sys.stderr,
                                   item_show_func=lambda item: str(item) if item is not None else None) as bar:
                for item in bar:
                    results.append(step(item, uow))
            uow.commit()
        return results
    except InvalidInput as exc:
        from api.cli import refused
        _fail(refused(exc))
    finally:
        runtime.close()


def register(group: click.Group) -> None:
    """Add the calendar and deadlines groups to the `petiflow` command."""
    group.add_command(calendar)
    group.add_command(deadlines)


@click.group()
def calendar() -> None:
    """Working-day calendar: public holidays, the DGPA table, closure days."""


@calendar.command("load-holidays")
@click.option("--year", "years", type=int, multiple=True, required=True, help="Year to load (repeatable).")
@click.option("--city", default=DEFAULT_CITY, show_default=True)
def load_holidays(years, city: str) -> None:
    """Load public holidays and make-up workdays from holidays.TW (years the DGPA table lacks)."""
    from engine.services.calendar_admin import LoadPublicHolidays, load_public_holidays

    def step(year, uow):
        return load_public_holidays(LoadPublicHolidays(year, city), uow)
    for result in _in_one_unit_of_work(sorted(set(years)), "loading holidays.TW", step):
        click.echo(result.summary())


@calendar.command("import-dgpa")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--city", default=DEFAULT_CITY, show_default=True)
def import_dgpa(files, city: str) -> None:
    """Import the DGPA office calendar CSV(s) (data.gov.tw 14718), UTF-8 or Big5; replaces those years."""
    from engine.services.calendar_admin import ImportDgpaCalendar, import_dgpa_calendar

    def step(path, uow):
        return import_dgpa_calendar(ImportDgpaCalendar(path.read_bytes(), city, path.name), uow)
    for result in _in_one_unit_of_work(list(files), "importing the DGPA table", step):
        click.echo(result.summary())


@calendar.command("close")
@click.argument("day", type=_DATE)
@click.option("--reason", required=True, help="Why the offices close, e.g. 颱風停班.")
@click.option("--city", default=DEFAULT_CITY, show_default=True)
def close(day, reason: str, city: str) -> None:
    """Declare a closure day (typhoon): a day off for the city's deadlines from now on."""
    from engine.services.calendar_admin import AddClosureDay, add_closure_day
    (done,) = _in_one_unit_of_work([day], "recording the closure", lambda d, uow: add_closure_day(
        AddClosureDay(d, reason, city), uow))
    replaced = f" (replacing a {done.replaced} row)" if done.replaced else ""
    click.echo(f"{done.day} is a closure day for {done.city}: {done.reason}{replaced}; "
               "due dates already stored are not recomputed")


@calendar.command("show")
@click.option("--from", "start", type=_DATE, default=None, help="First date (default: today).")
@click.option("--to", "end", type=_DATE, default=None, help="Last date (default: two weeks on).")
@click.option("--city", default=DEFAULT_CITY, show_default=True)
def show(start, end, city: str) -> None:
    """List each date with how it counts for the city's deadlines, and why."""
    from engine.queries.calendar import calendar_view
    runtime = _runtime()
    try:
        with runtime.uow(read_only=True) as uow:
            view = calendar_view(uow, start, end, city)
        first, last, days, known = view.first, view.last, view.days, view.years_known
    except InvalidInput as exc:
        _fail(str(exc))
    finally:
        runtime.close()
    for d in days:
        why = f"  {d.kind}  {d.name or ''}  ({d.source}{'' if d.city in (None, DEFAULT_CITY) else ', ' + d.city})" \
            if d.kind else ""
        click.echo(f"{d.day} {d.day:%a}  {'working' if d.is_working_day else 'off':8}{why}".rstrip())
    working = sum(d.is_working_day for d in days)
    click.echo(f"{working} working day(s), {len(days) - working} day(s) off from {first} to {last}")
    for year in sorted({d.day.year for d in days} - known):
        click.secho(f"warning: no calendar rows for {year}, only weekends are off: run "
                    f"`petiflow calendar import-dgpa` or `petiflow calendar load-holidays --year {year}`",
                    fg="yellow", err=True)


@click.group()
def deadlines() -> None:
    """Deadline rules (以案管制): limits, reminders, escalation ladders, extension caps."""


@deadlines.command("load-defaults")
@click.option("--reset", is_flag=True, help="Also overwrite rules that exist (an admin's edits are lost).")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Rules file (default: workflows/seed/deadline_rules.json).")
def load_defaults(reset: bool, path) -> None:
    """Insert the default deadline rules that are missing."""
    from engine.services.calendar_admin import DEADLINE_RULES_FILE, LoadDeadlineRules, load_deadline_rules
    (done,) = _in_one_unit_of_work([path or DEADLINE_RULES_FILE], "loading deadline rules", lambda p, uow: (
        load_deadline_rules(LoadDeadlineRules(p, reset), uow)))
    click.echo(done.summary())


@deadlines.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include inactive rules.")
def list_rules(show_all: bool) -> None:
    """List the deadline rules, by case type."""
    from engine.queries.calendar import deadline_rules_list
    runtime = _runtime()
    try:
        with runtime.uow(read_only=True) as uow:
            rules = deadline_rules_list(uow, active_only=not show_all)
    finally:
        runtime.close()
    if not rules:
        click.echo("no deadline rules: run `petiflow deadlines load-defaults`")
    for r in rules:
        multi = f" ({r.limit_multi_agency} with several agencies)" if r.limit_multi_agency else ""
        cap = ", ".join(p for p in (
            f"{r.max_extensions} extension(s)" if r.max_extensions is not None else "extensions unlimited",
            f"total <= {r.max_total_days} days" if r.max_total_days is not None else None) if p)
        task = f" task={r.task}" if r.task else ""
        click.echo(f"{r.code}: {r.case_type}{task} channel={r.channel or '*'} category={r.category or '*'} "
                   f"priority={r.priority}: {r.limit_value} {r.limit_unit}{multi} from {r.first_day}; "
                   f"{cap}{'' if r.active else '; INACTIVE'}")
