"""The commission's reports: figures per agency and unit, hot spots (民怨), 1999 calls.

1999 calls, council items and site inspections (engine.queries.tracking_reports) have reports of
their own and are not lines of an agency's figures.

Each report reads the rollup counters (engine.cases.rollups), never the cases one by one, except
"open and overdue now", which counts open cases from a partial index. Who sees what
(`report_scope`): administrators, the commission's reviewers and auditors, and the commission's
section chiefs and head see every agency; an agency's section chiefs and head see their agency;
anyone else is refused.
"""
from __future__ import annotations

import calendar as _calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, bindparam, case, func, literal_column, select

from engine.accounts.identity import Principal
from engine.cases import rollups
from engine.errors import Forbidden, InvalidInput
from engine.queries.categories import categories
from engine.queries.visibility import EVERYTHING, SUPERVISING_ROLES, Scope, commission_id
from engine.store.schema import (
    agencies,
    cases,
    report_agency_days,
    report_call_hours,
    report_close_days,
    report_hotspot_months,
    units,
)

#: Case types with reports of their own, not lines of an agency's figures.
OWN_REPORTS = ("hotline", "council_item", "site_inspection")

#: Roles held for every agency that read every agency's figures.
CITY_WIDE_ROLES = frozenset({"reviewer", "auditor"})

#: The longest period a report covers (ten years of days).
MAX_DAYS = 3700

#: How 1999 calls end (the hotline diagram's outcome), in the reports' order; '' is a call still open.
CALL_OUTCOMES = ("answered", "transferred", "opened_petition", "opened_dispatch", "")


def report_scope(uow, principal: Principal) -> Scope:
    """The agencies whose figures the principal reads; raises Forbidden for anyone else."""
    if principal.is_admin or any(agency is None and role in CITY_WIDE_ROLES for role, agency in principal.roles):
        return EVERYTHING
    supervised = frozenset(a for role, a in principal.roles if a is not None and role in SUPERVISING_ROLES)
    if supervised and commission_id(uow) in supervised:
        return EVERYTHING
    if not supervised:
        raise Forbidden("reports are for the commission, auditors, and agencies' heads and section chiefs")
    return Scope(agency_ids=supervised)


# --- periods -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """Local dates from `start` to `end`, both included."""

    start: date
    end: date

    def __post_init__(self):
        if self.end < self.start:
            raise InvalidInput(f"the period ends ({self.end}) before it starts ({self.start})")
        if (self.end - self.start).days > MAX_DAYS:
            raise InvalidInput(f"a report covers at most {MAX_DAYS} days")

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        if not 1 <= month <= 12 or not 2000 <= year <= 2100:
            raise InvalidInput(f"no such month: {year}-{month}")
        return cls(date(year, month, 1), date(year, month, _calendar.monthrange(year, month)[1]))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> "Period":
        if not 1 <= quarter <= 4:
            raise InvalidInput(f"no such quarter: {quarter} (1-4)")
        first = cls.month(year, quarter * 3 - 2)
        return cls(first.start, cls.month(year, quarter * 3).end)

    @classmethod
    def parse(cls, text: str) -> "Period":
        """'2026-03' (a month), '2026Q1' (a quarter), '2026' (a year), or a range '2026-01-05..2026-02-10'
        whose ends may be months, quarters or years too ('2026-01..2026-06'); raises InvalidInput."""
        text = (text or "").strip()
        try:
            if ".." in text:
                a, b = (part.strip() for part in text.split("..", 1))
                return cls(cls.parse(a).start if len(a) < 10 else date.fromisoformat(a),
                           cls.parse(b).end if len(b) < 10 else date.fromisoformat(b))
            if len(text) == 6 and text[4] in "Qq":
                return cls.quarter(int(text[:4]), int(text[5]))
            if len(text) == 7 and text[4] == "-":
                return cls.month(int(text[:4]), int(text[5:]))
            if len(text) == 4:
                return cls(date(int(text), 1, 1), date(int(text), 12, 31))
        except ValueError:
            pass
        raise InvalidInput(f"period {text!r} is not a month (2026-03), a quarter (2026Q1), a year (2026) "
                           "or a range (2026-01-05..2026-02-10)")

    @property
    def label(self) -> str:
        if self.start.day == 1 and self.end == Period.month(self.end.year, self.end.month).end:
            if (self.start.year, self.start.month) == (self.end.year, self.end.month):
                return f"{self.start:%Y-%m}"
            if self.start.month % 3 == 1 and self.end.month == self.start.month + 2 and self.start.year == self.end.year:
                return f"{self.start.year}Q{(self.start.month + 2) // 3}"
            if (self.start.month, self.end.month, self.start.year) == (1, 12, self.end.year):
                return f"{self.start.year}"
            return f"{self.start:%Y-%m}..{self.end:%Y-%m}"
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    def months(self) -> list[date]:
        """The first day of each month the period touches."""
        found, m = [], self.start.replace(day=1)
        while m <= self.end:
            found.append(m)
            m = (m + timedelta(days=32)).replace(day=1)
        return found


