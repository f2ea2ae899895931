"""What the operators' dashboards count at each scrape: timers, notifications, incidents, overdue work.

Each number is one indexed count (README, "Metrics and logs"), cheap enough to read every 15
seconds on a city's database: two statements, one round trip each.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, literal_column, select, union_all

from engine.store.schema import agencies, incidents, outbox, timers, work_items


@dataclass(frozen=True)
class OperationsCounts:
    """The backlog of the machinery and of the staff, as of one moment."""

    timers_pending: int
    #: Pending timers whose due time has passed: the scheduler or the workers are behind.
    timers_late: int
    #: Outbox messages not yet delivered (pending), the ones being retried included.
    notifications_waiting: int
    incidents_open: int
    #: (agency code, open work items past their due time), every agency listed, "none" for
    #: items of no agency; the counts of all agencies add up to the city's overdue work.
    overdue_by_agency: tuple[tuple[str, int], ...]


def _count(table, *conditions):
    return select(func.count()).select_from(table).where(*conditions).scalar_subquery()


_PENDING = timers.c.status == literal_column("'pending'")

# Literal conditions, as the partial indexes are written (engine/store/schema.py), so both
# databases choose them.
_machinery = select(
    _count(timers, _PENDING).label("timers_pending"),
    _count(timers, _PENDING, timers.c.due_at < bindparam("b_now")).label("timers_late"),
    _count(outbox, outbox.c.status == literal_column("'pending'")).label("notifications_waiting"),
    _count(incidents, incidents.c.status == literal_column("'open'")).label("incidents_open"),
)

_OVERDUE = (work_items.c.status == literal_column("'open'"), work_items.c.due_at < bindparam("b_now"))

_by_agency = (select(work_items.c.agency_id, func.count().label("overdue")).where(*_OVERDUE)
              .group_by(work_items.c.agency_id).subquery())

# Every agency, with 0 where none is late (a series that vanished would read as "no data"),
# then the work of no agency (the commission's dispatchers and reviewers).
_overdue_by_agency = union_all(
    select(agencies.c.code.label("agency"), func.coalesce(_by_agency.c.overdue, 0).label("overdue"))
    .select_from(agencies.outerjoin(_by_agency, _by_agency.c.agency_id == agencies.c.id)),
    select(literal_column("'none'").label("agency"), func.count().label("overdue"))
    .where(*_OVERDUE, work_items.c.agency_id.is_(None)),
)


def operations_counts(uow) -> OperationsCounts:
    """The counts as of the unit's clock."""
    now = {"b_now": uow.clock.now()}
    counts = uow.conn.execute(_machinery, now).one()
    overdue = tuple(sorted((row.agency, row.overdue) for row in uow.conn.execute(_overdue_by_agency, now)))
    return OperationsCounts(counts.timers_pending, counts.timers_late, counts.notifications_waiting,
                            counts.incidents_open, overdue)
