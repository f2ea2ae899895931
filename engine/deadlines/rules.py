"""Deadlines per case and per task (以案管制): pick the rule, compute the due time, remind, escalate,
extend, pause.

Which rule applies. Among the active rules of the case type whose channel and category match
(NULL matches anything), the most specific wins, in this order:
  1. channel and category both set,  2. category set,  3. channel set,  4. neither;
then the higher `priority`, then the newest rule (highest id). Category ranks above channel
because the category decides the work (a pothole is the same repair whichever channel
reported it), while a channel rule expresses a service promise of that channel (1999).

Task rules. A rule whose `task` names a task of the case type's process (its BPMN id, e.g.
`confirm_transfer`) is the limit of that step, not of the case: the work item of that task is
due under it, counted from when the item opens, with the rule's own reminders and ladder (a
misrouted case re-routed by the next working day, a routing confirmed within office hours, a
reply reviewed within working days). Among the task rules of a task, the same order picks one.
A case's deadline is picked among the rules naming no task; a task without a rule keeps the
case's due time.

Units.
- working_days: the limit counts working days (see engine/deadlines/calendar.py); the case is due when
  the offices close (17:30 local) on the last one. `first_day` "next_working_day" counts from
  the working day after receipt (Taipei/New Taipei: 收文次日起; art. 48 始日不計), "received"
  counts the day of receipt as day 1 ("next_day" means "next_working_day" here).
- calendar_days: every day counts. "next_day": from the calendar day after the day received,
  whatever day that is (art. 48 始日不計: a council question delivered on a Saturday counts from
  Sunday); "received": the day received is day 1; "next_working_day": receipt moves to a working
  day first (received on a day off or after closing: the next one), counting starts the working
  day after. The period ends at 17:30 on its last day; art. 48 para. 4: a last day that is a
  Saturday off ends on the next Monday at noon, any other last day off (or a Saturday whose
  Monday is off) at 17:30 on the next working day; a make-up Saturday (補行上班日) is a working
  day and does not roll.
- office_hours: office time (08:30-17:30 of working days), from receipt or the next opening:
  "within 4 office hours" of a routing received Friday 16:30 ends Monday 11:30.
- hours: plain elapsed hours from the moment of receipt, nights and weekends included. Dispatch
  repairs (potholes, dark signals, dirty spots) are hazards that do not wait for office hours;
  the 1999 line and the repair crews run around the clock, and the published promises
  ("a pothole within 4 hours") are clock hours.
For working days and office hours, receipt after closing time or on a day off counts from the
next working day. Times are aware UTC datetimes; day arithmetic is on dates in the city's zone.

A `Deadline` records the rule used and a copy of its policy (reminders, ladder, caps), so a
running case keeps the terms it started with when an admin edits the rule; it converts to and
from plain JSON for task data.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from engine.deadlines.calendar import DEFAULT_CITY, WorkingCalendar, calendar_for
from engine.errors import InvalidInput, NotFound
from engine.store.schema import deadline_rules

#: Units a limit, a reminder offset or an escalation delay may be given in.
UNITS = ("working_days", "calendar_days", "hours", "office_hours")

#: Where day counting starts (see the module docstring).
FIRST_DAYS = ("received", "next_day", "next_working_day")


@dataclass(frozen=True)
class DeadlineRule:
    """One row of `deadline_rules`: the limit and its policy for a kind of case."""

    code: str
    case_type: str
    limit_value: int
    limit_unit: str
    channel: str | None = None
    category: str | None = None
    priority: int = 0
    first_day: str = "next_working_day"
    limit_multi_agency: int | None = None
    reminders: tuple = ()
    escalations: tuple = ()
    max_total_days: int | None = None
    max_extensions: int | None = None
    active: bool = True
    note: str | None = None
    task: str | None = None  # the BPMN id of the task whose work this limits; None: the case
    id: int | None = None

    @classmethod
    def from_row(cls, row) -> "DeadlineRule":
        m = row._mapping
        return cls(**{k: m[k] for k in _RULE_COLUMNS if k not in ("reminders", "escalations")},
                   reminders=tuple(m["reminders"] or ()), escalations=tuple(m["escalations"] or ()))

    def specificity(self) -> tuple:
        """The sort key of the documented order: bigger is more specific."""
        both = self.channel is not None and self.category is not None
        return (both, self.category is not None, self.channel is not None, self.priority, self.id or 0)

    def matches(self, case_type: str, channel: str | None, category: str | None, task: str | None = None) -> bool:
        """True for an active rule of the case (task None) or of that task of the case."""
        return (self.active and self.case_type == case_type and self.task == task
                and self.channel in (None, channel) and self.category in (None, category))


_RULE_COLUMNS = ("id", "code", "case_type", "channel", "category", "priority", "limit_value", "limit_unit",
                 "limit_multi_agency", "first_day", "reminders", "escalations", "max_total_days",
                 "max_extensions", "active", "note", "task")


def validate_rule(rule: DeadlineRule) -> None:
    """Raise InvalidInput naming the rule and field if the rule cannot be applied."""
    def bad(field_name, problem):
        raise InvalidInput(f"deadline rule {rule.code!r}: {field_name} {problem}",
                           details={"fields": {field_name: [problem]}, "rule": rule.code})
    if not rule.code or not rule.case_type:
        bad("code", "and case_type are required")
    if rule.task is not None and (not isinstance(rule.task, str) or not rule.task.strip()):
        bad("task", "must be empty (the case) or the id of a task of the process")
    if not isinstance(rule.limit_value, int) or rule.limit_value <= 0:
        bad("limit_value", "must be a positive whole number")
    if rule.limit_unit not in UNITS:
        bad("limit_unit", f"must be one of {', '.join(UNITS)}")
    if rule.first_day not in FIRST_DAYS:
        bad("first_day", f"must be one of {', '.join(FIRST_DAYS)}")
    for name in ("limit_multi_agency", "max_total_days", "max_extensions"):
        value = getattr(rule, name)
        if value is not None and (not isinstance(value, int) or value < 0):
            bad(name, "must be empty or a whole number >= 0")
    for r in rule.reminders:
        if not isinstance(r, dict) or not _whole(r.get("before")) or r.get("unit", rule.limit_unit) not in UNITS:
            bad("reminders", f"entry {r!r} needs a whole 'before' >= 0 and a unit among {', '.join(UNITS)}")
    for e in rule.escalations:
        if (not isinstance(e, dict) or not _whole(e.get("level")) or not e.get("to")
                or not _whole(e.get("after", 0)) or e.get("unit", rule.limit_unit) not in UNITS):
            bad("escalations", f"entry {e!r} needs a whole 'level', a 'to', a whole 'after' >= 0, a known unit")


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def pick_rule(rules, case_type: str, channel: str | None = None, category: str | None = None, *,
              task: str | None = None) -> DeadlineRule:
    """The most specific active rule for the case (or for its task `task`); raises NotFound if none matches."""
    candidates = [r for r in rules if r.matches(case_type, channel, category, task)]
    if not candidates:
        raise NotFound(f"no active deadline rule for case type {case_type!r} "
                       f"(channel {channel!r}, category {category!r}" + (f", task {task!r})" if task else ")"))
    return max(candidates, key=DeadlineRule.specificity)


def load_rules(conn, case_type: str | None = None, *, active_only: bool = True) -> list[DeadlineRule]:
    """Deadline rules, optionally of one case type, ordered by case type and code."""
    query = select(*(deadline_rules.c[name] for name in _RULE_COLUMNS))
    if case_type is not None:
        query = query.where(deadline_rules.c.case_type == case_type)
    if active_only:
        query = query.where(deadline_rules.c.active.is_(True))
    rows = conn.execute(query.order_by(deadline_rules.c.case_type, deadline_rules.c.code)).all()
    return [DeadlineRule.from_row(r) for r in rows]


def find_rule(conn, case_type: str, channel: str | None = None, category: str | None = None) -> DeadlineRule:
    """The rule for a case, in one query; raises NotFound if none matches."""
    c = deadline_rules.c
    query = select(*(c[name] for name in _RULE_COLUMNS)).where(
        c.case_type == case_type, c.active.is_(True), c.task.is_(None),
        or_(c.channel.is_(None), c.channel == channel), or_(c.category.is_(None), c.category == category))
    return pick_rule([DeadlineRule.from_row(r) for r in conn.execute(query)], case_type, channel, category)


# --- the deadline of one case ---------------------------------------------------------------

@dataclass(frozen=True)
class EscalationStep:
    """A rung of the ladder: at `at`, the case goes to `to` with escalation level `level`."""

    level: int
    to: str
    at: datetime


@dataclass(frozen=True)
class Deadline:
    """The due time of a case and the terms it was computed under (the rule used)."""

    rule_id: int | None
    rule_code: str
    unit: str
    limit: int
    received_at: datetime
    started_at: datetime  # when the clock started: receipt, or the next opening
    due_at: datetime
    nominal_due_at: datetime  # before art. 48 moved a last day off to a working day
    reminders: tuple = ()
    escalations: tuple = ()
    max_total_days: int | None = None
    max_extensions: int | None = None
    extensions: int = 0
    paused_at: datetime | None = None
    paused_days: int = 0  # calendar days spent paused (補陳), outside the cap
    first_day: str = "next_working_day"  # the rule's, for a new round counted the same way
    task: str | None = None  # the task whose work these terms limit (a task rule); None: the case

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None

    def to_data(self) -> dict:
        """Plain JSON (ISO 8601 times) for task data and case history."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k in _TIMES:
            data[k] = data[k].isoformat() if data[k] is not None else None
        data["reminders"], data["escalations"] = list(self.reminders), list(self.escalations)
        return data

    @classmethod
    def from_data(cls, data: dict) -> "Deadline":
        """Terms from task data; keys this version does not know (written by a newer one) are ignored."""
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for k in _TIMES:
            values[k] = datetime.fromisoformat(values[k]) if values.get(k) else None
        values["reminders"], values["escalations"] = tuple(values["reminders"]), tuple(values["escalations"])
        return cls(**values)


