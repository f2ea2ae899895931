"""Work items that keep no due time: `work_items.follows_case_deadline`.

Work a diagram marks with the task property deadline="none" (chasing a late reply, the
satisfaction survey, the review of an unsatisfied answer, progress reports on a tracked item)
opens without the case's due time, reminders or escalation rungs, and moving the case's
deadline (extension, pause, a new round) leaves it alone. Existing rows follow the case's
deadline, as they did.

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
        batch.add_column(sa.Column('follows_case_deadline', sa.Boolean(), nullable=False, server_default='1'))


def downgrade() -> None:
    with op.batch_alter_table('work_items') as batch:
        batch.drop_column('follows_case_deadline')
