"""Initial schema: organisation, deployed definitions, cases, instances, inbox, timers, history, outbox.

Written by autogenerate from engine/schema.py and reviewed by hand; personal data
(petitioners) is its own table so it can be guarded and logged apart from cases.

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 06:55:32.527040
"""
from alembic import op
import sqlalchemy as sa
import engine.store.schema


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agencies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), server_default='bureau', nullable=False),
    sa.Column('active', sa.Boolean(), server_default='1', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agencies')),
    sa.UniqueConstraint('code', name=op.f('uq_agencies_code'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', engine.store.schema.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('pending', 'sent', 'failed')", name=op.f('ck_outbox_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_outbox_dedup_key'))
    )
    op.create_index(op.f('ix_outbox_status_created_at'), 'outbox', ['status', 'created_at'], unique=False)
    op.create_table('petitioners',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('id_number', sa.String(length=20), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('created_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_petitioners'))
    )
    op.create_table('process_definitions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('process_key', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('deployed_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deployed_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_definitions')),
    sa.UniqueConstraint('process_key', 'version', name=op.f('uq_process_definitions_process_key_version'))
    )
    op.create_table('units',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('agency_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_units_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('agency_id', 'code', name=op.f('uq_units_agency_id_code'))
    )
    op.create_table('cases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_no', sa.String(length=32), nullable=False),
    sa.Column('case_type', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('category', sa.String(length=64), nullable=True),
    sa.Column('district', sa.String(length=32), nullable=True),
    sa.Column('subject', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('confidential', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('agency_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('petitioner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('received_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', engine.store.schema.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', engine.store.schema.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status in ('open', 'closed', 'cancelled')", name=op.f('ck_cases_status')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_cases_agency_id_agencies')),
    sa.ForeignKeyConstraint(['petitioner_id'], ['petitioners.id'], name=op.f('fk_cases_petitioner_id_petitioners')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_cases_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('case_no', name=op.f('uq_cases_case_no'))
    )
    op.create_index(op.f('ix_cases_agency_id_status'), 'cases', ['agency_id', 'status'], unique=False)
    op.create_table('groups',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.Column('agency_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_groups_agency_id_agencies')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_groups_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_groups')),
    sa.UniqueConstraint('code', name=op.f('uq_groups_code'))
    )
    op.create_index(op.f('ix_groups_role_agency_id'), 'groups', ['role', 'agency_id'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('agency_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_users_agency_id_agencies')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_users_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('group_members',
    sa.Column('group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_group_members_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_group_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'user_id', name=op.f('pk_group_members'))
    )
    op.create_table('workflow_instances',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('definition_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('next_timer_at', engine.store.schema.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status in ('running', 'waiting', 'completed', 'error', 'cancelled')", name=op.f('ck_workflow_instances_status')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_workflow_instances_case_id_cases')),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definitions.id'], name=op.f('fk_workflow_instances_definition_id_process_definitions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_instances'))
    )
    op.create_index(op.f('ix_workflow_instances_case_id'), 'workflow_instances', ['case_id'], unique=False)
    op.create_index(op.f('ix_workflow_instances_next_timer_at'), 'workflow_instances', ['next_timer_at'], unique=False)
    op.create_table('work_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('task_spec', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('lane', sa.String(length=100), nullable=True),
    sa.Column('role', sa.String(length=64), nullable=True),
    sa.Column('agency_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('assignee_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('form_key', sa.String(length=200), nullable=True),
    sa.Column('due_at', engine.store.schema.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalation_level', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', engine.store.schema.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint("status in ('open', 'completed', 'cancelled')", name=op.f('ck_work_items_status')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_work_items_agency_id_agencies')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_work_items_assignee_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_work_items_case_id_cases')),
    sa.ForeignKeyConstraint(['completed_by'], ['users.id'], name=op.f('fk_work_items_completed_by_users')),
    sa.ForeignKeyConstraint(['instance_id'], ['workflow_instances.id'], name=op.f('fk_work_items_instance_id_workflow_instances')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_items')),
    sa.UniqueConstraint('instance_id', 'task_id', name=op.f('uq_work_items_instance_id_task_id'))
    )
    op.create_index(op.f('ix_work_items_assignee_id_status'), 'work_items', ['assignee_id', 'status'], unique=False)
    op.create_index(op.f('ix_work_items_case_id'), 'work_items', ['case_id'], unique=False)
    op.create_index(op.f('ix_work_items_status_role_agency_id'), 'work_items', ['status', 'role', 'agency_id'], unique=False)
    op.create_table('case_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('work_item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_case_events_actor_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_events_case_id_cases')),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id'], name=op.f('fk_case_events_work_item_id_work_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    op.create_index(op.f('ix_case_events_case_id_at'), 'case_events', ['case_id', 'at'], unique=False)
    op.create_table('timers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('work_item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('due_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_expires_at', engine.store.schema.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('created_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('fired_at', engine.store.schema.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('pending', 'done', 'cancelled', 'failed')", name=op.f('ck_timers_status')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_timers_case_id_cases')),
    sa.ForeignKeyConstraint(['instance_id'], ['workflow_instances.id'], name=op.f('fk_timers_instance_id_workflow_instances')),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id'], name=op.f('fk_timers_work_item_id_work_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timers'))
    )
    op.create_index(op.f('ix_timers_instance_id'), 'timers', ['instance_id'], unique=False)
    op.create_index(op.f('ix_timers_status_due_at'), 'timers', ['status', 'due_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_timers_status_due_at'), table_name='timers')
    op.drop_index(op.f('ix_timers_instance_id'), table_name='timers')
    op.drop_table('timers')
    op.drop_index(op.f('ix_case_events_case_id_at'), table_name='case_events')
    op.drop_table('case_events')
    op.drop_index(op.f('ix_work_items_status_role_agency_id'), table_name='work_items')
    op.drop_index(op.f('ix_work_items_case_id'), table_name='work_items')
    op.drop_index(op.f('ix_work_items_assignee_id_status'), table_name='work_items')
    op.drop_table('work_items')
    op.drop_index(op.f('ix_workflow_instances_next_timer_at'), table_name='workflow_instances')
    op.drop_index(op.f('ix_workflow_instances_case_id'), table_name='workflow_instances')
    op.drop_table('workflow_instances')
    op.drop_table('group_members')
    op.drop_table('users')
    op.drop_index(op.f('ix_groups_role_agency_id'), table_name='groups')
    op.drop_table('groups')
    op.drop_index(op.f('ix_cases_agency_id_status'), table_name='cases')
    op.drop_table('cases')
    op.drop_table('units')
    op.drop_table('process_definitions')
    op.drop_table('petitioners')
    op.drop_index(op.f('ix_outbox_status_created_at'), table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('agencies')
