"""What a case counts for in the reports: its share of the rollup counters, computed from its records.

A case's share is a set of counter cells (table, key) with the amounts it adds to each, e.g. one
case received on 2026-03-02 by 工務局 by web adds 1 to `received` of that day's row. The share is
a pure function of the case's records (its row, the history rows in REPORTED_KINDS, the units
of the people who worked it, its council replies or follow-up items, an earlier case of the same
petitioner and category), so it can be recomputed at any time; the rollups hold the sum of every
case's share (engine.cases.rollups keeps them).

Attribution (what the README's Reports section says): a case's own figures (received, closed,
working days, satisfaction, review) count for the agency that has the case now, on the local
day they happened; transfers (改分/移文, not the first routing of a case to its agency) count out
for the agency that gave the case and in for the one that got it, on the day of the transfer; the
unit is the case's unit, else that of the last person of the case's agency who completed work on
it. 1999 calls, council items and site inspections count in their own tables only.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, select

from engine.deadlines.calendar import calendar_for
from engine.store.schema import (
    agencies,
    case_events,
    cases,
    report_agency_days,
    report_call_hours,
    report_close_days,
    report_council,
    report_hotspot_months,
    report_site_inspections,
    units,
    users,
    work_items,
)

#: History rows that can change a case's share (the trigger of migration 0019 lists the same).
REPORTED_KINDS = ("case_received", "case_closed", "case_transferred", "deadline_extended", "task_completed",
                  "duplicate_merged", "citizen_notified")

#: The counter tables, by name as a share names them, with their key columns in order.
TABLES = {t.name: t for t in (report_agency_days, report_close_days, report_hotspot_months, report_call_hours,
                              report_council, report_site_inspections)}
KEYS = {name: tuple(c.name for c in t.primary_key.columns) for name, t in TABLES.items()}
MEASURES = {name: tuple(c.name for c in t.columns if not c.primary_key) for name, t in TABLES.items()}

#: Satisfaction answers that count as satisfied (the survey form's values).
SATISFIED = frozenset({"very_satisfied", "satisfied"})

#: An earlier case of the same petitioner and category within this many days makes a case a repeat.
REPEAT_WINDOW_DAYS = 365

#: How the diagrams end a case closed as a duplicate of another.
MERGED_OUTCOMES = frozenset({"merged"})

#: The case type of 1999 calls: they have their own report, not a line in an agency's figures.
HOTLINE = "hotline"

#: The case type of council items, and the task each bureau replies in (one instance per bureau).
COUNCIL = "council_item"
BUREAU_REPLY = "reply_bureau"

#: The case type of site inspections, and the task each follow-up item is tracked in (one per item).
SITE = "site_inspection"
#: Tracked items (列管) are counted by their own report (engine.queries.tracked_items), not as
#: citizens' cases of an agency: their share of these counters is nothing.
TRACKED = "tracked_item"
FOLLOW_UP = "track_follow_up"


def _month(day: date) -> date:
    return day.replace(day=1)


class Share:
    """A case's counter cells being added up: {(table, key): {measure: amount}}."""

    def __init__(self):
        self.cells: dict = {}

    def add(self, table: str, key: tuple, **amounts) -> None:
        cell = self.cells.setdefault((table, key), {})
        for measure, amount in amounts.items():
            if amount:
                cell[measure] = cell.get(measure, 0) + amount

    def as_json(self) -> list:
        return [[table, [k.isoformat() if isinstance(k, date) else k for k in key], amounts]
                for (table, key), amounts in sorted(self.cells.items(), key=lambda c: (c[0][0], repr(c[0][1])))
                if amounts]


def _key_from_json(table: str, key: list) -> tuple:
    cols = KEYS[table]
    return tuple(date.fromisoformat(v) if col in ("day", "month") else v for col, v in zip(cols, key))


def cells_of(contribution) -> dict:
    """A stored share as {(table, key): {measure: amount}}."""
    return {(table, _key_from_json(table, key)): dict(amounts) for table, key, amounts in contribution or []}


_case_rows = select(cases.c.id, cases.c.case_type, cases.c.channel, cases.c.category, cases.c.district,
                    cases.c.status, cases.c.agency_id, cases.c.unit_id, cases.c.petitioner_id, cases.c.received_at,
                    cases.c.due_at, cases.c.closed_at).where(cases.c.id.in_(bindparam("ids", expanding=True)))
_event_rows = (select(case_events.c.case_id, case_events.c.at, case_events.c.kind, case_events.c.actor_id,
                      case_events.c.data)
               .where(case_events.c.case_id.in_(bindparam("ids", expanding=True)),
                      case_events.c.kind.in_(REPORTED_KINDS))
               .order_by(case_events.c.case_id, case_events.c.at, case_events.c.id))
_user_units = (select(users.c.id, units.c.agency_id, users.c.unit_id)
               .join(units, units.c.id == users.c.unit_id)
               .where(users.c.id.in_(bindparam("ids", expanding=True))))


