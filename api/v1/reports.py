"""The commission's reports: per agency and unit, hot spots, 1999 calls; as JSON, CSV or XLSX."""
from __future__ import annotations

import marshmallow as ma

from engine.errors import InvalidInput
from engine.queries.reports import Period, agency_report, calls_report, hotspot_report, report_scope, rollup_backlog
from engine.queries.tracking_reports import council_report, site_report

from .. import auth
from ..report_tables import agency_table, calls_tables, council_tables, download, hotspot_tables, site_tables
from ..units import read
from .common import SIGNED_IN, Blueprint
from .fast_json import as_json, plain

PATH = "/reports"

blp = Blueprint("reports", __name__, description="Figures per agency and unit, hot spots and 1999 calls, for any "
                                                   "period; the commission sees every agency, an agency head or "
                                                   "section chief their own.")

class PeriodArgs(ma.Schema):
    """The period and the form of the answer."""

    period = ma.fields.String(required=True, validate=ma.validate.Length(min=4, max=30), metadata={
        "description": "A month (2026-11), a quarter (2026Q4), a year (2026) or a range of local dates "
                       "(2026-11-01..2026-12-15)"})
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(("json", "csv", "xlsx")), metadata={
        "description": "json, or a download: csv (UTF-8 with a byte-order mark) or xlsx"})


class HotspotArgs(PeriodArgs):
    top = ma.fields.Integer(load_default=10, validate=ma.validate.Range(min=1, max=100))


class FiguresSchema(ma.Schema):
    agency_id = ma.fields.Integer(allow_none=True, metadata={"description": "null: the city, or no agency"})
    agency_name = ma.fields.String()
    unit_id = ma.fields.Integer(allow_none=True)
    unit_name = ma.fields.String(allow_none=True)
    received = ma.fields.Integer()
    by_channel = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    closed = ma.fields.Integer()
    closed_timed = ma.fields.Integer(metadata={"description": "Closed cases that had a due time"})
    closed_on_time = ma.fields.Integer()
    on_time_pct = ma.fields.Float(allow_none=True)
    close_days = ma.fields.Integer(metadata={"description": "Working days to close, summed"})
    average_days = ma.fields.Float(allow_none=True)
    median_days = ma.fields.Float(allow_none=True)
    open_now = ma.fields.Integer()
    overdue_now = ma.fields.Integer()
    extensions = ma.fields.Integer()
    transfers_in = ma.fields.Integer()
    transfers_out = ma.fields.Integer()
    surveys = ma.fields.Integer()
    satisfied = ma.fields.Integer()
    satisfied_pct = ma.fields.Float(allow_none=True)
    reviews = ma.fields.Integer()
    sent_back = ma.fields.Integer()
    merged = ma.fields.Integer()
    cancelled = ma.fields.Integer()
    units = ma.fields.List(ma.fields.Dict())


class AgencyReportSchema(ma.Schema):
    start = ma.fields.Date()
    end = ma.fields.Date()
    as_of = ma.fields.DateTime()
    channels = ma.fields.List(ma.fields.String())
    agencies = ma.fields.List(ma.fields.Nested(FiguresSchema))
    city = ma.fields.Nested(FiguresSchema)
    pending = ma.fields.Integer(metadata={"description": "Cases whose latest changes the figures do not hold yet"})


class HotspotReportSchema(ma.Schema):
    start = ma.fields.Date()
    end = ma.fields.Date()
    months = ma.fields.List(ma.fields.Date())
    received = ma.fields.Integer()
    repeated = ma.fields.Integer()
    categories = ma.fields.List(ma.fields.Dict())
    districts = ma.fields.List(ma.fields.Dict())
    dispatch_districts = ma.fields.List(ma.fields.String())
    dispatch_matrix = ma.fields.List(ma.fields.Dict())
    pending = ma.fields.Integer()


class CallsReportSchema(ma.Schema):
    start = ma.fields.Date()
    end = ma.fields.Date()
    total = ma.fields.Integer()
    by_outcome = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    by_hour = ma.fields.List(ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer()))
    pending = ma.fields.Integer()


class BacklogSchema(ma.Schema):
    pending = ma.fields.Integer(metadata={"description": "Cases waiting for the rollups' catch-up"})


def figures_json(fig) -> dict:
    """A line of the per-agency report with its shares and averages."""
    found = plain(fig)
    found.update(on_time_pct=fig.on_time_pct, average_days=fig.average_days, satisfied_pct=fig.satisfied_pct,
                 units=[figures_json(u) for u in fig.units])
    return found


def agency_json(report) -> dict:
    return {"start": report.period.start.isoformat(), "end": report.period.end.isoformat(),
            "as_of": report.as_of.isoformat(), "channels": list(report.channels),
            "agencies": [figures_json(a) for a in report.agencies], "city": figures_json(report.city),
            "pending": report.pending}


