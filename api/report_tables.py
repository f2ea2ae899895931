"""The reports as tables (headers and rows of numbers, dates and text), for the pages, CSV and XLSX.

A table's cells keep their types: counts are ints, shares floats (percent), days floats, months
dates, so that a spreadsheet gets number and date cells, not text.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext

#: How each channel is called (the codes are the cases' channel column).
CHANNELS = {"web": lazy_gettext("Web mailbox"), "1999": "1999", "email": lazy_gettext("E-mail"),
            "phone": lazy_gettext("Phone"), "app": "App", "mail": lazy_gettext("Mail"),
            "walk_in": lazy_gettext("Walk-in"), "fax": lazy_gettext("Fax"), "council": lazy_gettext("Council"),
            "patrol": lazy_gettext("Patrol"), "agency": lazy_gettext("Agency"), "": lazy_gettext("Unknown")}

#: How 1999 calls end.
OUTCOMES = {"answered": lazy_gettext("Answered on the spot"), "transferred": lazy_gettext("Call transferred"),
            "opened_petition": lazy_gettext("Petition opened"), "opened_dispatch": lazy_gettext("Dispatch opened"),
            "": lazy_gettext("Still open")}


@dataclass(frozen=True)
class Table:
    """One sheet: its name, column headers and rows."""

    name: str
    headers: tuple
    rows: tuple
    percent_columns: frozenset = frozenset()


def channel_name(code: str) -> str:
    return str(CHANNELS.get(code, code))


def _agency_name(fig) -> str:
    return fig.agency_name or _("No agency (not routed, or closed by the commission)")


def agency_table(report) -> Table:
    """One row per agency, then one per unit of it, then the city."""
    channels = report.channels
    headers = (_("Agency"), _("Unit"), _("Received"), *(_("Received by %(channel)s", channel=channel_name(c))
                                                       for c in channels),
               _("Closed"), _("Closed on time"), _("Closed on time %"), _("Average working days to close"),
               _("Median working days to close"), _("Open now"), _("Overdue now"), _("Extensions"),
               _("Transfers in"), _("Transfers out"), _("Surveys answered"), _("Satisfied %"), _("Reviews"),
               _("Sent back by the review"), _("Merged duplicates"))
    rows = []

    def line(fig, agency, unit):
        return (agency, unit, fig.received, *(fig.by_channel.get(c, 0) for c in channels), fig.closed,
                fig.closed_on_time, fig.on_time_pct, fig.average_days, fig.median_days, fig.open_now,
                fig.overdue_now, fig.extensions, fig.transfers_in, fig.transfers_out, fig.surveys, fig.satisfied_pct,
                fig.reviews, fig.sent_back, fig.merged)
    for fig in report.agencies:
        rows.append(line(fig, _agency_name(fig), _("All units")))
        if len(fig.units) > 1 or (fig.units and fig.units[0].unit_id is not None):
            rows += [line(u, _agency_name(fig), u.unit_name or _("No unit")) for u in fig.units]
    rows.append(line(report.city, _("Whole city"), ""))
    pct = {headers.index(_("Closed on time %")), headers.index(_("Satisfied %"))}
    return Table(_("Agencies %(period)s", period=report.period.label), headers, tuple(rows), frozenset(pct))


def hotspot_tables(report) -> list[Table]:
    """Top categories, top districts (each with a column per month), and dispatch categories by district."""
    months = [m for m in report.months]
    tables = []
    for name, ranked, what in ((_("Categories"), report.categories, _("Category")),
                               (_("Districts"), report.districts, _("District"))):
        headers = (what, _("Received"), _("Repeated"), *months)
        tables.append(Table(name, headers, tuple((r.name, r.received, r.repeated, *r.by_month) for r in ranked)))
    headers = (_("Dispatch category"), *report.dispatch_districts, _("Total"))
    tables.append(Table(_("Dispatch by district"), headers,
                        tuple((name, *counts, total) for _code, name, counts, total in report.dispatch_matrix)))
    return tables


def calls_tables(report) -> list[Table]:
    """Calls by outcome; calls by hour of the day and outcome."""
    outcomes = list(report.by_outcome)
    by_outcome = Table(_("By outcome"), (_("Outcome"), _("Calls")),
                       tuple((str(OUTCOMES.get(o, o)), n) for o, n in report.by_outcome.items()))
    by_hour = Table(_("By hour"), (_("Hour"), *(str(OUTCOMES.get(o, o)) for o in outcomes), _("Calls")),
                    tuple((f"{h:02d}:00", *(report.by_hour[h].get(o, 0) for o in outcomes),
                           sum(report.by_hour[h].values())) for h in range(24)))
    return [by_outcome, by_hour]


def to_csv(tables: list[Table]) -> bytes:
    """The tables one after another, a blank line between; UTF-8 with a byte-order mark (for Excel)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for i, table in enumerate(tables):
        if i:
            writer.writerow([])
        if len(tables) > 1:
            writer.writerow([table.name])
        writer.writerow([_cell_text(h) for h in table.headers])
        for row in table.rows:
            writer.writerow(["" if v is None else (v.isoformat() if isinstance(v, date) else v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell_text(value) -> str:
    return value.strftime("%Y-%m") if isinstance(value, date) else str(value)


def to_xlsx(tables: list[Table], title: str) -> bytes:
    """One worksheet per table: numbers as numbers, shares as percent cells, months as date cells."""
    import xlsxwriter
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    book.set_properties({"title": title, "author": "petiflow"})
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    month = book.add_format({"bold": True, "num_format": "yyyy-mm"})
    percent = book.add_format({"num_format": "0.0%"})
    decimal = book.add_format({"num_format": "0.00"})
    used = set()
    for table in tables:
        name = _sheet_name(table.name, used)
        sheet = book.add_worksheet(name)
        for col, header in enumerate(table.headers):
            if isinstance(header, date):
                sheet.write_datetime(0, col, header, month)
            else:
                sheet.write_string(0, col, str(header), bold)
        for r, row in enumerate(table.rows, start=1):
            for col, value in enumerate(row):
                if value is None or value == "":
                    sheet.write_blank(r, col, None)
                elif col in table.percent_columns:
                    sheet.write_number(r, col, value / 100.0, percent)
                elif isinstance(value, float):
                    sheet.write_number(r, col, value, decimal)
                elif isinstance(value, int):
                    sheet.write_number(r, col, value)
                elif isinstance(value, date):
                    sheet.write_datetime(r, col, value, month)
                else:
                    sheet.write_string(r, col, str(value))
        sheet.freeze_panes(1, 1)
        sheet.set_column(0, 1, 18)
    book.close()
    return out.getvalue()


#: Media types of the downloads.
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def download(tables: list[Table], fmt: str, name: str):
    """The tables as a CSV or XLSX attachment named `name`.<fmt>."""
    body = to_csv(tables) if fmt == "csv" else to_xlsx(tables, name)
    return current_app.response_class(body, headers={
        "Content-Type": MEDIA[fmt], "Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


def _sheet_name(name: str, used: set) -> str:
    """A worksheet name Excel accepts: at most 31 characters, none of []:*?/\\, unique."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    found, n = clean, 2
    while found in used:
        found = f"{clean[:28]}~{n}"
        n += 1
    used.add(found)
    return found


#: Where a council item stands.
ITEM_STATES = {"tracked": lazy_gettext("Still tracked"), "released": lazy_gettext("Released"),
               "replied_closed": lazy_gettext("Replied and closed")}


def council_tables(report) -> list[Table]:
    """Items per session; bureaus per session; the execution report on the resolutions of the session asked for."""
    sessions = Table(_("Sessions"), (_("Session"), _("Interpellations"), _("Resolutions"), _("Still tracked"),
                                     _("Released"), _("Replied and closed")),
                     tuple((s.session or _("Session not recorded"), s.interpellations, s.resolutions, s.tracked,
                            s.released, s.replied_closed) for s in report.sessions))
    headers = (_("Session"), _("Bureau"), _("Assigned"), _("Replied"), _("Replied on time"), _("Replied on time %"))
    bureaus = Table(_("Bureaus"), headers,
                    tuple((s.session or _("Session not recorded"), b.agency_name, b.assigned, b.replied,
                           b.replied_on_time, b.on_time_pct) for s in report.sessions for b in s.bureaus),
                    frozenset({headers.index(_("Replied on time %"))}))
    tables = [sessions, bureaus]
    if report.session is not None:
        tables.append(Table(_("Resolutions %(session)s", session=report.session),
                            (_("Case"), _("Subject"), _("Status"), _("Bureaus and their replies")),
                            tuple((r.case_no, r.subject, str(ITEM_STATES.get(r.status, r.status)),
                                   "；".join(_bureau_reply(name, replied, on_time) for name, replied, on_time in r.bureaus))
                                  for r in report.resolutions)))
    return tables


def _bureau_reply(name: str, replied: bool, on_time: bool) -> str:
    if on_time:
        return _("%(bureau)s: replied on time", bureau=name)
    return _("%(bureau)s: replied late", bureau=name) if replied else _("%(bureau)s: not replied", bureau=name)


def site_tables(report) -> list[Table]:
    """Inspections per half-year and office; agencies per half-year with their follow-up items."""
    offices = Table(_("Offices"), (_("Half-year"), _("Asked for by"), _("Inspections"), _("Declined")),
                    tuple((h.half, o.office or _("An agency"), o.inspections, o.declined)
                          for h in report.halves for o in h.offices))
    agencies = Table(_("Agencies"), (_("Half-year"), _("Agency"), _("Invited"), _("Follow-up items"),
                                     _("Follow-up items done"), _("Follow-up items open")),
                     tuple((h.half, a.agency_name, a.invited, a.follow_ups, a.follow_ups_done, a.follow_ups_open)
                           for h in report.halves for a in h.agencies))
    return [offices, agencies]
