"""Importing the DGPA office calendar (UTF-8 with BOM or Big5) and the default deadline rules; the CLI."""
import json
from datetime import date, timedelta

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from api.cli_calendar import register
from engine.deadlines.calendar import calendar_for
from engine.deadlines.rules import load_rules
from engine.errors import InvalidInput
from engine.services.calendar_admin import (
    AddClosureDay,
    ImportDgpaCalendar,
    LoadDeadlineRules,
    LoadPublicHolidays,
    add_closure_day,
    import_dgpa_calendar,
    load_deadline_rules,
    load_public_holidays,
)
from engine.store.schema import calendar_days, deadline_rules

_WEEKDAYS = "一二三四五六日"

#: The start of 114年中華民國政府行政機關辦公日曆表 (2025) as published: days off on weekdays, 補行上班.
DGPA_2025 = {date(2025, 1, 1): (2, "開國紀念日"), date(2025, 1, 27): (2, "調整放假"),
             date(2025, 1, 28): (2, "農曆除夕"), date(2025, 1, 29): (2, "春節"), date(2025, 1, 30): (2, "春節"),
             date(2025, 1, 31): (2, "春節"), date(2025, 2, 8): (0, "補行上班"), date(2025, 2, 28): (2, "和平紀念日")}


def dgpa_csv(year=2025, days=None, encoding="utf-8-sig") -> bytes:
    """A whole year in the DGPA's format: 西元日期,星期,是否放假,備註 with CRLF line ends."""
    days = DGPA_2025 if days is None else days
    lines = ["西元日期,星期,是否放假,備註"]
    day = date(year, 1, 1)
    while day.year == year:
        flag, note = days.get(day, (2 if day.weekday() >= 5 else 0, ""))
        lines.append(f"{day:%Y%m%d},{_WEEKDAYS[day.weekday()]},{flag},{note}")
        day += timedelta(days=1)
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def run(runtime, service, cmd):
    with runtime.uow() as uow:
        result = service(cmd, uow)
        uow.commit()
    return result


def stored(runtime):
    with runtime.db.connect() as conn:
        return [(r.city, r.day, r.is_working_day, r.kind, r.name, r.source) for r in conn.execute(
            select(calendar_days).order_by(calendar_days.c.city, calendar_days.c.day))]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "big5", "utf-8"])
def test_the_dgpa_table_is_imported_in_utf8_with_bom_or_big5(runtime, encoding):
    loaded = run(runtime, import_dgpa_calendar, ImportDgpaCalendar(dgpa_csv(encoding=encoding)))
    assert (loaded.years, loaded.holidays, loaded.makeup_workdays) == ((2025,), 7, 1)
    rows = stored(runtime)
    assert ("default", date(2025, 2, 8), True, "makeup_workday", "補行上班", "dgpa_csv") in rows
    assert ("default", date(2025, 1, 27), False, "holiday", "調整放假", "dgpa_csv") in rows
    with runtime.uow() as uow:
        cal = calendar_for(uow)
    assert cal.is_working_day(date(2025, 2, 8)) and not cal.is_working_day(date(2025, 1, 31))


def test_reimporting_a_revised_table_replaces_that_years_rows(runtime):
    run(runtime, import_dgpa_calendar, ImportDgpaCalendar(dgpa_csv()))
    first = stored(runtime)
    again = run(runtime, import_dgpa_calendar, ImportDgpaCalendar(dgpa_csv()))
    assert stored(runtime) == first and again.replaced == len(first)
    revised = {**DGPA_2025, date(2025, 2, 8): (2, ""), date(2025, 1, 27): (0, "")}  # a (修正版) undoing 補班
    run(runtime, import_dgpa_calendar, ImportDgpaCalendar(dgpa_csv(days=revised)))
    days = [r[1] for r in stored(runtime)]
    assert date(2025, 2, 8) not in days and date(2025, 1, 27) not in days and len(days) == len(first) - 2


