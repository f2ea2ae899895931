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

The two indexes the inbox had before, (status, role, agency_id) and (assignee_id, status), serve
nothing the partial ones do not, and every step that opens or closes work writes them: they go.

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


#: (name, table, columns) of the indexes the partial ones replace.
REPLACED = [
    ("ix_work_items_status_role_agency_id", "work_items", ["status", "role", "agency_id"]),
    ("ix_work_items_assignee_id_status", "work_items", ["assignee_id", "status"]),
]


def upgrade() -> None:
    for name, table, columns, where in INDEXES:
        op.create_index(name, table, columns, unique=False,
                        postgresql_where=sa.text(where), sqlite_where=sa.text(where))
    for name, table, _ in REPLACED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, columns in REPLACED:
        op.create_index(name, table, columns, unique=False)
    for name, table, _, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
