"""Calendar and deadline-rule administration: public holidays, the DGPA table, closures, rule defaults.

Sources and precedence, per city and date: an admin's row (a typhoon closure) is never
replaced by an import; the DGPA table (data.gov.tw dataset 14718) is the official calendar and
replaces `holidays.TW` rows for the years it covers; `holidays.TW` fills years the DGPA table
has not been imported for.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
from dataclasses import dataclass, fields
from datetime import date, timedelta
from pathlib import Path

import holidays
from sqlalchemy import and_, delete, insert, or_, select, update

from engine.deadlines.calendar import DEFAULT_CITY, invalidate
from engine.deadlines.rules import DeadlineRule, validate_rule
from engine.errors import InvalidInput
from engine.settings import PROJECT_ROOT
from engine.store.schema import calendar_days, deadline_rules

#: The shipped default deadline rules.
DEADLINE_RULES_FILE = PROJECT_ROOT / "workflows" / "seed" / "deadline_rules.json"

#: The header of the DGPA table, column by column.
DGPA_COLUMNS = ("西元日期", "星期", "是否放假", "備註")

#: 星期 as the DGPA writes it (some years use digits, 7 = Sunday), by date.weekday().
_WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")
_WEEKDAY_DIGITS = ("1", "2", "3", "4", "5", "6", "7")


@dataclass(frozen=True)
class LoadPublicHolidays:
    """Fill a year's public holidays and make-up workdays from `holidays.TW`."""

    year: int
    city: str = DEFAULT_CITY


@dataclass(frozen=True)
class ImportDgpaCalendar:
    """Import the DGPA's yearly office calendar CSV (UTF-8 with BOM, or Big5) for a city."""

    csv_bytes: bytes
    city: str = DEFAULT_CITY
    filename: str = "DGPA CSV"


@dataclass(frozen=True)
class AddClosureDay:
    """Declare a city's offices closed on a date (颱風停班): a day off for that city's deadlines."""

    day: date
    reason: str
    city: str = DEFAULT_CITY


@dataclass(frozen=True)
class LoadDeadlineRules:
    """Insert the default deadline rules whose code is missing; `reset` overwrites existing ones."""

    path: Path = DEADLINE_RULES_FILE
    reset: bool = False


@dataclass(frozen=True)
class CalendarLoaded:
    """What an import wrote: days off and make-up workdays, rows replaced, admin rows kept."""

    city: str
    source: str
    years: tuple
    holidays: int = 0
    makeup_workdays: int = 0
    replaced: int = 0
    kept: int = 0
    skipped: str | None = None

    def summary(self) -> str:
        years = ", ".join(map(str, self.years))
        if self.skipped:
            return f"{self.source} {years} for {self.city}: nothing loaded, {self.skipped}"
        return (f"{self.source} {years} for {self.city}: {self.holidays} weekday(s) off, "
                f"{self.makeup_workdays} make-up workday(s); {self.replaced} earlier row(s) replaced, "
                f"{self.kept} admin row(s) kept")


@dataclass(frozen=True)
class ClosureAdded:
    """A closure day was recorded; `replaced` names the kind of row it replaced, if any."""

    day: date
    city: str
    reason: str
    replaced: str | None = None


@dataclass(frozen=True)
class DeadlineRulesLoaded:
    """What loading the default rules did, by rule code."""

    inserted: tuple = ()
    updated: tuple = ()
    kept: tuple = ()

    def summary(self) -> str:
        return (f"deadline rules: {len(self.inserted)} inserted, {len(self.updated)} reset to the defaults, "
                f"{len(self.kept)} left as they are")


# --- holidays.TW ------------------------------------------------------------------------------

def _year_clause(city: str, years) -> object:
    return and_(calendar_days.c.city == city,
                or_(*(calendar_days.c.day.between(date(y, 1, 1), date(y, 12, 31)) for y in years)))


def load_public_holidays(cmd: LoadPublicHolidays, uow) -> CalendarLoaded:
    """Replace the year's `holidays.TW` rows, unless the DGPA table already covers that year.

    Weekday public holidays become days off; make-up Saturdays (補行上班), which holidays.TW
    lists in `weekend_workdays` (its `workday` category is commemorative days, not 補班), become
    working days. Raises InvalidInput for a year the library does not cover.
    """
    if not holidays.TW.start_year <= cmd.year <= holidays.TW.end_year:
        raise InvalidInput(f"holidays.TW covers {holidays.TW.start_year}-{holidays.TW.end_year}, not {cmd.year}")
    conn, where = uow.conn, _year_clause(cmd.city, [cmd.year])
    if conn.execute(select(calendar_days.c.id).where(where, calendar_days.c.source == "dgpa_csv").limit(1)).first():
        return CalendarLoaded(cmd.city, "holidays.TW", (cmd.year,),
                              skipped=f"{cmd.year} comes from the DGPA table, which takes precedence")
    tw = holidays.TW(years=cmd.year, categories=("public",), language="zh_TW")
    days = {d: (False, "holiday", name) for d, name in tw.items() if d.year == cmd.year and d.weekday() < 5}
    # weekend_workdays also holds dates of other years (2014-12-27 in every instance of 0.109).
    days.update({d: (True, "makeup_workday", "補行上班") for d in tw.weekend_workdays
                 if d.year == cmd.year and d.weekday() >= 5 and tw.is_working_day(d)})
    return _replace_rows(uow, cmd.city, "holidays.TW", [cmd.year], days, ("holidays.TW",))