_TIMES = ("received_at", "started_at", "due_at", "nominal_due_at", "paused_at")


def compute_deadline(rule: DeadlineRule, received_at: datetime, cal: WorkingCalendar, *,
                     multi_agency: bool = False) -> Deadline:
    """The deadline of a case received at `received_at` under `rule`."""
    limit = rule.limit_multi_agency if multi_agency and rule.limit_multi_agency else rule.limit_value
    started, nominal, due = _count(limit, rule.limit_unit, rule.first_day, received_at, cal)
    return Deadline(rule.id, rule.code, rule.limit_unit, limit, received_at, started, due, nominal,
                    tuple(rule.reminders), tuple(rule.escalations), rule.max_total_days, rule.max_extensions,
                    first_day=rule.first_day, task=rule.task)


def _count(limit: int, unit: str, first_day: str, received_at: datetime,
           cal: WorkingCalendar) -> tuple[datetime, datetime, datetime]:
    """When the clock starts, and the nominal and actual due times, for a limit counted from receipt."""
    if unit == "hours":
        due = received_at + timedelta(hours=limit)
        return received_at, due, due
    receipt = cal.receipt_day(received_at)
    started = cal.clock_start(received_at)
    if unit == "office_hours":
        due = cal.add_working_time(received_at, timedelta(hours=limit))
        return started, due, due
    if unit == "working_days":
        due = cal.closing(cal.add_working_days(receipt, limit - (first_day == "received")))
        return started, due, due
    # Calendar days count from the calendar date received, unless the rule moves receipt to a
    # working day first ("next_working_day"): a Saturday's question counts from Sunday.
    received_on = cal.local_date(received_at)
    first = {"received": received_on, "next_day": received_on + timedelta(days=1),
             "next_working_day": cal.next_working_day(receipt)}[first_day]
    last = first + timedelta(days=limit - 1)
    return started, cal.closing(last), cal.period_end(last)


