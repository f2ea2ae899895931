"""The rows of the benchmark's cases: each case with its petitioner and history, and for open cases
the workflow instance, the work item and its pending timers, as the services would have left them.

Open work reuses, per process, the state of a case started through the services
(engine.services.cases.start_case) with the case's own id, number, receipt and due times put in.
"""
from __future__ import annotations

import functools
import json
import math
import random
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from generate_city import DISTRICT_OFFICES, DISTRICTS
from generate_text import CATEGORIES, petitioner, subject

from engine.deadlines.calendar import OFFICE_CLOSES
from engine.deadlines.rules import compute_deadline, escalation_steps, pick_rule, reminder_times
from engine.queries.lateness import horizon_for
from engine.services.cases import case_number

#: Kinds of case and their share of the cases, and the channels each comes by (with weights).
CASE_TYPES = {"petition": 0.47, "dispatch": 0.30, "hotline": 0.16, "site_inspection": 0.04, "council_item": 0.03}
CHANNELS = {"petition": {"web": 45, "1999": 20, "email": 10, "phone": 8, "app": 6, "mail": 5, "walk_in": 4,
                         "fax": 1, "council": 1},
            "dispatch": {"1999": 35, "app": 35, "web": 15, "patrol": 15},
            "hotline": {"1999": 1}, "council_item": {"council": 1}, "site_inspection": {"council": 6, "agency": 4}}

#: Share of open work per state of its due time, as of the data set's moment, unless told
#: otherwise (--overdue, --at-risk): a city answering about 95% of its cases on time has a few
#: percent of its open work overdue at any moment; the benchmark also runs a city far behind.
OVERDUE, AT_RISK = 0.05, 0.05

#: Roles whose work belongs to the case's agency; the others are central work (no agency).
SCOPED_ROLES = frozenset({"caseworker", "supervisor", "agency_head", "agency_liaison"})

#: Columns written by COPY, per table, in order.
COLUMNS = {
    "petitioners": ("id", "name", "id_number", "phone", "email", "address", "created_at"),
    "cases": ("id", "case_no", "case_type", "channel", "category", "district", "subject", "status", "confidential",
              "agency_id", "unit_id", "petitioner_id", "received_at", "due_at", "closed_at", "created_at",
              "updated_at"),
    "workflow_instances": ("id", "case_id", "definition_id", "state", "version", "status", "next_timer_at",
                           "created_at", "updated_at"),
    "work_items": ("id", "instance_id", "case_id", "task_id", "task_spec", "name", "lane", "role", "agency_id",
                   "unit_id", "case_agency_id", "assignee_id", "status", "form_key", "due_at", "escalation_level",
                   "deadline_mode", "created_at"),
    "timers": ("id", "kind", "instance_id", "case_id", "work_item_id", "task_id", "due_at", "status", "attempts",
               "payload", "created_at"),
    "case_events": ("id", "case_id", "at", "kind", "actor_id", "work_item_id", "data"),
}


@dataclass
class Template:
    """A process's state and first open task, from a case started through the services."""

    process_key: str
    definition_id: int
    version: int
    state: str
    item: dict  # task_id, task_spec, name, lane, role, form_key, deadline_mode
    bpmn_timer: dict | None  # task_id and payload of the boundary timer waiting on the item, if any
    case_id: int
    case_no: str
    received_iso: str
    due_iso: str
    _pieces: list = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        marks = {f'"case_id":{self.case_id},': 0, f'"case_id":{self.case_id}}}': 1, self.case_no: 2,
                 self.received_iso: 3, self.due_iso: 4}
        parts = re.split("(" + "|".join(re.escape(m) for m in marks) + ")", self.state)
        self._pieces = [(marks[p], None) if p in marks else (-1, p) for p in parts if p]
        found = {mark for mark, _ in self._pieces}
        if not ({0, 1} & found and {2, 3, 4} <= found):
            raise RuntimeError(f"the {self.process_key} state does not hold its case's id, number and times as "
                               "expected; its rows cannot be made from it")

    def state_for(self, case_id: int, case_no: str, received: datetime, due: datetime) -> str:
        """The template's state with the case's own id, number, receipt and due time."""
        values = (f'"case_id":{case_id},', f'"case_id":{case_id}}}', case_no, received.isoformat(), due.isoformat())
        return "".join(text if mark < 0 else values[mark] for mark, text in self._pieces)