def _replace_rows(uow, city, source, years, days: dict, replaces: tuple) -> CalendarLoaded:
    """Swap the rows of `replaces` sources in those years for `days`, leaving admin rows alone."""
    conn, where = uow.conn, _year_clause(city, years)
    admin = set(conn.execute(select(calendar_days.c.day).where(where, calendar_days.c.source == "admin")).scalars())
    replaced = conn.execute(delete(calendar_days).where(where, calendar_days.c.source.in_(replaces))).rowcount
    now = uow.clock.now()
    rows = [{"city": city, "day": d, "is_working_day": working, "kind": kind, "name": name,
             "source": source, "created_at": now}
            for d, (working, kind, name) in sorted(days.items()) if d not in admin]
    if rows:
        conn.execute(insert(calendar_days), rows)
    invalidate(uow)
    return CalendarLoaded(city, source, tuple(years),
                          holidays=sum(1 for r in rows if not r["is_working_day"]),
                          makeup_workdays=sum(1 for r in rows if r["is_working_day"]),
                          replaced=replaced, kept=len(admin & set(days)))


# --- the DGPA table ---------------------------------------------------------------------------

def _refuse(filename: str, line: int, column: str | None, problem: str):
    where = f"line {line}" + (f", column {column}" if column else "")
    raise InvalidInput(f"{filename}, {where}: {problem}; nothing was imported",
                       details={"file": filename, "line": line, "column": column})


