"""The tables of petiflow (SQLAlchemy Core), shared by the services and Alembic."""
from __future__ import annotations

from datetime import timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

#: Constraint names that Alembic can reproduce identically on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

#: Integer primary keys: BIGINT on PostgreSQL, INTEGER (rowid alias) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on both databases (SQLite would drop the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored; use UTC")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _pk() -> Column:
    return Column("id", Id, primary_key=True, autoincrement=True)


def _fk(name: str, target: str, **kw) -> Column:
    return Column(name, Id, ForeignKey(target, **({"ondelete": kw.pop("ondelete")} if "ondelete" in kw else {})), **kw)


# --- organisation -------------------------------------------------------------------------

agencies = Table(
    "agencies", metadata, _pk(),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False, server_default="bureau"),
    Column("active", Boolean, nullable=False, server_default="1"),
)

units = Table(
    "units", metadata, _pk(),
    _fk("agency_id", "agencies.id", nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    UniqueConstraint("agency_id", "code"),
)

users = Table(
    "users", metadata, _pk(),
    Column("username", String(100), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("email", String(320)),
    Column("password_hash", String(255)),
    Column("active", Boolean, nullable=False, server_default="1"),
    _fk("agency_id", "agencies.id"),
    _fk("unit_id", "units.id"),
    Column("created_at", UTCDateTime, nullable=False),
)

#: Personal access tokens for API clients: only a hash of each is kept (the token is shown
#: once, when made); it works until it expires or is revoked.
access_tokens = Table(
    "access_tokens", metadata, _pk(),
    _fk("user_id", "users.id", nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256, hex
    Column("prefix", String(12), nullable=False),  # the token's first characters, to tell tokens apart
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
    Index(None, "user_id"),
)

#: Browser sessions. The session cookie carries a random key; only its SHA-256 is kept here. A
#: session ends at sign-out, when its user signs out everywhere, is given a new password or is
#: closed: the signed cookie alone is worth nothing once its row has ended.
user_sessions = Table(
    "user_sessions", metadata, _pk(),
    _fk("user_id", "users.id", nullable=False, ondelete="CASCADE"),
    Column("key_hash", String(64), nullable=False, unique=True),  # SHA-256, hex
    Column("created_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("address", String(64)),  # where it was signed in from
    Column("user_agent", String(255)),
    Index(None, "user_id"),
)

#: Open311 API keys: issued by an administrator to a citizens' app, kept as a hash (shown once,
#: when issued), working until revoked. A key lets its app report problems (POST requests).
open311_keys = Table(
    "open311_keys", metadata, _pk(),
    Column("name", String(100), nullable=False),  # the app it was issued to
    Column("key_hash", String(64), nullable=False, unique=True),  # SHA-256, hex
    Column("prefix", String(12), nullable=False),
    _fk("created_by", "users.id"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
)

#: A group is a role held in an agency (or one of its units): "caseworkers of 工務局 道路科".
groups = Table(
    "groups", metadata, _pk(),
    Column("code", String(100), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(64), nullable=False),
    _fk("agency_id", "agencies.id"),
    _fk("unit_id", "units.id"),
    Index(None, "role", "agency_id"),
)

group_members = Table(
    "group_members", metadata,
    _fk("group_id", "groups.id", primary_key=True, ondelete="CASCADE"),
    _fk("user_id", "users.id", primary_key=True, ondelete="CASCADE"),
)

#: The append-only record of administration: who changed which user, agency, unit or group,
#: when, and what changed (never a password or its hash).
admin_events = Table(
    "admin_events", metadata, _pk(),
    Column("at", UTCDateTime, nullable=False),
    _fk("actor_id", "users.id"),  # None: the system
    Column("kind", String(64), nullable=False),
    Column("subject_type", String(16), nullable=False),
    Column("subject_id", Id, nullable=False),
    Column("data", JSON),
    Index(None, "subject_type", "subject_id"),
)

# --- deployed process definitions -----------------------------------------------------------

process_definitions = Table(
    "process_definitions", metadata, _pk(),
    Column("process_key", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", String(200)),
    Column("content_hash", String(64), nullable=False),
    Column("sources", JSON, nullable=False),  # {file name: XML text} of the bundle
    Column("deployed_at", UTCDateTime, nullable=False),
    Column("deployed_by", String(100)),
    UniqueConstraint("process_key", "version"),
)

# --- cases and the people behind them -------------------------------------------------------

petitioners = Table(
    "petitioners", metadata, _pk(),
    Column("name", String(200)),
    Column("id_number", String(20)),
    Column("phone", String(50)),
    Column("email", String(320)),
    Column("address", String(500)),
    Column("created_at", UTCDateTime, nullable=False),
)

cases = Table(
    "cases", metadata, _pk(),
    Column("case_no", String(32), nullable=False, unique=True),
    Column("case_type", String(32), nullable=False),
    Column("channel", String(32)),
    Column("category", String(64)),
    Column("district", String(32)),
    Column("subject", String(500)),
    Column("description", Text),  # what the petitioner wrote; searched with the subject (engine/queries/case_search.py)
    Column("status", String(16), nullable=False, server_default="open"),
    Column("confidential", Boolean, nullable=False, server_default="0"),
    _fk("agency_id", "agencies.id"),
    _fk("unit_id", "units.id"),
    _fk("petitioner_id", "petitioners.id"),
    Column("received_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Where the problem is (WGS84), when the report gave a point, and the grid cell of that point
    # (engine/cases/location.py): a report near an open case of its category is found by cell.
    Column("address", String(500)),  # the place as the report describes it (never the petitioner's address)
    Column("latitude", Double),
    Column("longitude", Double),
    Column("geo_cell", BigInteger),
    # The case this one was reported again as (a duplicate report, engine/services/duplicates.py): a
    # case id kept by that service, without a foreign key, which SQLite cannot add to a table in place.
    Column("duplicate_of", Id),
    CheckConstraint("status in ('open', 'closed', 'cancelled')", name="status"),
    Index(None, "agency_id", "status"),
    # The case list, newest first, of the whole city and of one agency (engine/queries/case_search.py).
    Index(None, "received_at", "id"),
    Index(None, "agency_id", "received_at", "id"),
)

workflow_instances = Table(
    "workflow_instances", metadata, _pk(),
    _fk("case_id", "cases.id", nullable=False),
    _fk("definition_id", "process_definitions.id", nullable=False),
    # TEXT, never JSONB: SpiffWorkflow 3.2 restores task data as deltas in key order.
    Column("state", Text, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("status", String(16), nullable=False),
    Column("next_timer_at", UTCDateTime),
    Column("error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("status in ('running', 'waiting', 'completed', 'error', 'cancelled')", name="status"),
    Index(None, "case_id"),
    Index(None, "next_timer_at"),
)

#: The inbox: one row per READY manual task, synced by the runner after every step.
work_items = Table(
    "work_items", metadata, _pk(),
    _fk("instance_id", "workflow_instances.id", nullable=False),
    _fk("case_id", "cases.id", nullable=False),
    Column("task_id", String(36), nullable=False),
    Column("task_spec", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("lane", String(100)),
    Column("role", String(64)),
    _fk("agency_id", "agencies.id"),
    # The unit (科) of its case, kept while the item is open (written by the step writers wherever a
    # case is placed in a unit or moved): an agency's late work is counted per unit from one index (0022).
    _fk("unit_id", "units.id"),
    # The agency of its case, kept while the item is open (written by the step writers when work opens
    # and when its case moves): a reader finds the cases it co-handles (open work for its agency on
    # another agency's case) in one small index (0024). A copy of cases.agency_id, so no constraint.
    Column("case_agency_id", Id),
    _fk("assignee_id", "users.id"),
    Column("status", String(16), nullable=False),
    Column("form_key", String(200)),
    Column("due_at", UTCDateTime),
    Column("escalation_level", Integer, nullable=False, server_default="0"),
    # Bumped by every change of the row (claimed, assigned, escalated, moved, closed): the token
    # a client sends back (an ETag) so that it changes only the item it saw.
    Column("version", Integer, nullable=False, server_default="1"),
    # What the item keeps of the case's deadline (engine.workflow.runner.ReadyTask): case, due_only, none;
    # task: its own due time and ladder from its task's deadline rule, which the case's moves leave alone.
    Column("deadline_mode", String(8), nullable=False, server_default="case"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime),
    _fk("completed_by", "users.id"),
    CheckConstraint("status in ('open', 'completed', 'cancelled')", name="status"),
    UniqueConstraint("instance_id", "task_id"),
    Index(None, "case_id"),
    # Open work in due order for the inbox and the escalation queue: the partial indexes below.
)

#: A person's unfinished answer to a work item's form, one per item and person, kept until the
#: item is completed or cancelled (the step that closes it deletes its drafts).
work_item_drafts = Table(
    "work_item_drafts", metadata,
    _fk("work_item_id", "work_items.id", primary_key=True, ondelete="CASCADE"),
    _fk("user_id", "users.id", primary_key=True, ondelete="CASCADE"),
    Column("data", JSON, nullable=False),
    Column("saved_at", UTCDateTime, nullable=False),
)

#: Every deadline as a row: BPMN timers, reminders and escalation steps.
timers = Table(
    "timers", metadata, _pk(),
    Column("kind", String(32), nullable=False),
    _fk("instance_id", "workflow_instances.id", nullable=False),
    _fk("case_id", "cases.id", nullable=False),
    _fk("work_item_id", "work_items.id"),
    Column("task_id", String(36)),
    Column("due_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("lease_owner", String(100)),
    Column("lease_expires_at", UTCDateTime),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("payload", JSON),
    Column("created_at", UTCDateTime, nullable=False),
    Column("fired_at", UTCDateTime),
    # The id of the request (or message) whose step set the timer (engine/correlation.py): its
    # firing is logged under it. NULL: set with none bound (a command, the demo data), or before 0023.
    Column("correlation_id", String(64)),
    CheckConstraint("status in ('pending', 'done', 'cancelled', 'failed')", name="status"),
    Index(None, "status", "due_at"),
    Index(None, "instance_id"),
    Index(None, "work_item_id"),  # closing or moving an item cancels its reminders and rungs
)

#: The append-only history of a case: the timeline, the audit trail and the reports.
case_events = Table(
    "case_events", metadata, _pk(),
    _fk("case_id", "cases.id", nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(64), nullable=False),
    _fk("actor_id", "users.id"),
    _fk("work_item_id", "work_items.id"),
    Column("data", JSON),
    Index(None, "case_id", "at"),
)

#: Every time a petitioner's personal data was shown: to whom (user id and username, kept as
#: they were), when, of which case, which fields and through what (the case page...).
#: Append-only like case_events (triggers, migration 0010): the record of who saw whom.
personal_data_reads = Table(
    "personal_data_reads", metadata, _pk(),
    Column("at", UTCDateTime, nullable=False),
    _fk("user_id", "users.id"),  # None: the engine itself
    Column("username", String(100), nullable=False),
    _fk("case_id", "cases.id", nullable=False),
    Column("fields", String(200), nullable=False),  # the fields shown, comma-separated: name,phone,email
    Column("via", String(64), nullable=False),  # where they were shown: case_page, ...
    # The auditors' list, newest first: all of it, one case's, one user's (engine/queries/personal_data.py).
    Index(None, "at", "id"),
    Index(None, "case_id", "at", "id"),
    Index(None, "user_id", "at", "id"),
)

#: Files attached to a case (photos, scanned letters, replies): the file itself is kept outside the
#: database, content-addressed by its SHA-256 (engine/store/files.py); a row says which case it
#: belongs to, under what name it came, what its content was found to be, and who added it when.
attachments = Table(
    "attachments", metadata, _pk(),
    _fk("case_id", "cases.id", nullable=False),
    Column("filename", String(255), nullable=False),  # as given, without path parts or control characters
    Column("media_type", String(100), nullable=False),  # as sniffed from the content (engine/cases/sniffing.py)
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),  # hex: the name of the file on disk
    # A citizen's photo as it came, with its EXIF location and camera data, which `sha256` (the copy
    # everyone is shown) no longer holds: read only by the staff handling the case. NULL: none kept.
    Column("original_sha256", String(64)),
    _fk("uploaded_by", "users.id"),  # NULL: the engine itself
    Column("uploaded_at", UTCDateTime, nullable=False),
    CheckConstraint("size > 0", name="size_positive"),
    Index(None, "case_id", "id"),  # a case's attachments in the order they came
    Index(None, "sha256"),  # which rows name a file (the sweep of files no row names)
    # ... and which name it as a photo's original (few do: the index holds those only).
    Index(None, "original_sha256", postgresql_where=text("original_sha256 IS NOT NULL"),
          sqlite_where=text("original_sha256 IS NOT NULL")),
)

#: The lookup code of a case filed on the public web mailbox: only its SHA-256 is kept (the citizen
#: was shown the code once), with the mailbox's address for the links of later e-mails.
case_lookup_codes = Table(
    "case_lookup_codes", metadata,
    Column("case_id", Id, ForeignKey("cases.id"), primary_key=True, autoincrement=False),
    Column("code_sha256", String(64), nullable=False),
    Column("site_url", String(300)),  # where the citizen filed it (links in the reply e-mail); NULL: unknown
    Column("created_at", UTCDateTime, nullable=False),
)

#: Messages that leave after commit (notifications, Dramatiq sends), de-duplicated by key.
outbox = Table(
    "outbox", metadata, _pk(),
    Column("topic", String(64), nullable=False),
    Column("dedup_key", String(200), nullable=False, unique=True),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    # Who delivers the row until when (like timers); the owner "relay" means a message for
    # it is in flight, so the relay sweep leaves it alone until the lease ends.
    Column("lease_owner", String(100)),
    Column("lease_expires_at", UTCDateTime),
    CheckConstraint("status in ('pending', 'sent', 'failed')", name="status"),
    Index(None, "status", "created_at"),
)

# --- working-day calendar and deadline rules (以案管制) ---------------------------------------

#: One row per local date that differs from the default week (Mon-Fri working, Sat-Sun off):
#: public holidays, make-up Saturdays (補行上班) and a city's closure days (颱風停班).
#: Rows of the city "default" apply everywhere; a city's own rows override them.
calendar_days = Table(
    "calendar_days", metadata, _pk(),
    Column("city", String(32), nullable=False, server_default="default"),
    Column("day", Date, nullable=False),
    Column("is_working_day", Boolean, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", String(200)),
    Column("source", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("kind in ('holiday', 'makeup_workday', 'closure', 'adjusted')", name="kind"),
    CheckConstraint("source in ('holidays.TW', 'dgpa_csv', 'admin')", name="source"),
    CheckConstraint("kind = 'adjusted' or (kind = 'makeup_workday' and is_working_day)"
                    " or (kind in ('holiday', 'closure') and not is_working_day)", name="kind_matches_day"),
    UniqueConstraint("city", "day"),
)

#: 以案管制: the time limit, reminders, escalation ladder and extension cap per kind of case.
#: channel / category NULL match any value; the most specific active rule wins (engine/deadlines.py).
deadline_rules = Table(
    "deadline_rules", metadata, _pk(),
    Column("code", String(100), nullable=False, unique=True),
    Column("case_type", String(32), nullable=False),
    Column("channel", String(32)),
    Column("category", String(64)),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("limit_value", Integer, nullable=False),
    Column("limit_unit", String(16), nullable=False),
    Column("limit_multi_agency", Integer),  # the limit when several agencies share the case
    Column("first_day", String(20), nullable=False, server_default="next_working_day"),
    Column("reminders", JSON, nullable=False),  # [{"before": 1, "unit": "working_days"}]
    Column("escalations", JSON, nullable=False),  # [{"level": 1, "to": "section_chief", "after": 0}]
    Column("max_total_days", Integer),  # calendar days from receipt, extensions included
    Column("max_extensions", Integer),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("note", Text),
    Column("updated_at", UTCDateTime, nullable=False),
    # The BPMN id of the task whose work item this rule limits (engine.deadlines.rules); NULL: the case.
    Column("task", String(100)),
    CheckConstraint("limit_value > 0", name="limit_positive"),
    CheckConstraint("limit_unit in ('working_days', 'calendar_days', 'hours', 'office_hours')", name="limit_unit"),
    CheckConstraint("first_day in ('received', 'next_day', 'next_working_day')", name="first_day"),
    Index(None, "case_type", "active"),
)

#: In-app notices: to one user, or to the holders of a role in an agency (agency_id NULL:
#: the role wherever held). Group membership is resolved when the notices are read, like
#: the inbox, so a notice reaches whoever holds the role at that moment. A group notice is
#: read once for the whole group: read_by says who saw it.
notifications = Table(
    "notifications", metadata, _pk(),
    _fk("user_id", "users.id"),
    Column("role", String(64)),
    _fk("agency_id", "agencies.id"),
    _fk("case_id", "cases.id"),
    _fk("work_item_id", "work_items.id"),
    Column("kind", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text),
    Column("dedup_key", String(200), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime),
    _fk("read_by", "users.id"),
    CheckConstraint("user_id is not null or role is not null", name="recipient"),
    Index(None, "user_id", "read_at"),
    Index(None, "role", "agency_id", "read_at"),
)

#: What the machinery could not do by itself (a timer that kept failing, a notification
#: that could not be delivered), kept until someone retries or resolves it (Camunda's
#: incidents). The subject is the row that failed: subject_table + subject_id.
incidents = Table(
    "incidents", metadata, _pk(),
    Column("kind", String(32), nullable=False),
    Column("subject_table", String(64), nullable=False),
    Column("subject_id", Id, nullable=False),
    _fk("case_id", "cases.id"),
    Column("message", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),  # when it left 'open' (retried or resolved)
    Column("resolved_by", String(100)),
    Column("resolution", Text),
    CheckConstraint("status in ('open', 'retried', 'resolved')", name="status"),
    Index(None, "status", "created_at"),
    Index(None, "subject_table", "subject_id"),
    Index(None, "case_id"),
)

# --- tracked items (列管) -----------------------------------------------------------------
# A tracked item is a case of type `tracked_item` (its workflow: workflows/tracked_item.bpmn) with
# a row here; its plan and its progress history live in their own tables, not in the workflow's
# state, which stays small over years of monthly reports. Percentages are kept in basis points
# (1/100 of a percent, 10000 = 100%) so that "behind by 10% or more" is an exact comparison.

#: Kinds of tracked item (engine/services/tracked_items.py: KINDS).
TRACKED_KINDS = ("major_project", "mayor_policy", "county_meeting", "project_manager", "township_support",
                 "commissioned_study", "low_use_building")


def _one_of(column: str, values) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


tracked_items = Table(
    "tracked_items", metadata, _pk(),
    _fk("case_id", "cases.id", nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    _fk("agency_id", "agencies.id", nullable=False),  # the executing agency
    Column("title", String(200), nullable=False),
    Column("budget", BigInteger),  # NT$; a major project's capital budget is at least 10 million
    Column("policy", String(200)),  # the mayor's policy, the meeting or the programme it comes from
    Column("cadence", String(16), nullable=False),  # how often progress is reported
    Column("start_month", Date, nullable=False),  # the first day of the first planned month
    Column("end_month", Date, nullable=False),  # the first day of the last planned month
    Column("status", String(16), nullable=False),
    Column("plan_status", String(16), nullable=False, server_default="none"),
    # The latest report, copied here for the counts and the meeting's agenda.
    Column("latest_period", Date),
    Column("latest_planned_bp", Integer),
    Column("latest_actual_bp", Integer),
    Column("latest_gap_bp", Integer),  # planned - actual: > 0 behind, <= 0 on schedule or ahead
    Column("behind_20_streak", Integer, nullable=False, server_default="0"),  # consecutive reports >= 20% behind
    Column("closure_request", String(16)),  # the agency asked to release or cancel; awaiting the commission
    Column("follow_up", String(16)),  # a commissioned study's use, six months after it closed
    Column("registered_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),  # released or cancelled
    CheckConstraint(_one_of("kind", TRACKED_KINDS), name="kind"),
    CheckConstraint("cadence in ('monthly', 'quarterly')", name="cadence"),
    CheckConstraint("status in ('planning', 'tracking', 'released', 'cancelled')", name="status"),
    CheckConstraint("plan_status in ('none', 'proposed', 'approved')", name="plan_status"),
    CheckConstraint("closure_request in ('release', 'cancel')", name="closure_request"),
    CheckConstraint("follow_up in ('adopted', 'partly_adopted', 'filed')", name="follow_up"),
    CheckConstraint("end_month >= start_month", name="months"),
    Index(None, "status", "kind"),
    Index(None, "agency_id", "status"),
)

#: The planned progress per month, set by the executing agency and approved by the commission.
tracked_plan_months = Table(
    "tracked_plan_months", metadata, _pk(),
    _fk("tracked_item_id", "tracked_items.id", nullable=False),
    Column("month", Date, nullable=False),  # the first day of the month
    Column("planned_bp", Integer, nullable=False),  # cumulative planned progress at the month's end
    CheckConstraint("planned_bp between 0 and 10000", name="planned_range"),
    UniqueConstraint("tracked_item_id", "month"),
)

#: Progress reported per period (a month, or the last month of a quarter), against the plan.
tracked_progress = Table(
    "tracked_progress", metadata, _pk(),
    _fk("tracked_item_id", "tracked_items.id", nullable=False),
    Column("period", Date, nullable=False),  # the first day of the month reported on
    Column("planned_bp", Integer),  # the approved plan for the period (NULL: no plan, e.g. a policy item)
    Column("actual_bp", Integer, nullable=False),
    Column("gap_bp", Integer, nullable=False),  # planned - actual (0 without a plan)
    Column("note", Text),
    _fk("reported_by", "users.id"),
    Column("reported_at", UTCDateTime, nullable=False),
    CheckConstraint("actual_bp between 0 and 10000", name="actual_range"),
    UniqueConstraint("tracked_item_id", "period"),
    Index(None, "period", "gap_bp"),  # the month's agenda: reports behind by 10% or more
)

#: The commission's visits: site verification of a project, the year-end inspection of a building.
tracked_site_visits = Table(
    "tracked_site_visits", metadata, _pk(),
    _fk("tracked_item_id", "tracked_items.id", nullable=False),
    Column("visit_kind", String(24), nullable=False),
    Column("visited_on", Date, nullable=False),
    Column("findings", Text, nullable=False),
    Column("score", Integer),  # a year-end inspection's mark out of 100
    _fk("recorded_by", "users.id"),
    Column("recorded_at", UTCDateTime, nullable=False),
    CheckConstraint("visit_kind in ('verification', 'year_end_inspection')", name="visit_kind"),
    CheckConstraint("score is null or score between 0 and 100", name="score_range"),
    Index(None, "tracked_item_id", "visited_on"),
)

# --- indexes of the read queries (engine/queries/) -------------------------------------------
# The inbox and the escalation queue read open work in due order, a page at a time. Partial
# indexes hold only the rows a query can want (open work is a small part of work_items after a
# few years) and end in (due_at, id), the order and the keyset of every page. Their conditions
# are written as the queries write them, with literals, so that both databases use them.


def _partial(name: str, table: Table, *columns: str, where: str) -> Index:
    """An index of the rows matching `where`, the same on PostgreSQL and SQLite."""
    return Index(name, *(table.c[c] for c in columns), postgresql_where=text(where), sqlite_where=text(where))


_OPEN = "status = 'open'"
_partial("ix_work_items_open_assigned", work_items, "assignee_id", "due_at", "id",
         where=f"{_OPEN} AND assignee_id IS NOT NULL")  # assigned to me
_partial("ix_work_items_open_unassigned", work_items, "role", "agency_id", "due_at", "id",
         where=f"{_OPEN} AND assignee_id IS NULL")  # open to my groups
# The queue's indexes end in the agency and level it counts by: its counts read the index alone (0013);
# an agency's ends in the unit of the item's case too: its unit counts likewise (0022).
_partial("ix_work_items_open_by_agency", work_items, "agency_id", "due_at", "id", "escalation_level", "unit_id",
         where=_OPEN)  # a supervisor's agency; an agency's escalation queue
_partial("ix_work_items_open_by_due", work_items, "due_at", "id", "agency_id", "escalation_level",
         where=_OPEN)  # the commission's queue
# Whether a case has open work for an agency (a reader's sight of a case it co-handles) (0014).
_partial("ix_work_items_open_agency_case", work_items, "agency_id", "case_id", where=_OPEN)
# A reader's co-handled cases: its open work on cases of other agencies, few of all its open work (0024).
# An item whose case's agency is not known (NULL) is in it too: a candidate the search checks.
CO_HANDLED = "agency_id <> coalesce(case_agency_id, 0)"
_partial("ix_work_items_open_co_handled", work_items, "agency_id", "case_id", where=f"{_OPEN} AND {CO_HANDLED}")
# An agency's open cases (0014); the co-handled search above no longer reads it (0024).
_partial("ix_cases_open_agency", cases, "agency_id", "id", where=_OPEN)
# A new report's possible duplicates: the open cases of its category in the grid cells around it (0016).
_partial("ix_cases_open_located", cases, "category", "geo_cell", "latitude", "longitude",
         where=f"{_OPEN} AND geo_cell IS NOT NULL")
# The duplicates linked to a case (its page lists them).
_partial("ix_cases_duplicate_of", cases, "duplicate_of", where="duplicate_of IS NOT NULL")
_partial("ix_work_items_completed_by", work_items, "completed_by", "due_at", "id",
         where="status = 'completed'")  # the work I completed
_partial("ix_workflow_instances_running", workflow_instances, "definition_id",
         where="status NOT IN ('completed', 'cancelled')")  # running cases per deployed version


# --- report rollups (engine/cases/rollups.py, engine/cases/shares.py) ------------------------------------------------
# Counters the reports read instead of scanning cases. A case's share of them is recomputed from
# its records whenever its history gains an event that matters to a report (a trigger marks the
# case in report_dirty, in the step's own transaction), and the difference with the share last
# applied (report_cases) is added to the counters. Dimensions are never NULL (0 and '' stand for
# "none"), so that each combination has one row and an upsert finds it.

#: Cases whose share of the rollups may be out of date: marked by a trigger on case_events
#: (0019); seq grows with each mark, so a catch-up clears only the marks it has read.
report_dirty = Table(
    "report_dirty", metadata,
    Column("case_id", Id, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False, server_default="1"),
)

#: Each case's share of the counters as last applied: [[table, [key...], {measure: n}], ...].
report_cases = Table(
    "report_cases", metadata,
    Column("case_id", Id, primary_key=True, autoincrement=False),
    Column("contribution", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


def _counter(name: str) -> Column:
    return Column(name, Integer, nullable=False, server_default="0")


#: Per local day, agency (its current agency for a case's own figures), unit, case type and channel.
report_agency_days = Table(
    "report_agency_days", metadata,
    Column("day", Date, primary_key=True),
    Column("agency_id", Id, primary_key=True, autoincrement=False),
    Column("unit_id", Id, primary_key=True, autoincrement=False),
    Column("case_type", String(32), primary_key=True),
    Column("channel", String(32), primary_key=True),
    _counter("received"), _counter("closed"), _counter("closed_timed"), _counter("closed_on_time"),
    _counter("close_days"), _counter("cancelled"), _counter("merged"), _counter("extensions"),
    _counter("transfers_in"), _counter("transfers_out"), _counter("surveys"), _counter("satisfied"),
    _counter("reviews"), _counter("sent_back"),
)

#: Cases closed per local day, agency and unit by working days taken: the median's histogram.
report_close_days = Table(
    "report_close_days", metadata,
    Column("day", Date, primary_key=True),
    Column("agency_id", Id, primary_key=True, autoincrement=False),
    Column("unit_id", Id, primary_key=True, autoincrement=False),
    Column("working_days", Integer, primary_key=True, autoincrement=False),
    _counter("closed"),
)

#: Cases received per month (its first day), agency, case type, category and district (民怨 hot spots).
report_hotspot_months = Table(
    "report_hotspot_months", metadata,
    Column("month", Date, primary_key=True),
    Column("agency_id", Id, primary_key=True, autoincrement=False),
    Column("case_type", String(32), primary_key=True),
    Column("category", String(64), primary_key=True),
    Column("district", String(32), primary_key=True),
    _counter("received"), _counter("repeated"),
)

#: 1999 calls per local day, hour of the day and outcome ('' while the call is open).
report_call_hours = Table(
    "report_call_hours", metadata,
    Column("day", Date, primary_key=True),
    Column("hour", Integer, primary_key=True, autoincrement=False),
    Column("outcome", String(32), primary_key=True),
    _counter("calls"),
)

#: Council items (議員質詢/議決案) per session: one row per item (agency 0: its kind, whether it is still
#: tracked, released or replied and closed) and one per bureau it was assigned to (replied, on time).
report_council = Table(
    "report_council", metadata,
    Column("session", String(100), primary_key=True),
    Column("item_kind", String(32), primary_key=True),
    Column("case_id", Id, primary_key=True, autoincrement=False),
    Column("agency_id", Id, primary_key=True, autoincrement=False),
    _counter("items"), _counter("tracked"), _counter("released"), _counter("replied_closed"),
    _counter("assigned"), _counter("replied"), _counter("replied_on_time"),
)

#: Site inspections (會勘) per half-year ('2026H2', by the day of the inspection) and councillor's office
#: ('' when an agency asked for it): one row (agency 0) for the inspections themselves, and per agency
#: the inspections it was invited to and its follow-up items, done or not.
report_site_inspections = Table(
    "report_site_inspections", metadata,
    Column("half", String(7), primary_key=True),
    Column("office", String(100), primary_key=True),
    Column("agency_id", Id, primary_key=True, autoincrement=False),
    _counter("inspections"), _counter("declined"), _counter("invited"), _counter("follow_ups"),
    _counter("follow_ups_done"),
)

#: Repeated petitions on the same matter: an earlier case of the same petitioner and category.
Index("ix_cases_petitioner_id_category", cases.c.petitioner_id, cases.c.category)
#: The reports' open and overdue cases now, per agency and unit: read from the index alone.
_partial("ix_cases_open_agency_unit_due", cases, "agency_id", "unit_id", "due_at", "case_type", where=_OPEN)
