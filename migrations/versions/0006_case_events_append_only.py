"""The case history is append-only: the database refuses to change or delete a case event.

`case_events` is the record of what happened to a case, who did it and when; petiflow only
ever inserts into it. Triggers make that a property of the database, so neither a bug nor a
hand-typed statement can rewrite a case's history. Deleting history on purpose (records past
their retention period) is a privileged, deliberate operation: on PostgreSQL the table owner
disables the trigger for it (ALTER TABLE case_events DISABLE TRIGGER ...). TRUNCATE, which only
the owner may run, is not a row change and is not refused.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 01:00:00
"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

MESSAGE = "case_events is append-only: the history of a case cannot be changed or deleted"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
            END
            $$""")
        op.execute("""
            CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE ON case_events
            FOR EACH ROW EXECUTE FUNCTION case_events_append_only()""")
    else:
        for change in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER case_events_no_{change.lower()} BEFORE {change} ON case_events
                BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER case_events_append_only ON case_events")
        op.execute("DROP FUNCTION case_events_append_only()")
    else:
        for change in ("update", "delete"):
            op.execute(f"DROP TRIGGER case_events_no_{change}")