def restart(deadline: Deadline, at: datetime, cal: WorkingCalendar) -> Deadline:
    """A new round under the same terms, as if the case were received at `at`.

    For a reply sent back for a new one (退回重新答復): the agency gets the rule's full limit
    again, counted the same way from the day it is sent back, with no extension used and the
    30-day cap counted from the new start. A paused clock is not restarted (resume it first).
    """
    if deadline.is_paused:
        raise InvalidInput("the clock is paused (補陳): resume it before a new round starts")
    started, nominal, due = _count(deadline.limit, deadline.unit, deadline.first_day, at, cal)
    return replace(deadline, received_at=at, started_at=started, due_at=due, nominal_due_at=nominal,
                   extensions=0, paused_days=0)


def deadline_for(uow, case_type: str, received_at: datetime, *, channel: str | None = None,
                 category: str | None = None, multi_agency: bool = False,
                 city: str = DEFAULT_CITY) -> Deadline:
    """Find the rule and compute the deadline: one query for the rule, the calendar once per unit of work."""
    cache = getattr(uow, "cache", None)
    if cache is None:
        rule = find_rule(uow.conn, case_type, channel, category)
    else:
        rules = cache.get(("deadline_rules", case_type), lambda: load_rules(uow.conn, case_type))
        rule = pick_rule(rules, case_type, channel, category)
    return compute_deadline(rule, received_at, calendar_for(uow, city), multi_agency=multi_agency)