@dataclass
class City:
    """What the rows refer to: ids of the organisation, rules, calendar, templates."""

    agency_ids: dict  # code -> id
    agency_names: dict  # id -> name
    unit_ids: dict  # (agency code, unit code) -> id
    caseworkers: dict  # agency id -> [user ids]
    central: dict  # role -> [user ids]
    rules: list
    calendar: object
    zone: object
    templates: dict  # process key -> [(Template, weight)], the usual path first


class Ids:
    """The next id of each table (ids are written, not drawn from the sequences)."""

    def __init__(self, start: dict | None = None):
        self.next = dict(start or {})

    def take(self, table: str) -> int:
        value = self.next.get(table, 1)
        self.next[table] = value + 1
        return value


def received_times(n: int, start: datetime, end: datetime, rng: random.Random) -> list[datetime]:
    """n receipt times between start and end, sorted: the yearly volume doubles over the span, and
    most arrive in office hours."""
    span = (end - start).total_seconds()
    hour_weights = [1, .5, .3, .3, .3, .5, 1, 2, 4, 6, 7, 7, 6, 6, 7, 7, 6, 5, 4, 4, 4, 3, 2, 1.5]
    hours = rng.choices(range(24), weights=hour_weights, k=n)
    times = []
    for i in range(n):
        x = -1 + math.sqrt(1 + 3 * rng.random())  # density growing from 1 to 2 over the span
        moment = start + timedelta(seconds=x * span)
        day_start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        # Hours are of the city's day: 08:00 UTC is 16:00 in Taipei.
        shifted = day_start + timedelta(hours=(hours[i] - 8) % 24, seconds=rng.randrange(3600))
        times.append(shifted if start <= shifted < end else moment.replace(microsecond=0))
    times.sort()
    return times


def open_flags(times: list[datetime], target: int, end: datetime, rng: random.Random) -> bytearray:
    """Which cases are still open: `target` of them, the newest most likely (all of the last days)."""
    ages = [(end - t).total_seconds() / 86400 for t in times]
    lo, hi = 0.1, 1e5
    for _ in range(60):  # the decay that opens `target` cases on average
        tau = math.sqrt(lo * hi)
        expected = sum(0.98 * math.exp(-a / tau) for a in ages)
        lo, hi = (tau, hi) if expected < target else (lo, tau)
    flags = bytearray(len(times))
    for i, age in enumerate(ages):
        flags[i] = rng.random() < 0.98 * math.exp(-age / tau)
    count = sum(flags)
    order = range(len(times) - 1, -1, -1)  # newest first: add the newest missing, drop the oldest extra
    for i in order:
        if count >= target:
            break
        if not flags[i]:
            flags[i], count = 1, count + 1
    for i in range(len(times)):
        if count <= target:
            break
        if flags[i]:
            flags[i], count = 0, count - 1
    return flags