def hotspot_json(report) -> dict:
    found = plain(report)
    found.pop("period")
    found.update(start=report.period.start.isoformat(), end=report.period.end.isoformat(),
                 dispatch_matrix=[{"category": code, "name": name, "by_district": list(counts), "total": total}
                                  for code, name, counts, total in report.dispatch_matrix])
    return found


def calls_json(report) -> dict:
    found = plain(report)
    found.pop("period")
    found.update(start=report.period.start.isoformat(), end=report.period.end.isoformat())
    return found


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except InvalidInput as exc:
        raise InvalidInput(str(exc), details={"fields": {"period": [str(exc)]}}) from None


@blp.route("/agencies")
@blp.doc(security=SIGNED_IN)
@blp.arguments(PeriodArgs, location="query", as_kwargs=True)
@blp.response(200, AgencyReportSchema)
def agencies(period: str, format: str):
    """Received (by channel), closed, on time, working days to close, open and overdue now, extensions,
    transfers, satisfaction and review results, per agency and unit."""
    report = read(agency_report, auth.principal(), _period(period))
    if format != "json":
        return download([agency_table(report)], format, f"agencies-{report.period.label}")
    return as_json(agency_json(report))


@blp.route("/hotspots")
@blp.doc(security=SIGNED_IN)
@blp.arguments(HotspotArgs, location="query", as_kwargs=True)
@blp.response(200, HotspotReportSchema)
def hotspots(period: str, format: str, top: int):
    """Top categories and districts month by month, repeated petitions, dispatch categories by district."""
    report = read(hotspot_report, auth.principal(), _period(period), top=top)
    if format != "json":
        return download(hotspot_tables(report), format, f"hotspots-{report.period.label}")
    return as_json(hotspot_json(report))


@blp.route("/calls")
@blp.doc(security=SIGNED_IN)
@blp.arguments(PeriodArgs, location="query", as_kwargs=True)
@blp.response(200, CallsReportSchema)
def calls(period: str, format: str):
    """1999 calls by outcome and by hour of the day (the commission's readers only)."""
    report = read(calls_report, auth.principal(), _period(period))
    if format != "json":
        return download(calls_tables(report), format, f"calls-{report.period.label}")
    return as_json(calls_json(report))


class CouncilArgs(ma.Schema):
    session = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=100), metadata={
        "description": "The session whose execution report on resolutions to add"})
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(("json", "csv", "xlsx")))


class CouncilReportSchema(ma.Schema):
    sessions = ma.fields.List(ma.fields.Dict())
    resolutions = ma.fields.List(ma.fields.Dict())
    session = ma.fields.String(allow_none=True)
    pending = ma.fields.Integer()


def council_json(report) -> dict:
    found = plain(report)
    for line, session in zip(found["sessions"], report.sessions):
        for b, bureau in zip(line["bureaus"], session.bureaus):
            b["on_time_pct"] = bureau.on_time_pct
    found["resolutions"] = [{**plain(r), "bureaus": [{"agency_name": n, "replied": a, "replied_on_time": o}
                                                     for n, a, o in r.bureaus]} for r in report.resolutions]
    return found


@blp.route("/council")
@blp.doc(security=SIGNED_IN)
@blp.arguments(CouncilArgs, location="query", as_kwargs=True)
@blp.response(200, CouncilReportSchema)
def council(session: str | None, format: str):
    """Council items per session: assigned per bureau, replied on time, still tracked, released; with a
    session, the execution report on its resolutions."""
    report = read(council_report, auth.principal(), session)
    if format != "json":
        return download(council_tables(report), format, "council")
    return as_json(council_json(report))


class SiteArgs(ma.Schema):
    year = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=2000, max=2100), metadata={
        "description": "The year whose two half-years to give (default: every year)"})
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(("json", "csv", "xlsx")))


class SiteReportSchema(ma.Schema):
    halves = ma.fields.List(ma.fields.Dict())
    pending = ma.fields.Integer()


def site_json(report) -> dict:
    found = plain(report)
    for line, half in zip(found["halves"], report.halves):
        for a, agency in zip(line["agencies"], half.agencies):
            a["follow_ups_open"] = agency.follow_ups_open
    return found


@blp.route("/site-inspections")
@blp.doc(security=SIGNED_IN)
@blp.arguments(SiteArgs, location="query", as_kwargs=True)
@blp.response(200, SiteReportSchema)
def site_inspections(year: int | None, format: str):
    """Site inspections per half-year, per councillor's office and per agency, with follow-up items done and open."""
    report = read(site_report, auth.principal(), year)
    if format != "json":
        return download(site_tables(report), format, f"site-inspections-{year or 'all'}")
    return as_json(site_json(report))


@blp.route("/backlog")
@blp.doc(security=SIGNED_IN)
@blp.response(200, BacklogSchema)
def backlog():
    """How many cases the rollups have yet to catch up with (0: the figures hold every change)."""
    read(report_scope, auth.principal())  # refused to whoever reads no report
    return {"pending": read(rollup_backlog)}