def task_rules(uow, case_type: str) -> list[DeadlineRule]:
    """The active task rules of a case type: from the runtime's cache, else one query."""
    load = lambda: load_rules(uow.conn, case_type)  # noqa: E731
    cache = getattr(uow, "cache", None)
    rules = cache.get(("deadline_rules", case_type), load) if cache is not None else load()
    return [r for r in rules if r.task is not None]


def task_deadline(rules, case_type: str, task: str, opened_at: datetime, cal: WorkingCalendar, *,
                  channel: str | None = None, category: str | None = None) -> Deadline | None:
    """The deadline of the work of `task` opening at `opened_at`, under its task rule; None without one."""
    try:
        rule = pick_rule(rules, case_type, channel, category, task=task)
    except NotFound:
        return None
    return compute_deadline(rule, opened_at, cal)


def shift(at: datetime, amount: int, unit: str, cal: WorkingCalendar) -> datetime:
    """`at` moved by `amount` (negative: earlier) working days, calendar days or hours.

    Working days keep the local time of day; calendar days that land on a day off move
    forward to the next working day (art. 48), except when going back (a reminder).
    """
    if unit == "hours":
        return at + timedelta(hours=amount)
    if unit == "office_hours":
        if amount >= 0:
            return cal.add_working_time(at, timedelta(hours=amount))
        return cal.subtract_working_time(at, timedelta(hours=-amount))
    local = at.astimezone(cal.tz)
    if unit == "working_days":
        day = cal.add_working_days(local.date(), amount)
    else:
        day = local.date() + timedelta(days=amount)
        if amount > 0:
            day = cal.working_day_on_or_after(day)
    return cal.at_local(day, local.timetz().replace(tzinfo=None))


def reminder_times(deadline: Deadline, cal: WorkingCalendar) -> list[datetime]:
    """When to remind the handler, earliest first; reminders due before the clock started are dropped."""
    times = {shift(deadline.due_at, -r["before"], r.get("unit", deadline.unit), cal) for r in deadline.reminders}
    return sorted(t for t in times if deadline.started_at < t < deadline.due_at)


def escalation_steps(deadline: Deadline, cal: WorkingCalendar) -> list[EscalationStep]:
    """The escalation ladder as times; each `after` counts from the due time, not the previous rung."""
    steps = [EscalationStep(e["level"], e["to"], shift(deadline.due_at, e.get("after", 0),
                                                         e.get("unit", deadline.unit), cal))
             for e in deadline.escalations]
    return sorted(steps, key=lambda s: (s.at, s.level))


