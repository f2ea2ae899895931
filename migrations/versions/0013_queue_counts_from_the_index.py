"""The escalation queue's counts read from its indexes alone.

The queue counts its open work per agency, escalation level and state (overdue or at risk):
every late item of the city for the commission, tens of thousands at a city's scale. With
(due_at, id) alone in the index, each counted item was a visit to its table row for the agency
and the level. Those two columns are added at the end of the indexes the queue reads (the
city's, by due time; an agency's), so the counts are an index-only scan; the order and the
keyset of the pages, which end in (due_at, id), stay as they were.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 00:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

OPEN = "status = 'open'"

#: name -> (columns before, columns now)
INDEXES = {
    "ix_work_items_open_by_due": (["due_at", "id"], ["due_at", "id", "agency_id", "escalation_level"]),
    "ix_work_items_open_by_agency": (["agency_id", "due_at", "id"], ["agency_id", "due_at", "id", "escalation_level"]),
}


def _replace(which: int) -> None:
    for name, columns in INDEXES.items():
        op.drop_index(name, table_name="work_items")
        op.create_index(name, "work_items", columns[which], unique=False,
                        postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def upgrade() -> None:
    _replace(1)


def downgrade() -> None:
    _replace(0)
