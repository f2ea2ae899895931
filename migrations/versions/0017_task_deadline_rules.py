"""Deadline rules per task and in office hours: `deadline_rules.task`, the unit 'office_hours'.

A rule naming a task (its BPMN id) limits the work item of that task rather than the case: a
misrouted case re-routed by the next working day, a routing confirmed within office hours, a
reply reviewed within working days. Existing rules name no task and keep limiting their cases.
Work items under such a rule keep deadline_mode 'task' (the column is text, no constraint).

Written by hand; SQLite changes the CHECK constraint by copying the table (batch mode).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 06:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

_UNITS = "'working_days', 'calendar_days', 'hours'"


def upgrade() -> None:
    with op.batch_alter_table('deadline_rules') as batch:
        batch.add_column(sa.Column('task', sa.String(length=100), nullable=True))
        batch.drop_constraint(op.f('ck_deadline_rules_limit_unit'), type_='check')
        batch.create_check_constraint(op.f('ck_deadline_rules_limit_unit'), f"limit_unit in ({_UNITS}, 'office_hours')")


def downgrade() -> None:
    op.execute("DELETE FROM deadline_rules WHERE task IS NOT NULL OR limit_unit = 'office_hours'")
    with op.batch_alter_table('deadline_rules') as batch:
        batch.drop_constraint(op.f('ck_deadline_rules_limit_unit'), type_='check')
        batch.create_check_constraint(op.f('ck_deadline_rules_limit_unit'), f"limit_unit in ({_UNITS})")
        batch.drop_column('task')
