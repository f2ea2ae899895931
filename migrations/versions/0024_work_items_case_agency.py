"""Open work keeps the agency of its case, so a reader's co-handled cases are one small index range.

An agency's reader searching the cases' text is shown its own cases and the other agencies' cases
with open work for it (a co-handling agency's opinion, engine/queries/visibility.py). Until now the
second part was an anti-join of two index ranges, the agency's open work less its own open cases
(0014): at 1,000,000 cases, 33,000 entries against 33,000 to find the few hundred co-handled, about
36 ms of a caseworker's search. Each work item now carries its case's agency while it is open,
written by the step writers when the item opens and when its case moves to another agency
(engine/store/steps.py, engine/store/step_sql.py), and an index holds only the open items whose
agency is not their case's (or whose case's agency is not known: a candidate the search checks):
the co-handled cases are read from it alone.

Open work is filled from its case; work closed before now is left without one (no query reads it).
On PostgreSQL the rows updated here are not all-visible until the table is vacuumed (autovacuum
will; `VACUUM ANALYZE work_items` at once).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 18:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.store.schema

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

NAME = "ix_work_items_open_co_handled"
WHERE = "status = 'open' AND agency_id <> coalesce(case_agency_id, 0)"

FILL = {
    "postgresql": "UPDATE work_items w SET case_agency_id = c.agency_id FROM cases c "
                  "WHERE c.id = w.case_id AND c.agency_id IS NOT NULL AND w.status = 'open'",
    "sqlite": "UPDATE work_items SET case_agency_id = (SELECT c.agency_id FROM cases c WHERE c.id = work_items.case_id) "
              "WHERE status = 'open'",
}


def upgrade() -> None:
    with op.batch_alter_table('work_items') as batch:
        batch.add_column(sa.Column('case_agency_id', engine.store.schema.Id, nullable=True))
    op.execute(FILL[op.get_bind().dialect.name])
    op.create_index(NAME, "work_items", ["agency_id", "case_id"], unique=False,
                    postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE))


def downgrade() -> None:
    op.drop_index(NAME, table_name="work_items")
    with op.batch_alter_table('work_items') as batch:
        batch.drop_column('case_agency_id')