class CaseMaker:
    """Makes the rows of one case at a time into per-table lists (a batch for COPY)."""

    def __init__(self, city: City, as_of: datetime, rng: random.Random, ids: Ids, *,
                 overdue: float = OVERDUE, at_risk: float = AT_RISK):
        self.city, self.as_of, self.rng, self.ids = city, as_of, rng, ids
        self.overdue, self.at_risk = overdue, at_risk
        self.horizon = horizon_for(city.calendar, as_of)
        self.types, self.type_weights = list(CASE_TYPES), list(CASE_TYPES.values())
        self.districts, self.district_weights = list(DISTRICTS), list(DISTRICTS.values())
        self.cats = {kind: ([c[0] for c in CATEGORIES if c[col]], [c[col] for c in CATEGORIES if c[col]])
                     for kind, col in (("petition", 3), ("dispatch", 4))}
        self.routing = {c[0]: (c[1], c[2]) for c in CATEGORIES}
        self.rule_cache: dict = {}
        self.due_cache: dict = {}
        self.rows = {table: [] for table in COLUMNS}

    def take_rows(self) -> dict:
        rows, self.rows = self.rows, {table: [] for table in COLUMNS}
        return rows

    # --- one case --------------------------------------------------------------------------

    def case(self, received: datetime, is_open: bool) -> None:
        rng, city = self.rng, self.city
        case_type = rng.choices(self.types, self.type_weights)[0]
        channels = CHANNELS[case_type]
        channel = rng.choices(list(channels), list(channels.values()))[0]
        district = rng.choices(self.districts, self.district_weights)[0]
        category = rng.choices(*self.cats[case_type])[0] if case_type in self.cats else None
        variants = city.templates[case_type]  # [(template, weight)]: the first is the usual path
        process = rng.choices(*zip(*variants))[0] if is_open and len(variants) > 1 else variants[0][0]
        central_open = is_open and process.item["role"] not in SCOPED_ROLES
        agency_code, unit_code = self._agency(case_type, category, district, central_open)
        agency_id = city.agency_ids[agency_code] if agency_code else None
        unit_id = city.unit_ids.get((agency_code, unit_code)) if agency_code else None
        case_id = self.ids.take("cases")
        case_no = case_number(case_type, received, case_id, city.zone)
        rule = self._rule(case_type, channel, category)
        due = self._due_by_rule(rule, received)
        petitioner_id = None
        if case_type != "council_item" and case_type != "site_inspection" and rng.random() < 0.85:
            petitioner_id = self.ids.take("petitioners")
            self.rows["petitioners"].append((petitioner_id, *petitioner(rng, district), received))
        events = self.rows["case_events"]
        events.append((self.ids.take("case_events"), case_id, received, "case_received", None, None,
                       _fixed(("process", case_type), ("version", process.version), ("channel", channel))))
        events.append((self.ids.take("case_events"), case_id, received, "deadline_set", None, None,
                       _json(rule=rule.code, rule_id=rule.id, due_at=due.isoformat(), limit=rule.limit_value,
                             unit=rule.limit_unit)))
        if agency_id is not None and case_type in ("petition", "dispatch"):
            events.append((self.ids.take("case_events"), case_id, received, "case_transferred", None, None,
                           _fixed(("from_agency_id", None), ("to_agency_id", agency_id),
                                  ("to_agency", city.agency_names[agency_id]),
                                  ("reason", "依分文規則" if case_type == "petition" else "依派工規則"))))
        if is_open:
            deadline = compute_deadline(rule, received, city.calendar)
            due, updated = self._open_work(case_id, case_no, process, deadline, received, agency_id, unit_id,
                                           case_type)
            status, closed = "open", None
        else:
            closed = self._closed_at(received, due)
            status = "cancelled" if rng.random() < 0.02 else "closed"
            self._closed_events(case_id, process, received, closed, agency_id, status)
            updated = closed
        self.rows["cases"].append((
            case_id, case_no, case_type, channel, category, district, subject(rng, case_type, category, district),
            status, case_type == "petition" and rng.random() < 0.01, agency_id, unit_id, petitioner_id,
            received, due, closed, received, updated))

    def _agency(self, case_type, category, district, central_open) -> tuple:
        """The agency and unit handling the case; None for central work not yet given to an agency."""
        if central_open:
            return None, None
        if category is None:
            if case_type == "hotline" and self.rng.random() < 0.7:
                return None, None  # answered on the spot by the operator
            category = self.rng.choices(*self.cats["petition"])[0]
        code, unit = self.routing[category]
        return (code or DISTRICT_OFFICES[district]), unit

    def _rule(self, case_type, channel, category):
        key = (case_type, channel, category)
        if key not in self.rule_cache:
            self.rule_cache[key] = pick_rule(self.city.rules, case_type, channel, category)
        return self.rule_cache[key]

    def _due_by_rule(self, rule, received: datetime) -> datetime:
        """The case's due time under its rule (engine.deadlines.rules.compute_deadline), kept per
        rule and receipt day: the due time of a limit in days depends on nothing else."""
        if rule.limit_unit == "hours":
            return received + timedelta(hours=rule.limit_value)
        local = received.astimezone(self.city.zone)
        key = (rule.id, local.date(), local.time() >= OFFICE_CLOSES)
        if key not in self.due_cache:
            self.due_cache[key] = compute_deadline(rule, received, self.city.calendar).due_at
        return self.due_cache[key]

    def _closed_at(self, received: datetime, due: datetime) -> datetime:
        """Most cases close in time, some late; never after the data set's moment."""
        rng = self.rng
        if rng.random() < 0.85:
            closed = received + (due - received) * rng.uniform(0.05, 1.0)
        else:
            closed = due + timedelta(hours=rng.expovariate(1 / 72))
        closed = min(closed, self.as_of - timedelta(minutes=1))
        return closed if closed > received else received + (self.as_of - received) / 2

    def _closed_events(self, case_id, process: Template, received, closed, agency_id, status) -> None:
        rng, events, item = self.rng, self.rows["case_events"], process.item
        events.append((self.ids.take("case_events"), case_id, received, "task_ready", None, None,
                       _fixed(("task", item["task_spec"]), ("name", item["name"]), ("lane", item["lane"]))))
        if status == "closed":
            holders = (self.city.caseworkers.get(agency_id) if agency_id and item["role"] == "caseworker"
                       else self.city.central.get(item["role"]))
            actor = rng.choice(holders) if holders else None
            events.append((self.ids.take("case_events"), case_id, closed, "task_completed", actor, None,
                           _fixed(("task", item["task_spec"]), ("name", item["name"]))))
            outcome = "replied" if process.process_key != "dispatch" else "fixed"
            events.append((self.ids.take("case_events"), case_id, closed, "case_closed", None, None,
                           _fixed(("outcome", outcome))))
        else:
            events.append((self.ids.take("case_events"), case_id, closed, "case_closed", None, None,
                           _fixed(("outcome", "closed_without_processing"))))

    # --- open work ---------------------------------------------------------------------------

    def _due(self, received: datetime) -> datetime:
        """A due time as of the data set's moment: overdue, at risk, or later, in the shares above."""
        rng, h = self.rng, self.horizon
        draw = rng.random()
        if draw < self.overdue:
            due = h.now - timedelta(hours=min(rng.expovariate(1 / 200), 24 * 90))
            return max(due, received + timedelta(hours=4))
        if draw < self.overdue + self.at_risk:
            return h.now + (h.at_risk_until - h.now) * rng.random()
        return h.at_risk_until + timedelta(minutes=rng.randint(30, 25 * 24 * 60))

    def _open_work(self, case_id, case_no, process: Template, deadline, received, agency_id, unit_id, case_type):
        rng, city, rows = self.rng, self.city, self.rows
        due = self._due(received).replace(microsecond=0)
        deadline = replace(deadline, due_at=due, nominal_due_at=due)
        instance_id, item_id = self.ids.take("workflow_instances"), self.ids.take("work_items")
        item = process.item
        role = item["role"]
        scoped = role in SCOPED_ROLES
        item_agency = agency_id if scoped else None
        holders = city.caseworkers.get(agency_id) if scoped else city.central.get(role)
        assignee = rng.choice(holders) if holders and rng.random() < (0.45 if scoped else 0.3) else None
        timer = process.bpmn_timer
        next_timer = due if timer is not None and due > self.as_of else None
        rows["workflow_instances"].append((
            instance_id, case_id, process.definition_id, process.state_for(case_id, case_no, received, due), 1,
            "waiting", next_timer, received, received))
        events = rows["case_events"]
        events.append((self.ids.take("case_events"), case_id, received, "task_ready", None, item_id,
                       _fixed(("task", item["task_spec"]), ("name", item["name"]), ("lane", item["lane"]))))
        level, updated = 0, received
        for at in reminder_times(deadline, city.calendar):
            if at <= self.as_of:
                events.append((self.ids.take("case_events"), case_id, at, "reminder_sent", None, item_id,
                               _json(rule=deadline.rule_code, due_at=_local(due, city.zone))))
                updated = max(updated, at)
            else:
                rows["timers"].append((self.ids.take("timers"), "reminder", instance_id, case_id, item_id, None, at,
                                       "pending", 0, _fixed(("rule", deadline.rule_code)), received))
        for step in escalation_steps(deadline, city.calendar):
            if step.at <= self.as_of:
                level = max(level, step.level)
                late = city.calendar.working_days_between(city.calendar.local_date(due),
                                                          city.calendar.local_date(step.at))
                events.append((self.ids.take("case_events"), case_id, step.at, "escalated", None, item_id,
                               _json(level=step.level, to=step.to, rule=deadline.rule_code, working_days_late=late)))
                updated = max(updated, step.at)
            else:
                rows["timers"].append((self.ids.take("timers"), "escalation", instance_id, case_id, item_id, None,
                                       step.at, "pending", 0,
                                       _fixed(("rule", deadline.rule_code), ("level", step.level), ("to", step.to)), received))
        if next_timer is not None:
            rows["timers"].append((self.ids.take("timers"), "bpmn_timer", instance_id, case_id, None,
                                   timer["task_id"], due, "pending", 0, json.dumps(timer["payload"], ensure_ascii=False),
                                   received))
        rows["work_items"].append((
            item_id, instance_id, case_id, item["task_id"], item["task_spec"], item["name"], item["lane"], role,
            item_agency, unit_id, agency_id, assignee, "open", item["form_key"], due, level, item["deadline_mode"],
            received))
        return due, updated


def _json(**data) -> str:
    return json.dumps(data, ensure_ascii=False)


@functools.lru_cache(maxsize=None)
def _fixed(*items) -> str:
    """JSON of data that repeats from case to case ((key, value) pairs), made once."""
    return json.dumps(dict(items), ensure_ascii=False)


def _local(at: datetime, zone) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
