"""Cases get a place, reports near an open case are linked to it, and Open311 apps get keys.

A report from an Open311 app (or any intake that has a point) keeps the place as it was described
(address, never the petitioner's: that stays in petitioners), its latitude and longitude
(WGS84) and the grid cell of that point (0.001 degree squares, engine/cases/location.py). A new
report is checked against the open cases of its category in the cells around it, read from the
partial index ix_cases_open_located (category, geo_cell, latitude, longitude) of open located
cases, then measured exactly on the ellipsoid: a few index rows, whatever the number of cases.
A report within 50 m of one is linked to it (duplicate_of) until a dispatcher merges or
separates them.

Open311 keys are issued to apps by an administrator and kept as SHA-256 hashes, like personal
access tokens; a revoked key stops working at once.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 05:30:00
"""
import sqlalchemy as sa
from alembic import op

import engine.store.schema

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('cases', sa.Column('address', sa.String(length=500), nullable=True))
    op.add_column('cases', sa.Column('latitude', sa.Double(), nullable=True))
    op.add_column('cases', sa.Column('longitude', sa.Double(), nullable=True))
    op.add_column('cases', sa.Column('geo_cell', sa.BigInteger(), nullable=True))
    # No foreign key: SQLite cannot add one to a table in place (engine/services/duplicates.py keeps it).
    op.add_column('cases', sa.Column('duplicate_of', engine.store.schema.Id, nullable=True))
    op.create_index('ix_cases_open_located', 'cases', ['category', 'geo_cell', 'latitude', 'longitude'],
                    unique=False, postgresql_where=sa.text("status = 'open' AND geo_cell IS NOT NULL"),
                    sqlite_where=sa.text("status = 'open' AND geo_cell IS NOT NULL"))
    op.create_index('ix_cases_duplicate_of', 'cases', ['duplicate_of'], unique=False,
                    postgresql_where=sa.text("duplicate_of IS NOT NULL"),
                    sqlite_where=sa.text("duplicate_of IS NOT NULL"))
    op.create_table(
        'open311_keys',
        sa.Column('id', engine.store.schema.Id, autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=12), nullable=False),
        sa.Column('created_by', engine.store.schema.Id, nullable=True),
        sa.Column('created_at', engine.store.schema.UTCDateTime(), nullable=False),
        sa.Column('revoked_at', engine.store.schema.UTCDateTime(), nullable=True),
        sa.Column('last_used_at', engine.store.schema.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_open311_keys_created_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_open311_keys')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_open311_keys_key_hash')),
    )


def downgrade() -> None:
    op.drop_table('open311_keys')
    op.drop_index('ix_cases_duplicate_of', table_name='cases')
    op.drop_index('ix_cases_open_located', table_name='cases')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('duplicate_of')
        batch.drop_column('geo_cell')
        batch.drop_column('longitude')
        batch.drop_column('latitude')
        batch.drop_column('address')