# --- per agency and unit -------------------------------------------------------------------------

@dataclass(frozen=True)
class Figures:
    """One line of the per-agency report: an agency, one of its units, or the city."""

    agency_id: int | None
    agency_name: str
    unit_id: int | None = None
    unit_name: str | None = None
    received: int = 0
    by_channel: dict = field(default_factory=dict)
    closed: int = 0
    closed_timed: int = 0
    closed_on_time: int = 0
    close_days: int = 0
    median_days: float | None = None
    cancelled: int = 0
    merged: int = 0
    open_now: int = 0
    overdue_now: int = 0
    extensions: int = 0
    transfers_in: int = 0
    transfers_out: int = 0
    surveys: int = 0
    satisfied: int = 0
    reviews: int = 0
    sent_back: int = 0
    units: tuple = ()

    @property
    def on_time_pct(self) -> float | None:
        return percent(self.closed_on_time, self.closed_timed)

    @property
    def average_days(self) -> float | None:
        return round(self.close_days / self.closed, 2) if self.closed else None

    @property
    def satisfied_pct(self) -> float | None:
        return percent(self.satisfied, self.surveys)

    @property
    def sent_back_pct(self) -> float | None:
        return percent(self.sent_back, self.reviews)


def percent(part: int, whole: int) -> float | None:
    """part as a percentage of whole, one decimal; None of nothing."""
    return round(100.0 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class AgencyReport:
    """The per-agency report of a period, as of a moment (open and overdue are as of then)."""

    period: Period
    as_of: object
    agencies: tuple
    city: Figures
    channels: tuple
    pending: int  # cases whose latest changes the rollups have not caught up with yet


#: The measures summed from report_agency_days, as Figures names them.
_SUMMED = ("received", "closed", "closed_timed", "closed_on_time", "close_days", "cancelled", "merged", "extensions",
           "transfers_in", "transfers_out", "surveys", "satisfied", "reviews", "sent_back")

_DAYS = bindparam("b_start"), bindparam("b_end")


def _agency_rows(scope: Scope):
    t = report_agency_days
    q = (select(t.c.agency_id, t.c.unit_id, t.c.channel, *(func.sum(t.c[m]).label(m) for m in _SUMMED))
         .where(t.c.day.between(*_DAYS)).group_by(t.c.agency_id, t.c.unit_id, t.c.channel))
    return q.where(scope.clause(t.c.agency_id)) if not scope.everything else q


def _close_day_rows(scope: Scope):
    t = report_close_days
    q = (select(t.c.agency_id, t.c.unit_id, t.c.working_days, func.sum(t.c.closed).label("closed"))
         .where(t.c.day.between(*_DAYS)).group_by(t.c.agency_id, t.c.unit_id, t.c.working_days))
    return q.where(scope.clause(t.c.agency_id)) if not scope.everything else q


def _open_rows(scope: Scope):
    q = (select(cases.c.agency_id, cases.c.unit_id, func.count().label("open_now"),
                func.sum(case((cases.c.due_at < bindparam("b_now"), 1), else_=0)).label("overdue_now"))
         .where(cases.c.status == literal_column("'open'"),
                cases.c.case_type.not_in([literal_column(f"'{t}'") for t in OWN_REPORTS]))
         .group_by(cases.c.agency_id, cases.c.unit_id))
    return q.where(scope.clause(cases.c.agency_id)) if not scope.everything else q


def median(histogram: dict) -> float | None:
    """The median of values given as {value: count}."""
    n = sum(histogram.values())
    if not n:
        return None
    ordered, seen, lower = sorted(histogram.items()), 0, None
    for value, count in ordered:
        seen += count
        if lower is None and seen >= (n + 1) // 2:
            lower = value
        if seen >= n // 2 + 1:
            return (lower + value) / 2 if n % 2 == 0 else float(value)
    return float(lower)


def names_of(uow) -> tuple[dict, dict]:
    """Agency names and unit names by id."""
    return (dict(uow.conn.execute(select(agencies.c.id, agencies.c.name)).all()),
            dict(uow.conn.execute(select(units.c.id, units.c.name)).all()))


def agency_report(uow, principal: Principal, period: Period) -> AgencyReport:
    """Received (by channel), closed, on time, working days to close (average, median), open and
    overdue now, extensions, transfers, satisfaction and review results, per agency and unit.

    Raises Forbidden for a principal who may read no agency's figures.
    """
    scope = report_scope(uow, principal)
    params = {"b_start": period.start, "b_end": period.end}
    now = uow.clock.now()
    sums = defaultdict(lambda: defaultdict(int))  # (agency, unit) -> measure -> n; "ch:<channel>" too
    channels = set()
    for row in uow.conn.execute(_agency_rows(scope), params):
        cell = sums[(row.agency_id, row.unit_id)]
        for m in _SUMMED:
            cell[m] += row._mapping[m] or 0
        if row.received:
            channels.add(row.channel)
            cell["ch:" + row.channel] += row.received
    hist = defaultdict(lambda: defaultdict(int))
    for row in uow.conn.execute(_close_day_rows(scope), params):
        hist[(row.agency_id, row.unit_id)][row.working_days] += row.closed
    for row in uow.conn.execute(_open_rows(scope), {"b_now": now}):
        cell = sums[(row.agency_id or 0, row.unit_id or 0)]
        cell["open_now"] += row.open_now
        cell["overdue_now"] += row.overdue_now or 0
    agency_names, unit_names = names_of(uow)
    by_agency = defaultdict(dict)
    for (agency_id, unit_id) in set(sums) | set(hist):
        by_agency[agency_id][unit_id] = (sums.get((agency_id, unit_id), {}), hist.get((agency_id, unit_id), {}))
    lines, city_sum, city_hist = [], defaultdict(int), defaultdict(int)
    for agency_id in sorted(by_agency, key=lambda a: (a == 0, agency_names.get(a, ""), a)):
        unit_lines, agency_sum, agency_hist = [], defaultdict(int), defaultdict(int)
        for unit_id in sorted(by_agency[agency_id], key=lambda u: (u == 0, unit_names.get(u, ""), u)):
            cell, h = by_agency[agency_id][unit_id]
            _add(agency_sum, cell)
            _add(agency_hist, h)
            unit_lines.append(_figures(agency_id, agency_names, cell, h, unit_id=unit_id,
                                       unit_name=unit_names.get(unit_id) if unit_id else None))
        _add(city_sum, agency_sum)
        _add(city_hist, agency_hist)
        lines.append(_figures(agency_id, agency_names, agency_sum, agency_hist, units=tuple(unit_lines)))
    city = _figures(None, agency_names, city_sum, city_hist)
    return AgencyReport(period, now, tuple(lines), city, tuple(sorted(channels)), rollups.pending(uow))


def _add(into: dict, cell: dict) -> None:
    for k, v in cell.items():
        into[k] += v


def _figures(agency_id, names, cell, hist, *, unit_id=None, unit_name=None, units=()) -> Figures:
    by_channel = {k[3:]: v for k, v in sorted(cell.items()) if k.startswith("ch:") and v}
    return Figures(agency_id=agency_id or None, agency_name=names.get(agency_id, "") if agency_id else "",
                   unit_id=unit_id or None, unit_name=unit_name, by_channel=by_channel,
                   median_days=median(hist), units=units,
                   **{m: cell.get(m, 0) for m in (*_SUMMED, "open_now", "overdue_now")})


# --- hot spots -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ranked:
    """A category or district with its cases in the period, its repeats, and its count month by month."""

    code: str
    name: str
    received: int
    repeated: int
    by_month: tuple  # one count per month of the report, in order


@dataclass(frozen=True)
class HotspotReport:
    """民怨 hot spots of a period: the top categories and districts and their monthly trend, repeated
    petitions on the same matter, dispatch categories by district."""

    period: Period
    months: tuple  # first day of each month
    received: int
    repeated: int
    categories: tuple  # Ranked, most received first
    districts: tuple
    dispatch_districts: tuple  # district names, columns of the matrix
    dispatch_matrix: tuple  # (category code, name, (count per district...), total)
    pending: int


def _hotspot_rows(scope: Scope):
    t = report_hotspot_months
    q = (select(t.c.month, t.c.case_type, t.c.category, t.c.district, func.sum(t.c.received).label("received"),
                func.sum(t.c.repeated).label("repeated"))
         .where(t.c.month.between(bindparam("b_start"), bindparam("b_end")))
         .group_by(t.c.month, t.c.case_type, t.c.category, t.c.district))
    return q.where(scope.clause(t.c.agency_id)) if not scope.everything else q


#: Names of category codes the category file does not hold.
OTHER_CATEGORY_NAMES = {"other": "其他", "": "未分類"}


def category_names() -> dict:
    """Category codes and their Chinese names."""
    return {**OTHER_CATEGORY_NAMES, **{c.code: c.name for c in categories()}}


def hotspot_report(uow, principal: Principal, period: Period, *, top: int = 10) -> HotspotReport:
    """Hot spots by the month received: whole months from the period's first to its last.

    Raises Forbidden as agency_report.
    """
    scope = report_scope(uow, principal)
    months = period.months()
    index = {m: i for i, m in enumerate(months)}
    cats = defaultdict(lambda: [0, 0, [0] * len(months)])
    dists = defaultdict(lambda: [0, 0, [0] * len(months)])
    matrix = defaultdict(lambda: defaultdict(int))
    total = repeated = 0
    for row in uow.conn.execute(_hotspot_rows(scope), {"b_start": months[0], "b_end": months[-1]}):
        n, r, i = row.received or 0, row.repeated or 0, index[row.month]
        total, repeated = total + n, repeated + r
        for into, code in ((cats, row.category), (dists, row.district)):
            entry = into[code]
            entry[0] += n
            entry[1] += r
            entry[2][i] += n
        if row.case_type == "dispatch":
            matrix[row.category][row.district] += n
    names = category_names()

    def ranked(found, label):
        best = sorted(found.items(), key=lambda kv: (-kv[1][0], kv[0]))[:top]
        return tuple(Ranked(code, label(code), e[0], e[1], tuple(e[2])) for code, e in best)

    columns = tuple(sorted({d for row in matrix.values() for d in row}, key=lambda d: (d == "", d)))
    rows = tuple((code, names.get(code, code), tuple(matrix[code].get(d, 0) for d in columns),
                  sum(matrix[code].values()))
                 for code in sorted(matrix, key=lambda c: (-sum(matrix[c].values()), c)))
    return HotspotReport(Period(months[0], period.end), tuple(months), total, repeated,
                         ranked(cats, lambda c: names.get(c, c)), ranked(dists, lambda d: d or "未分區"),
                         columns, rows, rollups.pending(uow))


# --- 1999 ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CallsReport:
    """1999 calls of a period by outcome, and by hour of the day (0-23) and outcome."""

    period: Period
    total: int
    by_outcome: dict  # outcome -> calls, in CALL_OUTCOMES order
    by_hour: tuple  # 24 dicts outcome -> calls
    pending: int


def calls_report(uow, principal: Principal, period: Period) -> CallsReport:
    """1999 calls by outcome and hour; the hotline is the commission's, so only city-wide readers see it.

    Raises Forbidden for anyone else.
    """
    if not report_scope(uow, principal).everything:
        raise Forbidden("the 1999 report is the commission's")
    t = report_call_hours
    rows = uow.conn.execute(select(t.c.hour, t.c.outcome, func.sum(t.c.calls).label("calls"))
                            .where(and_(t.c.day >= period.start, t.c.day <= period.end))
                            .group_by(t.c.hour, t.c.outcome)).all()
    by_outcome = {o: 0 for o in CALL_OUTCOMES}
    by_hour = [dict.fromkeys(CALL_OUTCOMES, 0) for _ in range(24)]
    for row in rows:
        by_outcome[row.outcome] = by_outcome.get(row.outcome, 0) + row.calls
        by_hour[row.hour][row.outcome] = by_hour[row.hour].get(row.outcome, 0) + row.calls
    return CallsReport(period, sum(by_outcome.values()), by_outcome, tuple(by_hour), rollups.pending(uow))


def rollup_backlog(uow) -> int:
    """How many cases wait for the rollups' catch-up."""
    return rollups.pending(uow)
