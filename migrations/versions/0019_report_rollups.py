"""Rollups for the reports: counters per day, agency, unit..., kept as cases change.

The reports (engine/queries/reports.py) must answer for any period in well under a second at a
city's scale, so they read counters instead of scanning cases. A case's share of the counters
is computed from its records (engine/cases/rollups.py). Every case event that can change it
marks the case in `report_dirty`, by a trigger, in the transaction of the step that wrote the
event: the mark commits exactly when the change does, whichever code path wrote the event
(the one-statement step on PostgreSQL, the services that add an event directly). A catch-up
recomputes each marked case's share, adds the difference with the share last applied
(`report_cases`) to the counters, and clears the marks it read (`seq` tells a mark made since).
Recomputing a share and applying a difference is idempotent, so a catch-up that runs twice or
stops half-way leaves the counters right.

Repeated petitions on the same matter look for an earlier case of the same petitioner and
category: an index on (petitioner_id, category) keeps that one lookup per case. Open and overdue
cases now, per agency and unit, are counted from a partial index of open cases alone.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 05:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: The case events that can change a case's share of the rollups (engine.cases.rollups.REPORTED_KINDS).
KINDS = ("case_received", "case_closed", "case_transferred", "deadline_extended", "task_completed",
         "duplicate_merged", "citizen_notified")
_KINDS_SQL = ", ".join(f"'{k}'" for k in KINDS)


def _counter(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "report_dirty",
        sa.Column("case_id", Id, autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_report_dirty")),
    )
    op.create_table(
        "report_cases",
        sa.Column("case_id", Id, autoincrement=False, nullable=False),
        sa.Column("contribution", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_report_cases")),
    )
    op.create_table(
        "report_agency_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("agency_id", Id, autoincrement=False, nullable=False),
        sa.Column("unit_id", Id, autoincrement=False, nullable=False),
        sa.Column("case_type", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        *(_counter(n) for n in ("received", "closed", "closed_timed", "closed_on_time", "close_days", "cancelled",
                                "merged", "extensions", "transfers_in", "transfers_out", "surveys", "satisfied",
                                "reviews", "sent_back")),
        sa.PrimaryKeyConstraint("day", "agency_id", "unit_id", "case_type", "channel",
                                name=op.f("pk_report_agency_days")),
    )
    op.create_table(
        "report_close_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("agency_id", Id, autoincrement=False, nullable=False),
        sa.Column("unit_id", Id, autoincrement=False, nullable=False),
        sa.Column("working_days", sa.Integer(), autoincrement=False, nullable=False),
        _counter("closed"),
        sa.PrimaryKeyConstraint("day", "agency_id", "unit_id", "working_days", name=op.f("pk_report_close_days")),
    )
    op.create_table(
        "report_hotspot_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("agency_id", Id, autoincrement=False, nullable=False),
        sa.Column("case_type", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        _counter("received"), _counter("repeated"),
        sa.PrimaryKeyConstraint("month", "agency_id", "case_type", "category", "district",
                                name=op.f("pk_report_hotspot_months")),
    )
    op.create_table(
        "report_call_hours",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        _counter("calls"),
        sa.PrimaryKeyConstraint("day", "hour", "outcome", name=op.f("pk_report_call_hours")),
    )
    op.create_table(
        "report_council",
        sa.Column("session", sa.String(length=100), nullable=False),
        sa.Column("item_kind", sa.String(length=32), nullable=False),
        sa.Column("case_id", Id, autoincrement=False, nullable=False),
        sa.Column("agency_id", Id, autoincrement=False, nullable=False),
        *(_counter(n) for n in ("items", "tracked", "released", "replied_closed", "assigned", "replied",
                                "replied_on_time")),
        sa.PrimaryKeyConstraint("session", "item_kind", "case_id", "agency_id", name=op.f("pk_report_council")),
    )
    op.create_table(
        "report_site_inspections",
        sa.Column("half", sa.String(length=7), nullable=False),
        sa.Column("office", sa.String(length=100), nullable=False),
        sa.Column("agency_id", Id, autoincrement=False, nullable=False),
        *(_counter(n) for n in ("inspections", "declined", "invited", "follow_ups", "follow_ups_done")),
        sa.PrimaryKeyConstraint("half", "office", "agency_id", name=op.f("pk_report_site_inspections")),
    )
    op.create_index("ix_cases_petitioner_id_category", "cases", ["petitioner_id", "category"])
    op.create_index("ix_cases_open_agency_unit_due", "cases", ["agency_id", "unit_id", "due_at", "case_type"],
                    postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION report_mark_case() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO report_dirty (case_id, seq) VALUES (NEW.case_id, 1)
                ON CONFLICT (case_id) DO UPDATE SET seq = report_dirty.seq + 1;
                RETURN NULL;
            END
            $$""")
        op.execute(f"""
            CREATE TRIGGER case_events_mark_report AFTER INSERT ON case_events
            FOR EACH ROW WHEN (NEW.kind IN ({_KINDS_SQL})) EXECUTE FUNCTION report_mark_case()""")
    else:
        # SQLite runs one writer at a time: a catch-up never overlaps a step, so a mark needs no seq.
        op.execute(f"""
            CREATE TRIGGER case_events_mark_report AFTER INSERT ON case_events
            WHEN NEW.kind IN ({_KINDS_SQL})
            BEGIN INSERT OR IGNORE INTO report_dirty (case_id, seq) VALUES (NEW.case_id, 1); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER case_events_mark_report ON case_events")
        op.execute("DROP FUNCTION report_mark_case()")
    else:
        op.execute("DROP TRIGGER case_events_mark_report")
    op.drop_index("ix_cases_open_agency_unit_due", table_name="cases")
    op.drop_index("ix_cases_petitioner_id_category", table_name="cases")
    for name in ("report_site_inspections", "report_council", "report_call_hours", "report_hotspot_months", "report_close_days", "report_agency_days",
                 "report_cases", "report_dirty"):
        op.drop_table(name)
