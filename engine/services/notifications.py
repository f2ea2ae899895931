"""Notifications: queued in the outbox with the change that causes them, delivered after commit.

Each delivery takes the outbox row's lease, so two messages for one row never deliver it
twice at once; the outcome is recorded (sent, a failed attempt, or failed for good with an
incident). In-app notices are rows of `notifications`, written here in the delivery's own
transaction; e-mail and webhooks leave through adapters in handlers/.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..errors import Forbidden, InvalidInput, NotFound
from engine.accounts.identity import Principal
from engine.cases.history import event
from engine.store.outbox import RELAY, queue_message
from engine.store.schema import case_events, outbox, users
from engine.store.schema import notifications
from .incidents import NOTIFICATION_FAILED, open_incident

#: How long a worker holds a row it is delivering: longer than any adapter's timeout.
DELIVERY_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Delivery:
    """An outbox row a worker has leased to deliver."""

    id: int
    topic: str
    dedup_key: str
    payload: dict
    attempts: int


@dataclass(frozen=True)
class Notice:
    """An in-app notification as its reader sees it."""

    id: int
    kind: str
    title: str
    body: str | None
    case_id: int | None
    work_item_id: int | None
    created_at: datetime
    read_at: datetime | None
    to_group: bool


def queue_in_app(uow, *, dedup_key: str, kind: str, title: str, body: str | None = None,
                 user_id: int | None = None, role: str | None = None, agency_id: int | None = None,
                 case_id: int | None = None, work_item_id: int | None = None) -> int | None:
    """Queue an in-app notice to a user, or to a role (in an agency); None if queued before."""
    if user_id is None and role is None:
        raise InvalidInput("an in-app notification needs a user or a role")
    return queue_message(uow, "in_app", {
        "user_id": user_id, "role": role, "agency_id": agency_id, "case_id": case_id,
        "work_item_id": work_item_id, "kind": kind, "title": title[:200], "body": body}, dedup_key)


def queue_email(uow, *, dedup_key: str, subject: str, body: str, to: str | None = None,
                user_id: int | None = None, case_id: int | None = None) -> int | None:
    """Queue an e-mail to an address, or to a user's address read at delivery; None if queued before."""
    return queue_message(uow, "email", email_payload(subject=subject, body=body, to=to, user_id=user_id,
                                                     case_id=case_id), dedup_key)


def email_payload(*, subject: str, body: str, to: str | None = None, user_id: int | None = None,
                  case_id: int | None = None) -> dict:
    """What an e-mail's outbox message carries; raises InvalidInput without an address or a user."""
    if to is None and user_id is None:
        raise InvalidInput("an e-mail needs an address or a user")
    return {"to": to, "user_id": user_id, "subject": subject, "body": body, "case_id": case_id}


def claim_delivery(uow, outbox_id: int, owner: str, lease: timedelta = DELIVERY_LEASE) -> Delivery | None:
    """Lease a pending row to owner for one delivery attempt.

    Returns None, changing nothing, when the row is gone, already sent or failed, or being
    delivered by another worker right now.
    """
    now = uow.clock.now()
    row = uow.conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id, outbox.c.status == "pending",
               or_(outbox.c.lease_owner.is_(None), outbox.c.lease_owner.in_([RELAY, owner]),
                   outbox.c.lease_expires_at < now))
        .values(lease_owner=owner, lease_expires_at=now + lease, attempts=outbox.c.attempts + 1)
        .returning(outbox.c.id, outbox.c.topic, outbox.c.dedup_key, outbox.c.payload, outbox.c.attempts)
    ).one_or_none()
    if row is None:
        return None
    payload = dict(row.payload)
    if row.topic == "email" and not payload.get("to") and payload.get("user_id") is not None:
        # Staff addresses are read at delivery, so a changed address is used at once.
        payload["to"] = uow.conn.execute(
            select(users.c.email).where(users.c.id == payload["user_id"])).scalar_one_or_none()
    return Delivery(row.id, row.topic, row.dedup_key, payload, row.attempts)


def _insert_ignoring_duplicates(uow, table):
    insert_fn = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    return insert_fn(table).on_conflict_do_nothing(index_elements=["dedup_key"])


def deliver_in_app(uow, delivery: Delivery) -> None:
    """Write the notice of an in-app delivery and mark the row sent, in one transaction."""
    p = delivery.payload
    uow.conn.execute(_insert_ignoring_duplicates(uow, notifications), {
        "user_id": p.get("user_id"), "role": p.get("role"), "agency_id": p.get("agency_id"),
        "case_id": p.get("case_id"), "work_item_id": p.get("work_item_id"), "kind": p.get("kind", "notice"),
        "title": (p.get("title") or "")[:200], "body": p.get("body"), "dedup_key": delivery.dedup_key,
        "created_at": uow.clock.now()})
    mark_delivered(uow, delivery.id)