def test_the_dgpa_table_replaces_holidays_tw_rows_and_keeps_an_admins_closure(runtime):
    run(runtime, load_public_holidays, LoadPublicHolidays(2025))
    run(runtime, add_closure_day, AddClosureDay(date(2025, 1, 27), "颱風停班"))
    loaded = run(runtime, import_dgpa_calendar, ImportDgpaCalendar(dgpa_csv()))
    assert loaded.kept == 1
    sources = {r[1]: r[5] for r in stored(runtime)}
    assert sources[date(2025, 1, 27)] == "admin" and set(sources.values()) == {"admin", "dgpa_csv"}
    skipped = run(runtime, load_public_holidays, LoadPublicHolidays(2025))
    assert "DGPA" in skipped.summary() and set(r[5] for r in stored(runtime)) == {"admin", "dgpa_csv"}


def test_a_big5_table_parses_to_every_day_of_the_year():
    from engine.services.calendar_admin import decode_dgpa, parse_dgpa
    table = parse_dgpa(decode_dgpa(dgpa_csv(encoding="big5")))
    assert len(table) == 365 and table[date(2025, 2, 8)] == (False, "補行上班")


def _replace_line(data: bytes, line: int, text: str, encoding="utf-8-sig") -> bytes:
    lines = data.decode(encoding).split("\r\n")
    lines[line - 1] = text
    return "\r\n".join(lines).encode(encoding)


@pytest.mark.parametrize(("line", "text", "column"), [
    (1, "date,weekday,holiday,note", "西元日期"),
    (29, "20250128,二,1,農曆除夕", "是否放假"),
    (29, "2025-01-28,二,2,農曆除夕", "西元日期"),
    (29, "20250128,三,2,農曆除夕", "星期"),
    (61, "20250230,日,2,", "西元日期"),
    (29, "20250127,一,2,調整放假", "西元日期"),  # 01-27 twice, 01-28 missing
])
def test_a_malformed_table_is_refused_naming_line_and_column_and_nothing_changes(runtime, line, text, column):
    run(runtime, import_dgpa_calendar, ImportDgpaCalendar(dgpa_csv()))
    before = stored(runtime)
    for encoding in ("utf-8-sig", "big5"):
        bad = _replace_line(dgpa_csv(encoding=encoding), line, text, encoding)
        with pytest.raises(InvalidInput) as refused:
            run(runtime, import_dgpa_calendar, ImportDgpaCalendar(bad, filename="114年.csv"))
        assert f"114年.csv, line {line}, column {column}" in refused.value.message
        assert refused.value.details["line"] == line and "nothing was imported" in refused.value.message
    assert stored(runtime) == before


def test_a_table_missing_days_or_in_another_encoding_is_refused(runtime):
    half_year = b"\r\n".join(dgpa_csv().split(b"\r\n")[:180])
    with pytest.raises(InvalidInput, match="lists 179 of its 365 days"):
        run(runtime, import_dgpa_calendar, ImportDgpaCalendar(half_year))
    with pytest.raises(InvalidInput, match="neither UTF-8 nor Big5"):
        run(runtime, import_dgpa_calendar, ImportDgpaCalendar(dgpa_csv(encoding="utf-16")))
    with pytest.raises(InvalidInput, match="no days"):
        run(runtime, import_dgpa_calendar, ImportDgpaCalendar("西元日期,星期,是否放假,備註\r\n".encode()))
    assert stored(runtime) == []


#: 2026 as the DGPA writes it, with a line changed: (line, its new text, the later line changed too, if any).
_QUOTE_LEFT_OPEN = (3, '20260102,五,0,"補行上班', None)
_QUOTE_CLOSED_LATER = (3, '20260102,五,0,"補行上班', (12, '20260111,日,2,"星期日"'))
_NUL_BYTE = (5, "20260104,日,2,\0", None)


@pytest.mark.parametrize(("change", "problem"), [
    (_QUOTE_LEFT_OPEN, "unterminated quote"),       # the rest of the file was taken for its 備註
    (_QUOTE_CLOSED_LATER, "unterminated quote"),    # as far as the next quote
    (_NUL_BYTE, "NUL byte"),
], ids=["quote-left-open", "quote-closed-lines-later", "nul-byte"])
def test_an_unterminated_quote_or_a_nul_byte_is_named_with_its_line_not_taken_for_missing_days(runtime, change,
                                                                                              problem):
    line, text, later = change
    for encoding in ("utf-8-sig", "big5"):
        bad = _replace_line(dgpa_csv(2026, days={}, encoding=encoding), line, text, encoding)
        if later:
            bad = _replace_line(bad, *later, encoding)
        with pytest.raises(InvalidInput) as refused:
            run(runtime, import_dgpa_calendar, ImportDgpaCalendar(bad, filename="115年.csv"))
        assert refused.value.message.startswith(f"115年.csv, line {line}: {problem}")
        assert "days" not in refused.value.message and refused.value.details["line"] == line
    assert stored(runtime) == []


