"""Personal access tokens for API clients, kept as hashes.

A client that is not a browser (a script of the IT department, another system of the city)
signs in with a token made by its user. Only the SHA-256 of each token is stored: the token is
shown once, when made, and a copy of the database gives no one a token that works. Each token
has a name, an expiry and may be revoked; the first characters are kept to tell tokens apart.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 21:50:00
"""
from alembic import op
import sqlalchemy as sa

import engine.store.schema


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'access_tokens',
        sa.Column('id', engine.store.schema.Id, autoincrement=True, nullable=False),
        sa.Column('user_id', engine.store.schema.Id, nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=12), nullable=False),
        sa.Column('created_at', engine.store.schema.UTCDateTime(), nullable=False),
        sa.Column('expires_at', engine.store.schema.UTCDateTime(), nullable=False),
        sa.Column('revoked_at', engine.store.schema.UTCDateTime(), nullable=True),
        sa.Column('last_used_at', engine.store.schema.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_access_tokens_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_access_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_access_tokens_token_hash')),
    )
    op.create_index(op.f('ix_access_tokens_user_id'), 'access_tokens', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_access_tokens_user_id'), table_name='access_tokens')
    op.drop_table('access_tokens')
