"""Files attached to cases: one row per attachment, the file itself outside the database.

Staff attach photos of a pothole, a scanned letter, a PDF reply to a case. The files are kept
under the var folder, named by their SHA-256 (engine/store/files.py), so the database stays
small and its backups quick, and the same file attached twice is kept once. The row keeps the
case, the name the file came with, the media type its content was found to be (never the
client's word), its size and digest, and who added it when.

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-08 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.store.schema

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'attachments',
        sa.Column('id', engine.store.schema.Id, autoincrement=True, nullable=False),
        sa.Column('case_id', engine.store.schema.Id, nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('media_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_by', engine.store.schema.Id, nullable=True),
        sa.Column('uploaded_at', engine.store.schema.UTCDateTime(), nullable=False),
        sa.CheckConstraint('size > 0', name=op.f('ck_attachments_size_positive')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_attachments_case_id_cases')),
        sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_attachments_uploaded_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    )
    op.create_index(op.f('ix_attachments_case_id_id'), 'attachments', ['case_id', 'id'], unique=False)
    op.create_index(op.f('ix_attachments_sha256'), 'attachments', ['sha256'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_attachments_sha256'), table_name='attachments')
    op.drop_index(op.f('ix_attachments_case_id_id'), table_name='attachments')
    op.drop_table('attachments')
