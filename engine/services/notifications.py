"""Notifications: queued in the outbox with the change that causes them, delivered after commit.

Each delivery takes the outbox row's lease, so two messages for one row never deliver it
twice at once; the outcome is recorded (sent, a failed attempt, or failed for good with an
incident). In-app notices are rows of `notifications`, written here in the delivery's own
transaction; e-mail and webhooks leave through adapters in handlers/.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from engine.accounts.identity import Principal
from engine.cases.history import event
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.queries.notifications import addressed_to
from engine.services.incidents import NOTIFICATION_FAILED, OpenIncident, open_incident
from engine.store import outbox as outbox_queue
from engine.store.outbox import DEFAULT_RELAY_LEASE, RELAY, queue_message, split_correlation
from engine.store.schema import case_events, notifications, outbox, users

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
    #: The id of the request (or message) that queued it, for the delivering worker's log lines.
    correlation_id: str | None = None


@dataclass(frozen=True)
class QueueInApp:
    """Send an in-app notice to a user, or to the holders of a role (in an agency), after commit."""

    dedup_key: str
    kind: str
    title: str
    body: str | None = None
    user_id: int | None = None
    role: str | None = None
    agency_id: int | None = None
    case_id: int | None = None
    work_item_id: int | None = None


@dataclass(frozen=True)
class QueueEmail:
    """Send an e-mail to an address, or to a user's address read at delivery, after commit."""

    dedup_key: str
    subject: str
    body: str
    to: str | None = None
    user_id: int | None = None
    case_id: int | None = None


@dataclass(frozen=True)
class ClaimDelivery:
    """Lease a pending outbox row to `owner` for one delivery attempt."""

    outbox_id: int
    owner: str
    lease: timedelta = DELIVERY_LEASE


@dataclass(frozen=True)
class DeliverInApp:
    """Write the notice of a leased in-app delivery and mark its row sent."""

    delivery: Delivery


@dataclass(frozen=True)
class MarkDelivered:
    """Mark a pending outbox row sent."""

    outbox_id: int


@dataclass(frozen=True)
class RecordFailedAttempt:
    """Note a failed delivery attempt and hand the row back to its retry for `hold`."""

    outbox_id: int
    owner: str
    error: str
    hold: timedelta


@dataclass(frozen=True)
class FailDelivery:
    """Give an outbox row up: mark it failed and open an incident."""

    outbox_id: int
    error: str | None = None
    owner: str | None = None
    default_error: str | None = None


@dataclass(frozen=True)
class ClaimUnsent:
    """Lease pending messages older than `older_than` that nobody holds, for the relay to send again."""

    older_than: timedelta
    limit: int = 100
    lease: timedelta = DEFAULT_RELAY_LEASE


@dataclass(frozen=True)
class ReleaseUnsent:
    """Give back the relay's leases on messages it could not send."""

    outbox_ids: tuple[int, ...]


@dataclass(frozen=True)
class MarkRead:
    """Mark a notice read by the principal (for the whole group, if a group notice)."""

    notification_id: int
    principal: Principal


def queue_in_app(cmd: QueueInApp, uow) -> int | None:
    """Queue an in-app notice; None if queued before. Raises InvalidInput without a user or a role."""
    if cmd.user_id is None and cmd.role is None:
        raise InvalidInput("an in-app notification needs a user or a role")
    return queue_message(uow, "in_app", {
        "user_id": cmd.user_id, "role": cmd.role, "agency_id": cmd.agency_id, "case_id": cmd.case_id,
        "work_item_id": cmd.work_item_id, "kind": cmd.kind, "title": cmd.title[:200], "body": cmd.body},
        cmd.dedup_key)


def queue_email(cmd: QueueEmail, uow) -> int | None:
    """Queue an e-mail to an address, or to a user's address read at delivery; None if queued before."""
    return queue_message(uow, "email", email_payload(subject=cmd.subject, body=cmd.body, to=cmd.to,
                                                     user_id=cmd.user_id, case_id=cmd.case_id), cmd.dedup_key)


#: What a secret an e-mail carried reads as in its outbox row once the e-mail is sent.
WITHHELD = "[已遮蔽 withheld]"


def email_payload(*, subject: str, body: str, to: str | None = None, user_id: int | None = None,
                  case_id: int | None = None, secrets: tuple[str, ...] = ()) -> dict:
    """What an e-mail's outbox message carries; raises InvalidInput without an address or a user.

    `secrets` (a lookup code, say) are texts of the body the database keeps only until the e-mail
    is sent: the row then reads WITHHELD in their place (mark_delivered).
    """
    if to is None and user_id is None:
        raise InvalidInput("an e-mail needs an address or a user")
    payload = {"to": to, "user_id": user_id, "subject": subject, "body": body, "case_id": case_id}
    if secrets:
        payload["secrets"] = [s for s in secrets if s]
    return payload


def _withheld(payload: dict) -> dict:
    """The payload with its secrets taken out of its texts, and the list of them gone."""
    kept = {k: v for k, v in payload.items() if k != "secrets"}
    for secret in payload.get("secrets") or ():
        for field in ("subject", "body"):
            if isinstance(kept.get(field), str):
                kept[field] = kept[field].replace(secret, WITHHELD)
    return kept


