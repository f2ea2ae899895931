"""Browser sessions kept on the server, so that signing out ends them.

A session was a signed cookie holding the user's id: signing out only asked the browser to forget
it, and a copy of the cookie (a shared computer, a proxy's log) stayed good for up to 12 hours.
The cookie now carries a random key whose SHA-256 is a row here; every request's principal is
read through that row (the same one statement as before), and a row that has ended lets nobody in.
Signing out ends the row; signing out everywhere, a new password and closing the account end all
of a user's rows. Cookies signed before this revision carry no key and ask their users to sign in
again.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 05:30:00
"""
from alembic import op
import sqlalchemy as sa

import engine.store.schema


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'user_sessions',
        sa.Column('id', engine.store.schema.Id, autoincrement=True, nullable=False),
        sa.Column('user_id', engine.store.schema.Id, nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', engine.store.schema.UTCDateTime(), nullable=False),
        sa.Column('ended_at', engine.store.schema.UTCDateTime(), nullable=True),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.Column('user_agent', sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_user_sessions_key_hash')),
    )
    op.create_index(op.f('ix_user_sessions_user_id'), 'user_sessions', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_user_sessions_user_id'), table_name='user_sessions')
    op.drop_table('user_sessions')
