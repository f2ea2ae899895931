"""Notifications, incidents, and a delivery lease on the outbox.

Deadlines that cannot be missed need their reminders to leave reliably: a notification is
written to the outbox in the transaction that causes it and delivered after commit by a
worker. Two deliveries of one row must not overlap (two e-mails), and a crashed delivery
must not hold the row forever, so the outbox gets a lease like the timers. In-app notices
get their own table, addressed to a user or to a role in an agency (resolved when read,
like the inbox). What keeps failing after its retries becomes an incident that an operator
retries or resolves, as Camunda does for failed jobs.

Written by hand; plain types only, so it builds the same tables on SQLite and PostgreSQL
(the two new outbox columns are nullable, which SQLite adds with a plain ALTER TABLE).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import engine.store.schema


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('lease_owner', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('lease_expires_at', engine.store.schema.UTCDateTime(timezone=True), nullable=True))
    op.create_table('notifications',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('user_id', _ID, nullable=True),
    sa.Column('role', sa.String(length=64), nullable=True),
    sa.Column('agency_id', _ID, nullable=True),
    sa.Column('case_id', _ID, nullable=True),
    sa.Column('work_item_id', _ID, nullable=True),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('created_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', engine.store.schema.UTCDateTime(timezone=True), nullable=True),
    sa.Column('read_by', _ID, nullable=True),
    sa.CheckConstraint('user_id is not null or role is not null', name=op.f('ck_notifications_recipient')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_notifications_agency_id_agencies')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_notifications_case_id_cases')),
    sa.ForeignKeyConstraint(['read_by'], ['users.id'], name=op.f('fk_notifications_read_by_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id'],
                            name=op.f('fk_notifications_work_item_id_work_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_notifications_dedup_key'))
    )
    op.create_index(op.f('ix_notifications_user_id_read_at'), 'notifications', ['user_id', 'read_at'],
                    unique=False)
    op.create_index(op.f('ix_notifications_role_agency_id_read_at'), 'notifications',
                    ['role', 'agency_id', 'read_at'], unique=False)
    op.create_table('incidents',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject_table', sa.String(length=64), nullable=False),
    sa.Column('subject_id', _ID, nullable=False),
    sa.Column('case_id', _ID, nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('created_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', engine.store.schema.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=100), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.CheckConstraint("status in ('open', 'retried', 'resolved')", name=op.f('ck_incidents_status')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_incidents_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    op.create_index(op.f('ix_incidents_case_id'), 'incidents', ['case_id'], unique=False)
    op.create_index(op.f('ix_incidents_status_created_at'), 'incidents', ['status', 'created_at'], unique=False)
    op.create_index(op.f('ix_incidents_subject_table_subject_id'), 'incidents', ['subject_table', 'subject_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_incidents_subject_table_subject_id'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_status_created_at'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_case_id'), table_name='incidents')
    op.drop_table('incidents')
    op.drop_index(op.f('ix_notifications_role_agency_id_read_at'), table_name='notifications')
    op.drop_index(op.f('ix_notifications_user_id_read_at'), table_name='notifications')
    op.drop_table('notifications')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('lease_expires_at')
        batch.drop_column('lease_owner')
