"""Work items get a version, and people keep drafts of their forms.

Claiming, giving back and assigning a work item change the item's row, never the case's
workflow: the instance's version would not tell a client that the item it shows was claimed
by a colleague meanwhile. Each work item gets its own `version`, raised by every change of the
row (claimed, assigned, escalated, moved, completed, cancelled), for the staff API's ETags and
the conditional updates that make two simultaneous claims give one success and one conflict.

A caseworker writing a long reply saves it unfinished: `work_item_drafts` keeps one draft per
item and person until the item is completed or cancelled, when the step that closes the item
deletes them. The foreign keys cascade so that removing an item or an account (retention,
clean-up) takes its drafts along.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.store.schema

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('work_items') as batch:
        batch.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    op.create_table(
        'work_item_drafts',
        sa.Column('work_item_id', engine.store.schema.Id, nullable=False),
        sa.Column('user_id', engine.store.schema.Id, nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('saved_at', engine.store.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id'], ondelete='CASCADE',
                                name=op.f('fk_work_item_drafts_work_item_id_work_items')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_work_item_drafts_user_id_users')),
        sa.PrimaryKeyConstraint('work_item_id', 'user_id', name=op.f('pk_work_item_drafts')),
    )


def downgrade() -> None:
    op.drop_table('work_item_drafts')
    with op.batch_alter_table('work_items') as batch:
        batch.drop_column('version')