def extend(deadline: Deadline, amount: int, cal: WorkingCalendar, *, unit: str = "working_days") -> Deadline:
    """The deadline extended (展延) by `amount`; raises InvalidInput beyond the rule's caps."""
    if not isinstance(amount, int) or amount <= 0 or unit not in UNITS:
        raise InvalidInput(f"an extension needs a positive whole number of {', '.join(UNITS)}",
                           details={"fields": {"amount": ["must be a positive whole number"]}})
    if deadline.max_extensions is not None and deadline.extensions >= deadline.max_extensions:
        raise InvalidInput(
            f"refused: rule {deadline.rule_code!r} allows at most {deadline.max_extensions} extension(s) "
            f"and {deadline.extensions} were granted", details={"cap": "max_extensions",
                                                                "max_extensions": deadline.max_extensions})
    if unit == "calendar_days":  # the period's last day moves; art. 48 applies to the new one
        last = cal.local_date(deadline.nominal_due_at) + timedelta(days=amount)
        due, nominal = cal.period_end(last), cal.closing(last)
    else:
        due = nominal = shift(deadline.due_at, amount, unit, cal)
    total = total_days(replace(deadline, due_at=due), cal)
    if deadline.max_total_days is not None and total > deadline.max_total_days:
        raise InvalidInput(
            f"refused: the extension would bring the case to {total} calendar days from receipt, over the "
            f"cap of {deadline.max_total_days} days (rule {deadline.rule_code!r}, extensions included); "
            f"the latest allowed due date is {_latest_allowed(deadline, cal)}",
            details={"cap": "max_total_days", "max_total_days": deadline.max_total_days, "total_days": total})
    return replace(deadline, due_at=due, nominal_due_at=nominal, extensions=deadline.extensions + 1)


def total_days(deadline: Deadline, cal: WorkingCalendar) -> int:
    """Calendar days from the receipt date to the due date, paused days (補陳) left out."""
    return ((cal.local_date(deadline.due_at) - cal.local_date(deadline.started_at)).days
            - deadline.paused_days)


def _latest_allowed(deadline: Deadline, cal: WorkingCalendar):
    last = (cal.local_date(deadline.started_at)
            + timedelta(days=deadline.max_total_days + deadline.paused_days))
    return last if cal.is_working_day(last) else cal.previous_working_day(last)


# --- pausing the clock (補陳: waiting for the citizen) -----------------------------------------

def remaining(deadline: Deadline, at: datetime, cal: WorkingCalendar) -> timedelta:
    """Time left at `at` (office time for working days, elapsed otherwise); frozen while paused."""
    at = deadline.paused_at or at
    if deadline.unit in ("working_days", "office_hours"):
        return cal.working_time_between(at, deadline.due_at)
    return max(deadline.due_at - at, timedelta(0))


def pause(deadline: Deadline, at: datetime) -> Deadline:
    """The deadline with its clock stopped at `at`; raises InvalidInput if already paused."""
    if deadline.is_paused:
        raise InvalidInput(f"the clock is already paused since {deadline.paused_at.isoformat()}")
    return replace(deadline, paused_at=at)


def resume(deadline: Deadline, at: datetime, cal: WorkingCalendar) -> Deadline:
    """The deadline with its clock restarted at `at`, keeping the time that was left at the pause.

    Working days keep the office time left (paused Thursday 10:00 with Friday left, resumed
    Monday 10:00: due Tuesday 17:30); calendar days move by the whole days paused, then roll
    forward off a day off; hours keep the elapsed time left. A case that was already overdue
    when paused stays due when it was. Raises InvalidInput if the clock is not paused.
    """
    if not deadline.is_paused:
        raise InvalidInput("the clock is not paused")
    paused_at = deadline.paused_at
    if at < paused_at:
        raise InvalidInput(f"cannot resume at {at.isoformat()}, before the pause at {paused_at.isoformat()}")
    days = (cal.local_date(at) - cal.local_date(paused_at)).days
    due, nominal = deadline.due_at, deadline.nominal_due_at
    if deadline.unit in ("working_days", "office_hours"):
        left = cal.working_time_between(paused_at, due)
        if left > timedelta(0):
            due = nominal = cal.add_working_time(at, left)
    elif deadline.unit == "calendar_days":
        if paused_at < due:
            nominal = nominal + timedelta(days=days)
            due = cal.period_end(cal.local_date(nominal))
    elif paused_at < due:
        due = nominal = at + (due - paused_at)
    return replace(deadline, due_at=due, nominal_due_at=nominal, paused_at=None,
                   paused_days=deadline.paused_days + days)
