"""The public web mailbox: lookup codes of citizens' cases, and photos kept both with and without EXIF.

A citizen who files a petition on the web mailbox is shown a lookup code once; with the case
number it opens the case's public status and its satisfaction survey. Only the code's SHA-256
is kept, beside the mailbox's address (the link in the reply e-mail). A photo the citizen
attaches is shown to everyone as a copy without its EXIF location and camera data; the file
as it came is kept for the staff handling the case (attachments.original_sha256).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 05:20:00
"""
import sqlalchemy as sa
from alembic import op

import engine.store.schema

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_lookup_codes',
        sa.Column('case_id', engine.store.schema.Id, autoincrement=False, nullable=False),
        sa.Column('code_sha256', sa.String(length=64), nullable=False),
        sa.Column('site_url', sa.String(length=300), nullable=True),
        sa.Column('created_at', engine.store.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_lookup_codes_case_id_cases')),
        sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_lookup_codes')),
    )
    with op.batch_alter_table('attachments') as batch:
        batch.add_column(sa.Column('original_sha256', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('attachments') as batch:
        batch.drop_column('original_sha256')
    op.drop_table('case_lookup_codes')
