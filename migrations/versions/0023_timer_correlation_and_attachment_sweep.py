"""Timers keep the id of the request that set them; the files of attachments can be swept.

A timer fires minutes or weeks after the request whose step set it (a deadline reminder, a rung
of the escalation ladder, a BPMN timer). `timers.correlation_id` keeps that request's id (its
X-Request-ID, engine/correlation.py), so the lines the firing logs, and the notifications it
queues, carry the id of the case action behind them. NULL for the timers set before, and for
those set with no id bound.

`petiflow attachments sweep` deletes the files no attachment names, asking for each batch of files
which of them a row names, by `sha256` (indexed since 0012) or as a photo's original
(`original_sha256`, indexed here on the few rows that have one).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

HAS_ORIGINAL = "original_sha256 IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("timers") as batch:
        batch.add_column(sa.Column("correlation_id", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_attachments_original_sha256"), "attachments", ["original_sha256"], unique=False,
                    postgresql_where=sa.text(HAS_ORIGINAL), sqlite_where=sa.text(HAS_ORIGINAL))


def downgrade() -> None:
    op.drop_index(op.f("ix_attachments_original_sha256"), table_name="attachments")
    with op.batch_alter_table("timers") as batch:
        batch.drop_column("correlation_id")