def decode_dgpa(data: bytes, filename: str = "DGPA CSV") -> str:
    """The text of the CSV: UTF-8 with or without BOM, else Big5 (as cp950, what Windows writes)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp950")
    except UnicodeDecodeError as exc:
        _refuse(filename, data[:exc.start].count(b"\n") + 1, None, "the text is neither UTF-8 nor Big5")


def parse_dgpa(text: str, filename: str = "DGPA CSV") -> dict[date, tuple[bool, str]]:
    """Every date of the table as (is a day off, 備註); raises InvalidInput naming line and column."""
    if "\0" in text:  # a NUL is no part of a CSV text; the csv module would take it as data
        _refuse(filename, text.count("\n", 0, text.index("\0")) + 1, None,
                "NUL byte (is this the DGPA CSV, saved as UTF-8 or Big5?)")
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip() for cell in next(_rows(reader, filename), (1, []))[1]]
    for i, name in enumerate(DGPA_COLUMNS):
        if i >= len(header) or header[i] != name:
            _refuse(filename, 1, name, f"the header must be {','.join(DGPA_COLUMNS)}")
    found: dict[date, tuple[bool, str]] = {}
    lines: dict[date, int] = {}
    for line, row in _rows(reader, filename):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if len(cells) not in (3, 4):
            _refuse(filename, line, None, f"expected 4 columns, found {len(cells)}")
        raw_day, weekday, flag, note = (cells + [""])[:4]
        if not re.fullmatch(r"\d{8}", raw_day):
            _refuse(filename, line, "西元日期", f"{raw_day!r} is not a date written YYYYMMDD")
        try:
            day = date(int(raw_day[:4]), int(raw_day[4:6]), int(raw_day[6:]))
        except ValueError:
            _refuse(filename, line, "西元日期", f"{raw_day} is not a real date")
        if weekday not in (_WEEKDAYS[day.weekday()], _WEEKDAY_DIGITS[day.weekday()]):
            _refuse(filename, line, "星期", f"{weekday!r} but {day} is a 星期{_WEEKDAYS[day.weekday()]}")
        if flag not in ("0", "2"):
            _refuse(filename, line, "是否放假", f"{flag!r} is neither 0 (work) nor 2 (day off)")
        if day in found:
            _refuse(filename, line, "西元日期", f"{day} is listed twice (first on line {lines[day]})")
        found[day], lines[day] = (flag == "2", note), line
    if not found:
        _refuse(filename, 2, None, "the table has no days")
    for year in sorted({d.year for d in found}):
        size = (date(year + 1, 1, 1) - date(year, 1, 1)).days
        listed = sum(1 for d in found if d.year == year)
        if listed != size:
            missing = next(date(year, 1, 1) + timedelta(days=k) for k in range(size)
                           if date(year, 1, 1) + timedelta(days=k) not in found)
            _refuse(filename, reader.line_num, "西元日期",
                    f"{year} lists {listed} of its {size} days (first missing: {missing}); "
                    "the DGPA table covers whole years")
    return found


#: What a row running over several lines means in the DGPA table, whose cells never do.
_UNTERMINATED = "unterminated quote (a quoted cell is not closed on its line)"


def _rows(reader, filename):
    """(line, cells) of each row left in the reader. No cell of the table spans lines: a row that
    does ran from a quote left open to the next quote, or to the end of the file."""
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if reader.line_num > line:
                _refuse(filename, line, None, _UNTERMINATED)
            _refuse(filename, line, None, f"not readable as CSV ({exc})")
        if reader.line_num > line:
            _refuse(filename, line, None, _UNTERMINATED)
        yield line, row


def import_dgpa_calendar(cmd: ImportDgpaCalendar, uow) -> CalendarLoaded:
    """Replace the covered years' DGPA and holidays.TW rows with the table's exceptions to the default week.

    Raises InvalidInput naming the line and column of the first fault; nothing is written then.
    """
    table = parse_dgpa(decode_dgpa(cmd.csv_bytes, cmd.filename), cmd.filename)
    days = {}
    for day, (off, note) in table.items():
        weekend = day.weekday() >= 5
        if off and not weekend:
            days[day] = (False, "holiday", note or "放假")
        elif weekend and not off:
            days[day] = (True, "makeup_workday", note or "補行上班")
    years = sorted({d.year for d in table})
    return _replace_rows(uow, cmd.city, "dgpa_csv", years, days, ("dgpa_csv", "holidays.TW"))


# --- closures ---------------------------------------------------------------------------------

def add_closure_day(cmd: AddClosureDay, uow) -> ClosureAdded:
    """Record a closure day for the city (idempotent: the same date again updates the reason).

    Deadlines computed afterwards skip the day; due times already stored are not recomputed here.
    Raises InvalidInput without a reason.
    """
    reason = (cmd.reason or "").strip()
    if not reason:
        raise InvalidInput("a closure day needs a reason (e.g. 颱風停班)",
                           details={"fields": {"reason": ["required"]}})
    conn = uow.conn
    where = and_(calendar_days.c.city == cmd.city, calendar_days.c.day == cmd.day)
    before = conn.execute(select(calendar_days.c.kind).where(where)).scalar_one_or_none()
    conn.execute(delete(calendar_days).where(where))
    conn.execute(insert(calendar_days), {
        "city": cmd.city, "day": cmd.day, "is_working_day": False, "kind": "closure", "name": reason[:200],
        "source": "admin", "created_at": uow.clock.now()})
    invalidate(uow)
    return ClosureAdded(cmd.day, cmd.city, reason, before)


# --- deadline rules ---------------------------------------------------------------------------

_RULE_FIELDS = {f.name for f in fields(DeadlineRule)} - {"id"}


def read_rules(path: Path) -> list[DeadlineRule]:
    """The rules of a seed file, validated; raises InvalidInput naming the rule and field."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read deadline rules from {path}: {exc}") from exc
    rules = []
    for i, entry in enumerate(data.get("rules", [])):
        unknown = set(entry) - _RULE_FIELDS
        if unknown:
            raise InvalidInput(f"{path}: rule {entry.get('code', i)!r} has unknown field(s) {sorted(unknown)}")
        try:
            rule = DeadlineRule(**{**entry, "reminders": tuple(entry.get("reminders", ())),
                                   "escalations": tuple(entry.get("escalations", ()))})
        except TypeError as exc:
            raise InvalidInput(f"{path}: rule {entry.get('code', i)!r}: {exc}") from exc
        validate_rule(rule)
        rules.append(rule)
    codes = [r.code for r in rules]
    if len(set(codes)) != len(codes):
        raise InvalidInput(f"{path}: a rule code appears twice")
    return rules


def load_deadline_rules(cmd: LoadDeadlineRules, uow) -> DeadlineRulesLoaded:
    """Insert missing default rules by code; with `reset`, overwrite existing ones too."""
    rules = read_rules(cmd.path)
    conn, now = uow.conn, uow.clock.now()
    existing = set(conn.execute(select(deadline_rules.c.code)).scalars())
    inserted, updated, kept = [], [], []
    for rule in rules:
        values = {name: getattr(rule, name) for name in _RULE_FIELDS}
        values.update(reminders=list(rule.reminders), escalations=list(rule.escalations), updated_at=now)
        if rule.code not in existing:
            conn.execute(insert(deadline_rules), values)
            inserted.append(rule.code)
        elif cmd.reset:
            conn.execute(update(deadline_rules).where(deadline_rules.c.code == rule.code).values(**values))
            updated.append(rule.code)
        else:
            kept.append(rule.code)
    invalidate(uow)  # cached rules must not outlive the change
    return DeadlineRulesLoaded(tuple(inserted), tuple(updated), tuple(kept))
