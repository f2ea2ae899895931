"""Tracked items (列管): kinds, report periods, and what "behind schedule" means, as plain values.

From the commission's rules (管制考核): the executing agency sets the planned progress per month
and the commission approves it; actual progress is reported every month (every quarter for
commissioned studies and low-use buildings); an item behind its plan by 10% or more goes on
the agenda of the monthly progress review meeting; one behind by 20% or more in two reports in a
row owes a special report with a remedy plan. Percentages are basis points here (10000 = 100%).
"""
from __future__ import annotations

from datetime import date, datetime, time

from engine.errors import InvalidInput
from engine.store.schema import TRACKED_KINDS

#: Every kind of tracked item, as the database allows them.
KINDS = TRACKED_KINDS

#: The kinds reported on every quarter; the others every month.
QUARTERLY_KINDS = frozenset({"commissioned_study", "low_use_building"})

#: A major project (重大工程) is one whose capital budget is at least NT$10 million.
MAJOR_PROJECT_MIN_BUDGET = 10_000_000

#: Behind the plan by this much or more: on the agenda of the monthly progress review meeting.
AGENDA_GAP_BP = 1000

#: Behind by this much or more in SPECIAL_REPORT_STREAK reports in a row: a special report is owed.
SPECIAL_REPORT_GAP_BP = 2000
SPECIAL_REPORT_STREAK = 2

#: When a period's report round opens: this local time on the first day of the next month.
ROUND_OPENS_AT = time(8, 30)

#: A commissioned study is followed up this many months after it closed.
STUDY_FOLLOW_UP_MONTHS = 6

#: The buckets of the source's counts, in its order.
BUCKETS = ("on_or_ahead", "behind_under_10", "behind_10_or_more")


def cadence(kind: str) -> str:
    """How often an item of this kind reports: 'monthly' or 'quarterly'."""
    return "quarterly" if kind in QUARTERLY_KINDS else "monthly"


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    """The first day of the month `count` months after (or before) `month`'s."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> int:
    """How many months from first to last, both counted (2026-01 to 2026-03: 3)."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def _quarter_end(month: date) -> date:
    """The last month of the quarter holding `month`."""
    return date(month.year, ((month.month - 1) // 3 + 1) * 3, 1)


def first_period(kind: str, start_month: date, today: date) -> date:
    """The first period an item reports on: its start month (or the quarter holding it), but not
    before the last whole period before today, so an item registered late is not asked for
    the months already gone by."""
    last_closed = add_months(first_of_month(today), -1)
    if cadence(kind) == "quarterly":
        candidate, last_closed = _quarter_end(start_month), _quarter_end(add_months(last_closed, -2))
        return max(candidate, last_closed)
    return max(first_of_month(start_month), last_closed)


def next_period(kind: str, period: date) -> date:
    """The period reported on after `period`."""
    return add_months(period, 3 if cadence(kind) == "quarterly" else 1)


def round_opens(period: date, zone) -> datetime:
    """When the report round of a period opens: ROUND_OPENS_AT on the first day of the next month."""
    return datetime.combine(add_months(period, 1), ROUND_OPENS_AT, tzinfo=zone)


def to_bp(percent) -> int:
    """Percent (a number, up to two decimals) as basis points: 45.5 -> 4550."""
    return int(round(float(percent) * 100))


def to_percent(bp: int | None) -> float | None:
    return None if bp is None else bp / 100


def bucket(gap_bp: int | None) -> str:
    """The source's bucket of a continuing item by its latest gap (no report yet: on schedule)."""
    if gap_bp is None or gap_bp <= 0:
        return "on_or_ahead"
    return "behind_under_10" if gap_bp < AGENDA_GAP_BP else "behind_10_or_more"


def planned_for(plan: dict, period: date, start_month: date, end_month: date) -> int | None:
    """The planned progress (bp) of a period from the plan's months; past the last month, the last
    month's; before the first, 0; None when there is no plan."""
    if not plan:
        return None
    if period < start_month:
        return 0
    if period > end_month:
        return plan.get(end_month, max(plan.values()))
    return plan.get(period)


def percent_bp(value, name: str) -> int:
    """Basis points of a percentage from 0 to 100; raises InvalidInput naming the field otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise InvalidInput(f"{name} must be a percentage from 0 to 100, not {value!r}",
                           details={"fields": {name: ["a number from 0 to 100"]}})
    return to_bp(value)


def plan_months(start_month: date, end_month: date, planned_percents) -> list[tuple[date, int]]:
    """The (month, bp) rows of a plan given as one cumulative percentage per month from the start
    month; raises InvalidInput unless there is one per month and they never go down."""
    count = months_between(start_month, end_month)
    if not isinstance(planned_percents, list) or len(planned_percents) != count:
        raise InvalidInput(f"the plan needs one planned percentage for each of the {count} months from "
                           f"{start_month:%Y-%m} to {end_month:%Y-%m}",
                           details={"fields": {"planned_percents": [f"{count} numbers"]}})
    values = [percent_bp(p, "planned_percents") for p in planned_percents]
    if any(later < earlier for earlier, later in zip(values, values[1:])):
        raise InvalidInput("planned progress is cumulative: it may not go down from one month to the next",
                           details={"fields": {"planned_percents": ["never decreasing"]}})
    return [(add_months(start_month, i), bp) for i, bp in enumerate(values)]
