"""The commission's tracking reports: council items per session with the execution report on
resolutions, and site inspections per half-year. They read their own rollups (engine.cases.rollups);
who sees what is engine.queries.reports.report_scope.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from engine.accounts.identity import Principal
from engine.cases import rollups
from engine.queries.reports import names_of, percent, report_scope
from engine.store.schema import cases, report_council, report_site_inspections

# --- council items -------------------------------------------------------------------------------

@dataclass(frozen=True)
class BureauLine:
    """A bureau's council items of a session: assigned, replied, replied on time."""

    agency_id: int
    agency_name: str
    assigned: int
    replied: int
    replied_on_time: int

    @property
    def on_time_pct(self) -> float | None:
        return percent(self.replied_on_time, self.assigned)


@dataclass(frozen=True)
class SessionLine:
    """A council session's items by kind and where they stand, and its bureaus."""

    session: str
    interpellations: int
    resolutions: int
    tracked: int
    released: int
    replied_closed: int
    bureaus: tuple


@dataclass(frozen=True)
class ResolutionLine:
    """A resolution of the execution report: the item, where it stands, each bureau's reply."""

    case_id: int
    case_no: str
    subject: str
    status: str  # tracked, released, replied_closed
    bureaus: tuple  # (agency name, replied, on time)


@dataclass(frozen=True)
class CouncilReport:
    sessions: tuple
    resolutions: tuple  # the execution report of the session asked for (empty without one)
    session: str | None
    pending: int


def council_report(uow, principal: Principal, session: str | None = None) -> CouncilReport:
    """Council items per session (assigned per bureau, replied on time, still tracked, released), and the
    execution report on the resolutions of `session`. An agency's readers see their bureaus' lines and
    the items assigned to them. Raises Forbidden as agency_report."""
    scope = report_scope(uow, principal)
    t = report_council
    q = select(t.c.session, t.c.item_kind, t.c.case_id, t.c.agency_id, t.c["items"], t.c.tracked, t.c.released,
               t.c.replied_closed, t.c.assigned, t.c.replied, t.c.replied_on_time)
    rows = uow.conn.execute(q).all()
    if not scope.everything:
        mine = {r.case_id for r in rows if r.agency_id in scope.agency_ids}
        rows = [r for r in rows if r.case_id in mine and (r.agency_id == 0 or r.agency_id in scope.agency_ids)]
    names, _units = names_of(uow)
    sessions = defaultdict(lambda: {"interpellation": 0, "resolution": 0, "tracked": 0, "released": 0,
                                    "replied_closed": 0, "bureaus": defaultdict(lambda: [0, 0, 0])})
    for r in rows:
        s = sessions[r.session]
        if r.agency_id == 0:
            s[r.item_kind if r.item_kind in ("interpellation", "resolution") else "interpellation"] += r.items
            s["tracked"] += r.tracked
            s["released"] += r.released
            s["replied_closed"] += r.replied_closed
        else:
            b = s["bureaus"][r.agency_id]
            b[0] += r.assigned
            b[1] += r.replied
            b[2] += r.replied_on_time
    lines = tuple(SessionLine(name, s["interpellation"], s["resolution"], s["tracked"], s["released"],
                              s["replied_closed"],
                              tuple(BureauLine(a, names.get(a, ""), *v)
                                    for a, v in sorted(s["bureaus"].items(), key=lambda kv: names.get(kv[0], ""))))
                  for name, s in sorted(sessions.items()))
    resolutions = ()
    if session is not None:
        chosen = [r for r in rows if r.session == session and r.item_kind == "resolution"]
        ids = sorted({r.case_id for r in chosen})
        info = {c.id: c for c in uow.conn.execute(select(cases.c.id, cases.c.case_no, cases.c.subject)
                                                  .where(cases.c.id.in_(ids)))} if ids else {}
        found = []
        for case_id in ids:
            mine = [r for r in chosen if r.case_id == case_id]
            item = next((r for r in mine if r.agency_id == 0), None)
            status = ("tracked" if item is not None and item.tracked else
                      "released" if item is not None and item.released else "replied_closed")
            found.append(ResolutionLine(case_id, info[case_id].case_no if case_id in info else "",
                                        (info[case_id].subject or "") if case_id in info else "", status,
                                        tuple((names.get(r.agency_id, ""), bool(r.replied), bool(r.replied_on_time))
                                              for r in mine if r.agency_id)))
        resolutions = tuple(found)
    return CouncilReport(lines, resolutions, session, rollups.pending(uow))


# --- site inspections ----------------------------------------------------------------------------

@dataclass(frozen=True)
class OfficeLine:
    """Inspections a councillor's office (or, with no name, an agency) asked for in a half-year."""

    office: str
    inspections: int
    declined: int


@dataclass(frozen=True)
class InspectionAgencyLine:
    """An agency's site inspections of a half-year: invited to, follow-up items done and open."""

    agency_id: int
    agency_name: str
    invited: int
    follow_ups: int
    follow_ups_done: int

    @property
    def follow_ups_open(self) -> int:
        return self.follow_ups - self.follow_ups_done


@dataclass(frozen=True)
class HalfYear:
    half: str
    inspections: int
    declined: int
    offices: tuple
    agencies: tuple


@dataclass(frozen=True)
class SiteReport:
    halves: tuple
    pending: int


def site_report(uow, principal: Principal, year: int | None = None) -> SiteReport:
    """Site inspections per half-year (of `year`, or every year), per councillor's office and per
    agency with follow-up items done and open. An agency's readers see their agency's lines only.
    Raises Forbidden as agency_report."""
    scope = report_scope(uow, principal)
    t = report_site_inspections
    q = select(t.c.half, t.c.office, t.c.agency_id, t.c.inspections, t.c.declined, t.c.invited, t.c.follow_ups,
               t.c.follow_ups_done)
    if year is not None:
        q = q.where(t.c.half.in_([f"{year}H1", f"{year}H2"]))
    names, _units = names_of(uow)
    halves = defaultdict(lambda: {"offices": defaultdict(lambda: [0, 0]), "agencies": defaultdict(lambda: [0, 0, 0])})
    for r in uow.conn.execute(q):
        h = halves[r.half]
        if r.agency_id == 0:
            if scope.everything:
                h["offices"][r.office][0] += r.inspections
                h["offices"][r.office][1] += r.declined
        elif scope.everything or r.agency_id in scope.agency_ids:
            a = h["agencies"][r.agency_id]
            a[0] += r.invited
            a[1] += r.follow_ups
            a[2] += r.follow_ups_done
    found = []
    for half in sorted(halves):
        h = halves[half]
        offices = tuple(OfficeLine(o, *v) for o, v in sorted(h["offices"].items(), key=lambda kv: (-kv[1][0], kv[0])))
        lines = tuple(InspectionAgencyLine(a, names.get(a, ""), *v)
                      for a, v in sorted(h["agencies"].items(), key=lambda kv: (-kv[1][0], names.get(kv[0], ""))))
        found.append(HalfYear(half, sum(o.inspections for o in offices), sum(o.declined for o in offices),
                              offices, lines))
    return SiteReport(tuple(found), rollups.pending(uow))