def mark_delivered(uow, outbox_id: int) -> bool:
    """Mark a pending row sent and note it in its case's history; False if it was not pending."""
    now = uow.clock.now()
    row = uow.conn.execute(
        update(outbox).where(outbox.c.id == outbox_id, outbox.c.status == "pending")
        .values(status="sent", sent_at=now, lease_owner=None, lease_expires_at=None)
        .returning(outbox.c.topic, outbox.c.dedup_key, outbox.c.payload)
    ).one_or_none()
    if row is None:
        return False
    case_id = (row.payload or {}).get("case_id")
    if case_id is not None:
        uow.conn.execute(insert(case_events), event(case_id, now, "notification_sent", topic=row.topic,
                                                    dedup_key=row.dedup_key, outbox_id=outbox_id))
    return True


def record_failed_attempt(uow, outbox_id: int, owner: str, error: str, hold: timedelta) -> None:
    """Note a failed attempt and hand the row back to its retry for `hold`.

    Until then the relay sweep leaves the row alone (the retry is on its way); after it, the
    sweep sends the row again, in case the retry was lost with the broker.
    """
    uow.conn.execute(
        update(outbox).where(outbox.c.id == outbox_id, outbox.c.status == "pending",
                             outbox.c.lease_owner == owner)
        .values(last_error=error[:4000], lease_owner=RELAY, lease_expires_at=uow.clock.now() + hold))


def fail_delivery(uow, outbox_id: int, error: str | None = None, *, owner: str | None = None,
                  default_error: str | None = None) -> int | None:
    """Give a pending row up: mark it failed and open an incident; returns the incident's id.

    error replaces the row's last error; default_error is used when the row has none (the
    attempts failed before reaching an adapter). Returns None, changing nothing, when the
    row is not pending or another worker is delivering it right now (its outcome decides).
    """
    now = uow.clock.now()
    holders = [RELAY] if owner is None else [RELAY, owner]
    values = {"status": "failed", "lease_owner": None, "lease_expires_at": None}
    if error is not None:
        values["last_error"] = error[:4000]
    elif default_error is not None:
        values["last_error"] = func.coalesce(outbox.c.last_error, default_error[:4000])
    row = uow.conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id, outbox.c.status == "pending",
               or_(outbox.c.lease_owner.is_(None), outbox.c.lease_owner.in_(holders),
                   outbox.c.lease_expires_at < now))
        .values(**values)
        .returning(outbox.c.topic, outbox.c.payload, outbox.c.attempts, outbox.c.last_error)
    ).one_or_none()
    if row is None:
        return None
    return open_incident(uow, kind=NOTIFICATION_FAILED, subject_table="outbox", subject_id=outbox_id,
                         message=f"{row.topic}: {row.last_error or 'delivery failed'}",
                         case_id=(row.payload or {}).get("case_id"), attempts=row.attempts)


def _addressed_to(principal: Principal):
    """The notices a principal reads: their own, and those of each (role, agency) they hold."""
    clauses = []
    if principal.user_id is not None:
        clauses.append(notifications.c.user_id == principal.user_id)
    for role, agency_id in sorted(principal.roles, key=str):
        clauses.append(notifications.c.role == role if agency_id is None
                       else and_(notifications.c.role == role, notifications.c.agency_id == agency_id))
    return or_(*clauses) if clauses else None


def list_notifications(uow, principal: Principal, *, unread_only: bool = False, limit: int = 50) -> list[Notice]:
    """A principal's notices, newest first; group notices resolve membership now, as the inbox does."""
    addressed = _addressed_to(principal)
    if addressed is None:
        return []
    query = select(notifications).where(addressed)
    if unread_only:
        query = query.where(notifications.c.read_at.is_(None))
    rows = uow.conn.execute(query.order_by(notifications.c.created_at.desc(), notifications.c.id.desc())
                            .limit(limit))
    return [Notice(r.id, r.kind, r.title, r.body, r.case_id, r.work_item_id, r.created_at, r.read_at,
                   to_group=r.user_id is None) for r in rows]


def mark_read(uow, notification_id: int, principal: Principal) -> bool:
    """Mark a notice read (for the whole group, if a group notice); False if it was read already.

    Raises NotFound, or Forbidden when the notice is not addressed to the principal.
    """
    exists = uow.conn.execute(select(notifications.c.id).where(notifications.c.id == notification_id))
    if exists.scalar_one_or_none() is None:
        raise NotFound(f"notification {notification_id} does not exist")
    addressed = _addressed_to(principal)
    if addressed is None or uow.conn.execute(select(notifications.c.id).where(
            notifications.c.id == notification_id, addressed)).scalar_one_or_none() is None:
        raise Forbidden(f"notification {notification_id} is not addressed to {principal.username}")
    return uow.conn.execute(
        update(notifications).where(notifications.c.id == notification_id, notifications.c.read_at.is_(None))
        .values(read_at=uow.clock.now(), read_by=principal.user_id).returning(notifications.c.id)
    ).scalar_one_or_none() is not None