def _repeats(conn, rows) -> set[int]:
    """The cases, of those given, with an earlier case of the same petitioner and category within the window."""
    wanted = [r for r in rows if r.petitioner_id is not None and r.category]
    if not wanted:
        return set()
    earlier = cases.alias("earlier")
    found = set()
    by_pair = defaultdict(list)
    for r in wanted:
        by_pair[(r.petitioner_id, r.category)].append(r)
    petitioner_ids = sorted({r.petitioner_id for r in wanted})
    history = defaultdict(list)
    for chunk in range(0, len(petitioner_ids), 1000):
        for row in conn.execute(select(earlier.c.id, earlier.c.petitioner_id, earlier.c.category,
                                       earlier.c.received_at)
                                .where(earlier.c.petitioner_id.in_(petitioner_ids[chunk:chunk + 1000]),
                                       earlier.c.category.is_not(None))):
            history[(row.petitioner_id, row.category)].append((row.received_at, row.id))
    for pair, mine in by_pair.items():
        for r in mine:
            start = r.received_at - timedelta(days=REPEAT_WINDOW_DAYS)
            if any(start <= at and (at, cid) < (r.received_at, r.id) for at, cid in history.get(pair, ())):
                found.add(r.id)
    return found


def compute_shares(uow, case_ids) -> dict[int, Share]:
    """Each case's share of the counters from its records now (a case that no longer exists has none)."""
    conn, ids = uow.conn, sorted(set(case_ids))
    if not ids:
        return {}
    rows = conn.execute(_case_rows, {"ids": ids}).all()
    events = defaultdict(list)
    for e in conn.execute(_event_rows, {"ids": ids}):
        events[e.case_id].append(e)
    actors = sorted({e.actor_id for es in events.values() for e in es
                     if e.kind == "task_completed" and e.actor_id is not None})
    people = {u.id: u for u in conn.execute(_user_units, {"ids": actors})} if actors else {}
    repeats = _repeats(conn, rows)
    items = _task_items(conn, [r.id for r in rows if r.case_type == COUNCIL], BUREAU_REPLY)
    follow_ups = _task_items(conn, [r.id for r in rows if r.case_type == SITE], FOLLOW_UP)
    codes = dict(conn.execute(select(agencies.c.code, agencies.c.id)).all()) if follow_ups or any(
        r.case_type == SITE for r in rows) else {}
    cal = calendar_for(uow)
    shares = {}
    for r in rows:
        if r.case_type == COUNCIL:
            shares[r.id] = _council_share(r, events.get(r.id, ()), items.get(r.id, ()))
        elif r.case_type == SITE:
            shares[r.id] = _site_share(r, events.get(r.id, ()), follow_ups.get(r.id, ()), codes, cal)
        elif r.case_type == TRACKED:
            shares[r.id] = Share()
        else:
            shares[r.id] = _share_of(r, events.get(r.id, ()), people, r.id in repeats, cal)
    return shares


def _task_items(conn, case_ids, task: str) -> dict:
    """The work items of a task (its instances) of the cases, in the order they opened:
    {case id: [(agency, due, completed at, status)]}."""
    found = defaultdict(list)
    if not case_ids:
        return found
    for row in conn.execute(select(work_items.c.case_id, work_items.c.agency_id, work_items.c.due_at,
                                   work_items.c.completed_at, work_items.c.status)
                            .where(work_items.c.case_id.in_(case_ids),
                                   work_items.c.task_spec.like(task + "%"))
                            .order_by(work_items.c.case_id, work_items.c.id)):
        found[row.case_id].append(row)
    return found


def _answers(events, task: str) -> dict:
    """The reported answers of the last completion of a task."""
    found = {}
    for e in events:
        if e.kind == "task_completed" and (e.data or {}).get("task") == task:
            found = (e.data or {}).get("answers") or {}
    return found


def _half(day: date) -> str:
    return f"{day.year}H{1 if day.month <= 6 else 2}"


def _site_share(row, events, follow_ups, codes: dict, cal) -> Share:
    """A site inspection: counted in the half-year of its day (asked for when declined) for the office that
    asked for it; each agency invited, and each follow-up item for its agency, done or not. Follow-up items
    are tracked one work item each, opened in the order the minutes list them."""
    share = Share()
    schedule = _answers(events, "schedule_inspection")
    declined = schedule.get("schedule_decision") == "decline"
    try:
        day = datetime.fromisoformat(schedule["inspection_at"]).astimezone(cal.tz).date()
    except (KeyError, TypeError, ValueError):
        day = cal.local_date(row.received_at)
    half, office = _half(day), str(schedule.get("councillor_office") or "")[:100]
    share.add("report_site_inspections", (half, office, 0), inspections=int(not declined), declined=int(declined))
    if declined:
        return share
    for code in dict.fromkeys(schedule.get("invited_agencies") or ()):
        share.add("report_site_inspections", (half, office, codes.get(code, 0)), invited=1)
    listed = _answers(events, "record_minutes").get("follow_up_items") or []
    for n, entry in enumerate(listed):
        agency = codes.get((entry or {}).get("agency_code"), 0)
        done = n < len(follow_ups) and follow_ups[n].status == "completed"
        share.add("report_site_inspections", (half, office, agency), follow_ups=1, follow_ups_done=int(done))
    return share


