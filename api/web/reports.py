"""The report pages: per agency and unit, hot spots, 1999 calls, council items, site inspections; with charts,
downloads and a print layout."""
from __future__ import annotations

from datetime import date, timedelta

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import InvalidInput, NotFound
from engine.queries.reports import Period, agency_report, calls_report, hotspot_report
from engine.queries.tracking_reports import council_report, site_report

from ..report_tables import (
    OUTCOMES,
    agency_table,
    calls_tables,
    channel_name,
    council_tables,
    download,
    hotspot_tables,
    site_tables,
)
from ..units import read, runtime
from .pages import signed_in, web_blueprint

bp = web_blueprint("reports", __name__)

#: Roles whose menu offers the reports (engine.queries.reports.report_scope decides what they see).
REPORT_ROLES = frozenset({"reviewer", "auditor", "supervisor", "agency_head"})

#: The downloads a report page offers.
FORMATS = ("csv", "xlsx")


def reads_reports(principal) -> bool:
    """Whether the menu offers the reports."""
    return principal is not None and (principal.is_admin or any(r in REPORT_ROLES for r, _a in principal.roles))


@bp.app_context_processor
def _menu():
    return {"reads_reports": reads_reports}


def _today() -> date:
    return runtime().clock.now().astimezone(runtime().zone).date()


def _period(default: Period) -> Period:
    text = (request.args.get("period") or "").strip()
    return Period.parse(text) if text else default


def _last_month() -> Period:
    first = _today().replace(day=1) - timedelta(days=1)
    return Period.month(first.year, first.month)


def _last_year() -> Period:
    """The twelve whole months before this one."""
    end = _today().replace(day=1) - timedelta(days=1)
    year, month = (end.year, end.month - 11) if end.month == 12 else (end.year - 1, end.month + 1)
    return Period(date(year, month, 1), end)


@bp.get("/reports")
def index():
    signed_in()
    return redirect(url_for("ui.reports.agencies"))


def _page(template: str, name: str, period: Period, **values):
    return render_template(template, report_name=name, period=period, formats=FORMATS, **values)


@bp.get("/reports/agencies")
@bp.get("/reports/agencies.<fmt>")
def agencies(fmt: str | None = None):
    """Figures per agency and unit for a month, a quarter or any range."""
    principal = signed_in()
    report = read(agency_report, principal, _period(_last_month()))
    if fmt is not None:
        return _download([agency_table(report)], fmt, f"agencies-{report.period.label}")
    chart = {"kind": "bar", "title": _("Received and closed by agency"),
             "categories": [a.agency_name or _("No agency") for a in report.agencies],
             "series": [{"name": _("Received"), "data": [a.received for a in report.agencies]},
                        {"name": _("Closed"), "data": [a.closed for a in report.agencies]},
                        {"name": _("Closed on time"), "data": [a.closed_on_time for a in report.agencies]}]}
    channels = {"kind": "pie", "title": _("Received by channel"),
                "series": [{"name": _("Received"), "data": [{"name": channel_name(c), "value": n}
                                                           for c, n in report.city.by_channel.items()]}]}
    return _page("web/report_agencies.html", "agencies", report.period, report=report,
                 table=agency_table(report), charts=[chart, channels])


@bp.get("/reports/hotspots")
@bp.get("/reports/hotspots.<fmt>")
def hotspots(fmt: str | None = None):
    """民怨 hot spots: top categories and districts month by month, repeats, dispatch by district."""
    principal = signed_in()
    report = read(hotspot_report, principal, _period(_last_year()))
    if fmt is not None:
        return _download(hotspot_tables(report), fmt, f"hotspots-{report.period.label}")
    months = [f"{m:%Y-%m}" for m in report.months]
    charts = [{"kind": "line", "title": title, "categories": months,
               "series": [{"name": r.name, "data": list(r.by_month)} for r in ranked[:5]]}
              for title, ranked in ((_("Top categories, month by month"), report.categories),
                                    (_("Top districts, month by month"), report.districts))]
    return _page("web/report_hotspots.html", "hotspots", report.period, report=report,
                 tables=hotspot_tables(report), charts=charts)


@bp.get("/reports/calls")
@bp.get("/reports/calls.<fmt>")
def calls(fmt: str | None = None):
    """1999 calls by outcome and by hour of the day."""
    principal = signed_in()
    report = read(calls_report, principal, _period(_last_month()))
    if fmt is not None:
        return _download(calls_tables(report), fmt, f"calls-{report.period.label}")
    outcomes = list(report.by_outcome)
    chart = {"kind": "stacked", "title": _("Calls by hour of the day"), "categories": [f"{h:02d}" for h in range(24)],
             "series": [{"name": str(OUTCOMES.get(o, o)), "data": [report.by_hour[h].get(o, 0) for h in range(24)]}
                        for o in outcomes]}
    return _page("web/report_calls.html", "calls", report.period, report=report, tables=calls_tables(report),
                 charts=[chart], outcome_names={o: str(n) for o, n in OUTCOMES.items()})


@bp.get("/reports/council")
@bp.get("/reports/council.<fmt>")
def council(fmt: str | None = None):
    """Council items per session, per bureau, and the execution report on a session's resolutions."""
    principal = signed_in()
    session = (request.args.get("session") or "").strip() or None
    report = read(council_report, principal, session)
    if fmt is not None:
        return _download(council_tables(report), fmt, "council")
    chart = {"kind": "stacked", "title": _("Council items by session"), "categories": [s.session for s in report.sessions],
             "series": [{"name": _("Still tracked"), "data": [s.tracked for s in report.sessions]},
                        {"name": _("Released"), "data": [s.released for s in report.sessions]},
                        {"name": _("Replied and closed"), "data": [s.replied_closed for s in report.sessions]}]}
    return render_template("web/report_council.html", report_name="council", report=report, session=session,
                           tables=council_tables(report), charts=[chart], formats=FORMATS)


@bp.get("/reports/site-inspections")
@bp.get("/reports/site-inspections.<fmt>")
def site_inspections(fmt: str | None = None):
    """Site inspections per half-year, per councillor's office and agency, with follow-up items."""
    principal = signed_in()
    text = (request.args.get("year") or "").strip()
    if text and not (text.isdigit() and 2000 <= int(text) <= 2100):
        raise InvalidInput(_("The year %(year)s is not a year such as 2026", year=text))
    year = int(text) if text else None
    report = read(site_report, principal, year)
    if fmt is not None:
        return _download(site_tables(report), fmt, f"site-inspections-{year or 'all'}")
    chart = {"kind": "stacked", "title": _("Follow-up items by half-year"), "categories": [h.half for h in report.halves],
             "series": [{"name": _("Follow-up items done"),
                         "data": [sum(a.follow_ups_done for a in h.agencies) for h in report.halves]},
                        {"name": _("Follow-up items open"),
                         "data": [sum(a.follow_ups_open for a in h.agencies) for h in report.halves]}]}
    return render_template("web/report_sites.html", report_name="site_inspections", report=report, year=year,
                           tables=site_tables(report), charts=[chart], formats=FORMATS)


def _download(tables, fmt: str, name: str):
    if fmt not in FORMATS:
        raise NotFound(_("No such download: .%(fmt)s (csv or xlsx)", fmt=fmt))
    return download(tables, fmt, name)
