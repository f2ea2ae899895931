"""Partial indexes for the read queries: inboxes, the escalation queue, running cases per version.

The staff inbox, the supervisors' view and the escalation queue (engine/queries/) read open
work in due order, a page at a time, by assignee, by (role, agency) for the groups a user
belongs to, by agency, or across the city. Open work is a small and shrinking part of
`work_items` (every completed item stays), so each index holds only the rows its query can want
(WHERE status = 'open', and for the two inbox lists whether the item is assigned) and ends in
(due_at, id): the order of the page and its keyset cursor, so a page is read from the index in
order and stops at its limit instead of sorting every open item of a group. The items a user
completed are indexed the same way. Counting the running cases of each deployed process version
reads a partial index of the unfinished workflow instances instead of every instance.

The conditions are written with literals, as the queries write them: PostgreSQL and SQLite use
a partial index only when the query's own condition implies the index's.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

OPEN = "status = 'open'"

#: (name, table, columns, condition)
INDEXES = [
    ("ix_work_items_open_assigned", "work_items", ["assignee_id", "due_at", "id"],
     f"{OPEN} AND assignee_id IS NOT NULL"),
    ("ix_work_items_open_unassigned", "work_items", ["role", "agency_id", "due_at", "id"],
     f"{OPEN} AND assignee_id IS NULL"),
    ("ix_work_items_open_by_agency", "work_items", ["agency_id", "due_at", "id"], OPEN),
    ("ix_work_items_open_by_due", "work_items", ["due_at", "id"], OPEN),
    ("ix_work_items_completed_by", "work_items", ["completed_by", "due_at", "id"], "status = 'completed'"),
    ("ix_workflow_instances_running", "workflow_instances", ["definition_id"],
     "status NOT IN ('completed', 'cancelled')"),
]


def upgrade() -> None:
    for name, table, columns, where in INDEXES:
        op.create_index(name, table, columns, unique=False,
                        postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def downgrade() -> None:
    for name, table, _, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