def _council_share(row, events, items) -> Share:
    """A council item: one row for the item (its session and kind as registered, where it stands), one
    per bureau assigned (whether and when it first replied, against the due time of its reply)."""
    share = Share()
    answers = next(((e.data or {}).get("answers") for e in events if e.kind == "task_completed"
                    and (e.data or {}).get("task") == "register_item"), None) or {}
    session, kind = str(answers.get("session") or "")[:100], str(answers.get("item_kind") or "")[:32]
    outcome = next(((e.data or {}).get("outcome") for e in events if e.kind == "case_closed"), None)
    closed = row.status == "closed"
    share.add("report_council", (session, kind, row.id, 0), items=1, tracked=int(row.status == "open"),
              released=int(closed and outcome == "released"), replied_closed=int(closed and outcome != "released"))
    first: dict = {}
    for item in items:
        agency = item.agency_id or 0
        mark = first.setdefault(agency, [None, None])
        if mark[1] is None and item.due_at is not None:
            mark[1] = item.due_at
        if item.status == "completed" and item.completed_at is not None and mark[0] is None:
            mark[0] = item.completed_at
    for agency, (replied_at, due) in first.items():
        share.add("report_council", (session, kind, row.id, agency), assigned=1, replied=int(replied_at is not None),
                  replied_on_time=int(replied_at is not None and (due is None or replied_at <= due)))
    return share


def _unit_of(row, events, people) -> int:
    if row.unit_id is not None:
        return row.unit_id
    for e in reversed(events):
        person = people.get(e.actor_id) if e.kind == "task_completed" else None
        if person is not None and person.agency_id == row.agency_id:
            return person.unit_id
    return 0


def _share_of(row, events, people, repeated: bool, cal) -> Share:
    share = Share()
    if row.case_type == HOTLINE:
        return _call_share(row, events, cal, share)
    agency, unit = row.agency_id or 0, _unit_of(row, events, people)
    case_type, channel = row.case_type, row.channel or ""
    received_day = cal.local_date(row.received_at)
    share.add("report_agency_days", (received_day, agency, unit, case_type, channel), received=1,
              cancelled=int(row.status == "cancelled"))
    outcome = replied_at = None
    for e in events:
        data = e.data or {}
        day = cal.local_date(e.at)
        if e.kind == "case_transferred" and data.get("from_agency_id"):  # not the first routing (分文)
            src, dst = data["from_agency_id"], data.get("to_agency_id") or 0
            share.add("report_agency_days", (day, src, 0, case_type, channel), transfers_out=1)
            share.add("report_agency_days", (day, dst, 0, case_type, channel), transfers_in=1)
        elif e.kind == "deadline_extended":
            share.add("report_agency_days", (day, agency, unit, case_type, channel), extensions=1)
        elif e.kind == "task_completed":
            answers = data.get("answers") or {}
            if "satisfaction" in answers:
                share.add("report_agency_days", (day, agency, unit, case_type, channel), surveys=1,
                          satisfied=int(answers["satisfaction"] in SATISFIED))
            if "review_decision" in answers:
                share.add("report_agency_days", (day, agency, unit, case_type, channel), reviews=1,
                          sent_back=int(answers["review_decision"] == "send_back"))
        elif e.kind == "case_closed":
            outcome = data.get("outcome")
        elif e.kind == "citizen_notified" and data.get("notice") == "reply" and replied_at is None:
            replied_at = e.at
    if row.status == "closed" and row.closed_at is not None:
        # Counted closed on the day it closed; its time taken and timeliness run to the first reply
        # sent to the citizen when there is one (the survey that follows is not the agency's time).
        day, answered = cal.local_date(row.closed_at), min(replied_at or row.closed_at, row.closed_at)
        taken = max(0, cal.working_days_between(cal.receipt_day(row.received_at), cal.local_date(answered)))
        timed = row.due_at is not None
        share.add("report_agency_days", (day, agency, unit, case_type, channel), closed=1, closed_timed=int(timed),
                  closed_on_time=int(timed and answered <= row.due_at), close_days=taken,
                  merged=int(outcome in MERGED_OUTCOMES))
        share.add("report_close_days", (day, agency, unit, taken), closed=1)
    share.add("report_hotspot_months", (_month(received_day), agency, case_type, row.category or "",
                                        row.district or ""),
              received=1, repeated=int(repeated or outcome in MERGED_OUTCOMES))
    return share


def _call_share(row, events, cal, share: Share) -> Share:
    """A 1999 call counts in the calls' own table only: by the hour it came and how it ended."""
    outcome = ""
    if row.status == "closed":
        outcome = next(((e.data or {}).get("outcome") or "" for e in events if e.kind == "case_closed"), "")
    local = row.received_at.astimezone(cal.tz)
    share.add("report_call_hours", (local.date(), local.hour, outcome), calls=1)
    return share
