"""Open work keeps the unit (科) of its case, so an agency's late work is counted per unit from one index.

A section chief's escalation queue counts the agency's late work per unit of its cases
(engine/queries/escalation.py). Until now that joined each item to its case for the unit (0021:
two index-only scans, 10-14 ms for the largest agency's 3,400 late items at 1,000,000 cases). Each
work item now carries its case's unit, written by the step writers wherever a case is placed in a
unit or moved (engine/store/steps.py, engine/store/step_sql.py), and the agency's index of open
work ends in it instead of the case id: the unit counts are one index-only range. The index of
cases by (id, unit_id), which served only that join, goes.

Open work is filled from its case; work closed before now is left without a unit (no query
reads one). On PostgreSQL the rows updated here are not all-visible until the table is vacuumed
(autovacuum will; `VACUUM ANALYZE work_items` at once), so until then the counts read the table.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 11:30:00
"""
import sqlalchemy as sa
from alembic import op

import engine.store.schema

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

OPEN = "status = 'open'"
NAME = "ix_work_items_open_by_agency"
BEFORE = ["agency_id", "due_at", "id", "escalation_level", "case_id"]
NOW = ["agency_id", "due_at", "id", "escalation_level", "unit_id"]

FILL = {
    "postgresql": "UPDATE work_items w SET unit_id = c.unit_id FROM cases c "
                  "WHERE c.id = w.case_id AND c.unit_id IS NOT NULL AND w.status = 'open'",
    "sqlite": "UPDATE work_items SET unit_id = (SELECT c.unit_id FROM cases c WHERE c.id = work_items.case_id) "
              "WHERE status = 'open'",
}


def _replace(columns: list) -> None:
    op.drop_index(NAME, table_name="work_items")
    op.create_index(NAME, "work_items", columns, unique=False,
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def upgrade() -> None:
    with op.batch_alter_table('work_items') as batch:
        batch.add_column(sa.Column('unit_id', engine.store.schema.Id, nullable=True))
        batch.create_foreign_key(op.f('fk_work_items_unit_id_units'), 'units', ['unit_id'], ['id'])
    op.execute(FILL[op.get_bind().dialect.name])
    _replace(NOW)
    op.drop_index(op.f("ix_cases_id_unit"), table_name="cases")


def downgrade() -> None:
    op.create_index(op.f("ix_cases_id_unit"), "cases", ["id", "unit_id"], unique=False)
    _replace(BEFORE)
    with op.batch_alter_table('work_items') as batch:
        batch.drop_constraint(op.f('fk_work_items_unit_id_units'), type_='foreignkey')
        batch.drop_column('unit_id')
