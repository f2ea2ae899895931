"""Working-day calendar and deadline rules (以案管制) as data.

Deadlines count working days, so the engine needs the official calendar: the DGPA's yearly
table or `holidays.TW` (public holidays and make-up Saturdays), plus each city's closure days
(typhoons), which no national source knows. Only the dates that differ from the default week
are stored. The limits, reminders, escalation ladder and extension cap per case type, channel
and category are policy an admin changes without a release, so they are rows too.

Written by hand; plain types only, so it builds the same tables on SQLite and PostgreSQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import engine.store.schema


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('calendar_days',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('city', sa.String(length=32), server_default='default', nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_working_day', sa.Boolean(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind in ('holiday', 'makeup_workday', 'closure', 'adjusted')",
                       name=op.f('ck_calendar_days_kind')),
    sa.CheckConstraint("source in ('holidays.TW', 'dgpa_csv', 'admin')", name=op.f('ck_calendar_days_source')),
    sa.CheckConstraint("kind = 'adjusted' or (kind = 'makeup_workday' and is_working_day)"
                       " or (kind in ('holiday', 'closure') and not is_working_day)",
                       name=op.f('ck_calendar_days_kind_matches_day')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_days')),
    sa.UniqueConstraint('city', 'day', name=op.f('uq_calendar_days_city_day'))
    )
    op.create_table('deadline_rules',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('case_type', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('category', sa.String(length=64), nullable=True),
    sa.Column('priority', sa.Integer(), server_default='0', nullable=False),
    sa.Column('limit_value', sa.Integer(), nullable=False),
    sa.Column('limit_unit', sa.String(length=16), nullable=False),
    sa.Column('limit_multi_agency', sa.Integer(), nullable=True),
    sa.Column('first_day', sa.String(length=20), server_default='next_working_day', nullable=False),
    sa.Column('reminders', sa.JSON(), nullable=False),
    sa.Column('escalations', sa.JSON(), nullable=False),
    sa.Column('max_total_days', sa.Integer(), nullable=True),
    sa.Column('max_extensions', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('updated_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('limit_value > 0', name=op.f('ck_deadline_rules_limit_positive')),
    sa.CheckConstraint("limit_unit in ('working_days', 'calendar_days', 'hours')",
                       name=op.f('ck_deadline_rules_limit_unit')),
    sa.CheckConstraint("first_day in ('received', 'next_day', 'next_working_day')",
                       name=op.f('ck_deadline_rules_first_day')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_rules')),
    sa.UniqueConstraint('code', name=op.f('uq_deadline_rules_code'))
    )
    op.create_index(op.f('ix_deadline_rules_case_type_active'), 'deadline_rules', ['case_type', 'active'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_deadline_rules_case_type_active'), table_name='deadline_rules')
    op.drop_table('deadline_rules')
    op.drop_table('calendar_days')