def claim_delivery(cmd: ClaimDelivery, uow) -> Delivery | None:
    """Lease a pending row to owner for one delivery attempt.

    Returns None, changing nothing, when the row is gone, already sent or failed, or being
    delivered by another worker right now.
    """
    now, outbox_id, owner, lease = uow.clock.now(), cmd.outbox_id, cmd.owner, cmd.lease
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
    payload, correlation_id = split_correlation(dict(row.payload))
    if row.topic == "email" and not payload.get("to") and payload.get("user_id") is not None:
        # Staff addresses are read at delivery, so a changed address is used at once.
        payload["to"] = uow.conn.execute(
            select(users.c.email).where(users.c.id == payload["user_id"])).scalar_one_or_none()
    return Delivery(row.id, row.topic, row.dedup_key, payload, row.attempts, correlation_id)


def _insert_ignoring_duplicates(uow, table):
    insert_fn = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    return insert_fn(table).on_conflict_do_nothing(index_elements=["dedup_key"])


def deliver_in_app(cmd: DeliverInApp, uow) -> None:
    """Write the notice of an in-app delivery and mark the row sent, in one transaction."""
    delivery = cmd.delivery
    p = delivery.payload
    uow.conn.execute(_insert_ignoring_duplicates(uow, notifications), {
        "user_id": p.get("user_id"), "role": p.get("role"), "agency_id": p.get("agency_id"),
        "case_id": p.get("case_id"), "work_item_id": p.get("work_item_id"), "kind": p.get("kind", "notice"),
        "title": (p.get("title") or "")[:200], "body": p.get("body"), "dedup_key": delivery.dedup_key,
        "created_at": uow.clock.now()})
    mark_delivered(MarkDelivered(delivery.id), uow)


def mark_delivered(cmd: MarkDelivered, uow) -> bool:
    """Mark a pending row sent, take the secrets its e-mail carried out of it, and note it in its
    case's history; False if it was not pending."""
    now, outbox_id = uow.clock.now(), cmd.outbox_id
    row = uow.conn.execute(
        update(outbox).where(outbox.c.id == outbox_id, outbox.c.status == "pending")
        .values(status="sent", sent_at=now, lease_owner=None, lease_expires_at=None)
        .returning(outbox.c.topic, outbox.c.dedup_key, outbox.c.payload)
    ).one_or_none()
    if row is None:
        return False
    if (row.payload or {}).get("secrets"):
        uow.conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(payload=_withheld(row.payload)))
    case_id = (row.payload or {}).get("case_id")
    if case_id is not None:
        uow.conn.execute(insert(case_events), event(case_id, now, "notification_sent", topic=row.topic,
                                                    dedup_key=row.dedup_key, outbox_id=outbox_id))
    return True


def record_failed_attempt(cmd: RecordFailedAttempt, uow) -> None:
    """Note a failed attempt and hand the row back to its retry for `hold`.

    Until then the relay sweep leaves the row alone (the retry is on its way); after it, the
    sweep sends the row again, in case the retry was lost with the broker.
    """
    uow.conn.execute(
        update(outbox).where(outbox.c.id == cmd.outbox_id, outbox.c.status == "pending",
                             outbox.c.lease_owner == cmd.owner)
        .values(last_error=cmd.error[:4000], lease_owner=RELAY, lease_expires_at=uow.clock.now() + cmd.hold))


def fail_delivery(cmd: FailDelivery, uow) -> int | None:
    """Give a pending row up: mark it failed and open an incident; returns the incident's id.

    error replaces the row's last error; default_error is used when the row has none (the
    attempts failed before reaching an adapter). Returns None, changing nothing, when the
    row is not pending or another worker is delivering it right now (its outcome decides).
    """
    now, outbox_id, error, default_error = uow.clock.now(), cmd.outbox_id, cmd.error, cmd.default_error
    holders = [RELAY] if cmd.owner is None else [RELAY, cmd.owner]
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
    return open_incident(OpenIncident(NOTIFICATION_FAILED, "outbox", outbox_id,
                                      f"{row.topic}: {row.last_error or 'delivery failed'}",
                                      case_id=(row.payload or {}).get("case_id"), attempts=row.attempts), uow)


def claim_unsent(cmd: ClaimUnsent, uow) -> list[int]:
    """Lease unsent messages for the relay; returns their ids, to be sent after commit."""
    return outbox_queue.claim_unsent(uow, older_than=cmd.older_than, limit=cmd.limit, lease=cmd.lease)


def release_unsent(cmd: ReleaseUnsent, uow) -> int:
    """Give back the leases of messages the relay could not send; returns how many."""
    return outbox_queue.release_unsent(uow, cmd.outbox_ids)


def mark_read(cmd: MarkRead, uow) -> bool:
    """Mark a notice read (for the whole group, if a group notice); False if it was read already.

    Raises NotFound, or Forbidden when the notice is not addressed to the principal.
    """
    notification_id, principal = cmd.notification_id, cmd.principal
    exists = uow.conn.execute(select(notifications.c.id).where(notifications.c.id == notification_id))
    if exists.scalar_one_or_none() is None:
        raise NotFound(f"notification {notification_id} does not exist")
    addressed = addressed_to(principal)
    if addressed is None or uow.conn.execute(select(notifications.c.id).where(
            notifications.c.id == notification_id, addressed)).scalar_one_or_none() is None:
        raise Forbidden(f"notification {notification_id} is not addressed to {principal.username}")
    return uow.conn.execute(
        update(notifications).where(notifications.c.id == notification_id, notifications.c.read_at.is_(None))
        .values(read_at=uow.clock.now(), read_by=principal.user_id).returning(notifications.c.id)
    ).scalar_one_or_none() is not None
