"""One agency's escalation queue is counted per unit of its cases from two indexes alone.

The unit counts (engine/queries/escalation.py, `_unit_counts`) join an agency's late work to its
cases. At 1,000,000 cases the largest agency has about 3,400 late items: reading each item's case
id from the heap and each case's unit from the heap took 39 ms of a section chief's page. The
agency's index of open work now ends in the case id, and `ix_cases_id_unit` (id, unit_id) answers
each case's unit, so both sides are index-only scans (14 ms).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 06:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

OPEN = "status = 'open'"
NAME = "ix_work_items_open_by_agency"
BEFORE = ["agency_id", "due_at", "id", "escalation_level"]
NOW = BEFORE + ["case_id"]


def _replace(columns: list) -> None:
    op.drop_index(NAME, table_name="work_items")
    op.create_index(NAME, "work_items", columns, unique=False,
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def upgrade() -> None:
    _replace(NOW)
    op.create_index(op.f("ix_cases_id_unit"), "cases", ["id", "unit_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_cases_id_unit"), table_name="cases")
    _replace(BEFORE)
