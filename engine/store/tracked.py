"""The tracked-item tables (列管): read an item by its case, and the writes a step makes beside itself.

A tracked item's plan, progress reports and visits are rows of their own. The engine actions
of workflows/tracked_item.bpmn write them in the unit of work's transaction while the step
runs (as `open_case` writes the case it opens), so they commit or roll back with the step.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, delete, insert, select, update

from engine.store.schema import tracked_items, tracked_plan_months, tracked_progress, tracked_site_visits

_by_case = select(tracked_items).where(tracked_items.c.case_id == bindparam("b_case"))
_plan = (select(tracked_plan_months.c.month, tracked_plan_months.c.planned_bp)
         .where(tracked_plan_months.c.tracked_item_id == bindparam("b_item")))


def item_of_case(conn, case_id: int):
    """The tracked item of a case (a row), or None."""
    return conn.execute(_by_case, {"b_case": case_id}).one_or_none()


def plan_of(conn, item_id: int) -> dict[date, int]:
    """The planned progress (bp) by month of an item."""
    return {row.month: row.planned_bp for row in conn.execute(_plan, {"b_item": item_id})}


def insert_item(conn, row: dict) -> int:
    return conn.execute(insert(tracked_items).returning(tracked_items.c.id), row).scalar_one()


def update_item(conn, item_id: int, **values) -> None:
    conn.execute(update(tracked_items).where(tracked_items.c.id == item_id).values(**values))


def replace_plan(conn, item_id: int, months: list[tuple[date, int]]) -> None:
    """The item's plan becomes these (month, planned bp) rows."""
    conn.execute(delete(tracked_plan_months).where(tracked_plan_months.c.tracked_item_id == item_id))
    conn.execute(insert(tracked_plan_months), [{"tracked_item_id": item_id, "month": m, "planned_bp": bp}
                                               for m, bp in months])


def insert_progress(conn, row: dict) -> None:
    conn.execute(insert(tracked_progress), row)


def insert_visit(conn, row: dict) -> int:
    return conn.execute(insert(tracked_site_visits).returning(tracked_site_visits.c.id), row).scalar_one()
