"""Tables of in-app notifications and of incidents (failures a supervisor must see and retry).

Defined on engine.store.schema.metadata, so Alembic and the services see one schema.
"""
from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Index, Integer, String, Table, Text

from engine.store.schema import Id, UTCDateTime, _fk, _pk, metadata

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

