"""What a work item keeps of its case's deadline: `work_items.deadline_mode`.

"case" (every existing row): the case's due time, its reminders and escalation rungs;
"due_only" (task property escalate="false"): the due time alone, also when an extension or a
pause moves it; "none" (task property deadline="none"): nothing, for work outside the reply
deadline (chasing a late reply, the satisfaction survey, the review of an unsatisfied answer,
progress reports on a tracked item), which extensions, pauses and new rounds leave alone.

Written by hand; a NOT NULL column with a server default, which SQLite adds with a plain
ALTER TABLE.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('work_items') as batch:
        batch.add_column(sa.Column('deadline_mode', sa.String(length=8), nullable=False, server_default='case'))


def downgrade() -> None:
    with op.batch_alter_table('work_items') as batch:
        batch.drop_column('deadline_mode')
