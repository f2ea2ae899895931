"""The record of administration: an append-only table of changes to users, agencies, units and groups.

Who may act in which role comes from group membership, read at each request; an administrator's
change therefore takes effect on open work at once, and the city must be able to tell later who
granted or withdrew a role, closed an account or reset a password, and when. The case history
(`case_events`) belongs to a case and cannot hold this, so the record has its own table, made
append-only by triggers as `case_events` is (0006): neither a bug nor a hand-typed statement can
rewrite it. It never holds a password or a hash of one.

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-08 10:00:00
"""
from alembic import op
import sqlalchemy as sa

import engine.store.schema


revision = '0011'
down_revision = "0010"
branch_labels = None
depends_on = None

MESSAGE = "admin_events is append-only: the record of administration cannot be changed or deleted"


def upgrade() -> None:
    op.create_table(
        'admin_events',
        sa.Column('id', engine.store.schema.Id, autoincrement=True, nullable=False),
        sa.Column('at', engine.store.schema.UTCDateTime(), nullable=False),
        sa.Column('actor_id', engine.store.schema.Id, nullable=True),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('subject_type', sa.String(length=16), nullable=False),
        sa.Column('subject_id', engine.store.schema.Id, nullable=False),
        sa.Column('data', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_admin_events_actor_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_events')),
    )
    op.create_index(op.f('ix_admin_events_subject_type_subject_id'), 'admin_events',
                    ['subject_type', 'subject_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION admin_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
            END
            $$""")
        op.execute("""
            CREATE TRIGGER admin_events_append_only BEFORE UPDATE OR DELETE ON admin_events
            FOR EACH ROW EXECUTE FUNCTION admin_events_append_only()""")
    else:
        for change in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER admin_events_no_{change.lower()} BEFORE {change} ON admin_events
                BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER admin_events_append_only ON admin_events")
        op.execute("DROP FUNCTION admin_events_append_only()")
    else:
        for change in ("update", "delete"):
            op.execute(f"DROP TRIGGER admin_events_no_{change}")
    op.drop_index(op.f('ix_admin_events_subject_type_subject_id'), table_name='admin_events')
    op.drop_table('admin_events')
