"""Tracked items (列管): major projects, the mayor's policies, meeting assignments, studies, buildings.

The commission tracks long-running items to release (管制考核): each is a case of type
`tracked_item` whose workflow asks for a plan and periodic progress reports. Two years of
monthly reports would swell the workflow's state, so the item, its planned progress per month,
its reported progress and the commission's site visits get tables of their own, and the latest
report is copied onto the item for the counts and the monthly meeting's agenda.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 05:40:00
"""
import sqlalchemy as sa
from alembic import op

import engine.store.schema

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tracked_items',
        sa.Column('id', engine.store.schema.Id, autoincrement=True, nullable=False),
        sa.Column('case_id', engine.store.schema.Id, nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('agency_id', engine.store.schema.Id, nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('budget', sa.BigInteger(), nullable=True),
        sa.Column('policy', sa.String(length=200), nullable=True),
        sa.Column('cadence', sa.String(length=16), nullable=False),
        sa.Column('start_month', sa.Date(), nullable=False),
        sa.Column('end_month', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('plan_status', sa.String(length=16), server_default='none', nullable=False),
        sa.Column('latest_period', sa.Date(), nullable=True),
        sa.Column('latest_planned_bp', sa.Integer(), nullable=True),
        sa.Column('latest_actual_bp', sa.Integer(), nullable=True),
        sa.Column('latest_gap_bp', sa.Integer(), nullable=True),
        sa.Column('behind_20_streak', sa.Integer(), server_default='0', nullable=False),
        sa.Column('closure_request', sa.String(length=16), nullable=True),
        sa.Column('follow_up', sa.String(length=16), nullable=True),
        sa.Column('registered_at', engine.store.schema.UTCDateTime(), nullable=False),
        sa.Column('closed_at', engine.store.schema.UTCDateTime(), nullable=True),
        sa.CheckConstraint("cadence in ('monthly', 'quarterly')", name=op.f('ck_tracked_items_cadence')),
        sa.CheckConstraint("closure_request in ('release', 'cancel')", name=op.f('ck_tracked_items_closure_request')),
        sa.CheckConstraint("follow_up in ('adopted', 'partly_adopted', 'filed')", name=op.f('ck_tracked_items_follow_up')),
        sa.CheckConstraint("kind in ('major_project', 'mayor_policy', 'county_meeting', 'project_manager', 'township_support', 'commissioned_study', 'low_use_building')", name=op.f('ck_tracked_items_kind')),
        sa.CheckConstraint("plan_status in ('none', 'proposed', 'approved')", name=op.f('ck_tracked_items_plan_status')),
        sa.CheckConstraint("status in ('planning', 'tracking', 'released', 'cancelled')", name=op.f('ck_tracked_items_status')),
        sa.CheckConstraint('end_month >= start_month', name=op.f('ck_tracked_items_months')),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_tracked_items_agency_id_agencies')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_tracked_items_case_id_cases')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tracked_items')),
        sa.UniqueConstraint('case_id', name=op.f('uq_tracked_items_case_id'))
    )
    op.create_index(op.f('ix_tracked_items_agency_id_status'), 'tracked_items', ['agency_id', 'status'], unique=False)
    op.create_index(op.f('ix_tracked_items_status_kind'), 'tracked_items', ['status', 'kind'], unique=False)
    op.create_table('tracked_plan_months',
        sa.Column('id', engine.store.schema.Id, autoincrement=True, nullable=False),
        sa.Column('tracked_item_id', engine.store.schema.Id, nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('planned_bp', sa.Integer(), nullable=False),
        sa.CheckConstraint('planned_bp between 0 and 10000', name=op.f('ck_tracked_plan_months_planned_range')),
        sa.ForeignKeyConstraint(['tracked_item_id'], ['tracked_items.id'], name=op.f('fk_tracked_plan_months_tracked_item_id_tracked_items')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tracked_plan_months')),
        sa.UniqueConstraint('tracked_item_id', 'month', name=op.f('uq_tracked_plan_months_tracked_item_id_month'))
    )
    op.create_table('tracked_progress',
        sa.Column('id', engine.store.schema.Id, autoincrement=True, nullable=False),
        sa.Column('tracked_item_id', engine.store.schema.Id, nullable=False),
        sa.Column('period', sa.Date(), nullable=False),
        sa.Column('planned_bp', sa.Integer(), nullable=True),
        sa.Column('actual_bp', sa.Integer(), nullable=False),
        sa.Column('gap_bp', sa.Integer(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('reported_by', engine.store.schema.Id, nullable=True),
        sa.Column('reported_at', engine.store.schema.UTCDateTime(), nullable=False),
        sa.CheckConstraint('actual_bp between 0 and 10000', name=op.f('ck_tracked_progress_actual_range')),
        sa.ForeignKeyConstraint(['reported_by'], ['users.id'], name=op.f('fk_tracked_progress_reported_by_users')),
        sa.ForeignKeyConstraint(['tracked_item_id'], ['tracked_items.id'], name=op.f('fk_tracked_progress_tracked_item_id_tracked_items')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tracked_progress')),
        sa.UniqueConstraint('tracked_item_id', 'period', name=op.f('uq_tracked_progress_tracked_item_id_period'))
    )
    op.create_index(op.f('ix_tracked_progress_period_gap_bp'), 'tracked_progress', ['period', 'gap_bp'], unique=False)
    op.create_table('tracked_site_visits',
        sa.Column('id', engine.store.schema.Id, autoincrement=True, nullable=False),
        sa.Column('tracked_item_id', engine.store.schema.Id, nullable=False),
        sa.Column('visit_kind', sa.String(length=24), nullable=False),
        sa.Column('visited_on', sa.Date(), nullable=False),
        sa.Column('findings', sa.Text(), nullable=False),
        sa.Column('score', sa.Integer(), nullable=True),
        sa.Column('recorded_by', engine.store.schema.Id, nullable=True),
        sa.Column('recorded_at', engine.store.schema.UTCDateTime(), nullable=False),
        sa.CheckConstraint("visit_kind in ('verification', 'year_end_inspection')", name=op.f('ck_tracked_site_visits_visit_kind')),
        sa.CheckConstraint('score is null or score between 0 and 100', name=op.f('ck_tracked_site_visits_score_range')),
        sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_tracked_site_visits_recorded_by_users')),
        sa.ForeignKeyConstraint(['tracked_item_id'], ['tracked_items.id'], name=op.f('fk_tracked_site_visits_tracked_item_id_tracked_items')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tracked_site_visits'))
    )
    op.create_index(op.f('ix_tracked_site_visits_tracked_item_id_visited_on'), 'tracked_site_visits', ['tracked_item_id', 'visited_on'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_tracked_site_visits_tracked_item_id_visited_on'), table_name='tracked_site_visits')
    op.drop_table('tracked_site_visits')
    op.drop_index(op.f('ix_tracked_progress_period_gap_bp'), table_name='tracked_progress')
    op.drop_table('tracked_progress')
    op.drop_table('tracked_plan_months')
    op.drop_index(op.f('ix_tracked_items_status_kind'), table_name='tracked_items')
    op.drop_index(op.f('ix_tracked_items_agency_id_status'), table_name='tracked_items')
    op.drop_table('tracked_items')