def test_the_default_rules_load_once_and_an_admins_edit_survives_until_reset(runtime):
    loaded = run(runtime, load_deadline_rules, LoadDeadlineRules())
    assert "petition.default" in loaded.inserted and len(loaded.inserted) >= 8
    with runtime.db.begin() as conn:
        conn.execute(update(deadline_rules).where(deadline_rules.c.code == "petition.default").values(limit_value=5))
    again = run(runtime, load_deadline_rules, LoadDeadlineRules())
    assert (again.inserted, len(again.kept)) == ((), len(loaded.inserted))
    with runtime.db.connect() as conn:
        assert {r.code: r.limit_value for r in load_rules(conn)}["petition.default"] == 5
    run(runtime, load_deadline_rules, LoadDeadlineRules(reset=True))
    with runtime.db.connect() as conn:
        assert {r.code: r.limit_value for r in load_rules(conn)}["petition.default"] == 6


def test_a_rules_file_with_an_unknown_unit_is_refused_naming_the_rule(runtime, tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [{"code": "x.bad", "case_type": "x", "limit_value": 2,
                                           "limit_unit": "fortnights"}]}), encoding="utf-8")
    with pytest.raises(InvalidInput, match="'x.bad': limit_unit"):
        run(runtime, load_deadline_rules, LoadDeadlineRules(path))
    with runtime.db.connect() as conn:
        assert load_rules(conn) == []


@pytest.fixture
def cli(settings, runtime, monkeypatch, tmp_path):
    """The calendar and deadlines commands against this test's database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PETIFLOW_VAR_DIR", str(tmp_path / "var"))
    group = click.Group("petiflow")
    register(group)

    def invoke(*args):
        result = CliRunner().invoke(group, list(args), catch_exceptions=False)
        return result.exit_code, result.output
    return invoke


def test_the_cli_imports_a_table_closes_a_day_and_shows_why_each_day_counts(cli, tmp_path):
    path = tmp_path / "114年中華民國政府行政機關辦公日曆表.csv"
    path.write_bytes(dgpa_csv(encoding="big5"))
    code, output = cli("calendar", "import-dgpa", str(path))
    assert code == 0 and "dgpa_csv 2025 for default: 7 weekday(s) off, 1 make-up workday(s)" in output
    assert cli("calendar", "close", "2025-02-10", "--reason", "颱風停班")[0] == 0
    code, output = cli("calendar", "show", "--from", "2025-02-07", "--to", "2025-02-10")
    assert code == 0 and "2025-02-08 Sat  working   makeup_workday  補行上班" in output
    assert "2025-02-10 Mon  off       closure  颱風停班  (admin)" in output
    assert "2 working day(s), 2 day(s) off" in output


def test_the_cli_refuses_a_broken_table_and_loads_and_lists_the_rules(cli, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(_replace_line(dgpa_csv(), 40, "20250208,六,9,補行上班"))
    code, output = cli("calendar", "import-dgpa", str(path))
    assert code == 1 and "broken.csv, line 40, column 是否放假" in output and "nothing changed" in output
    assert "15 inserted" in cli("deadlines", "load-defaults")[1]  # the shipped rules: 12 per case, 3 per task
    code, output = cli("deadlines", "list")
    assert code == 0 and "petition.default: petition channel=* category=*" in output
    assert "petition.task.approve_reply: petition task=approve_reply channel=* category=*" in output


def test_the_cli_names_the_line_of_an_unterminated_quote_or_a_nul_byte(cli, tmp_path):
    path = tmp_path / "115年.csv"
    for (line, text, _), problem in ((_QUOTE_LEFT_OPEN, "unterminated quote"), (_NUL_BYTE, "NUL byte")):
        path.write_bytes(_replace_line(dgpa_csv(2026, days={}), line, text))
        code, output = cli("calendar", "import-dgpa", str(path))
        assert code == 1
        assert f"refused, nothing changed: 115年.csv, line {line}: {problem}" in output and "lists" not in output
