"""The transactional outbox: messages written with the change that causes them, sent after commit.

A service queues a message in its unit of work; once that commits, the message's id is handed
to the publisher registered for the database (the Dramatiq actor in a running petiflow). A
send lost between commit and broker (a crash, a Redis flush) is found again by the relay
sweep, which claims pending rows older than a few seconds (handlers/relay.py).
"""
from __future__ import annotations

import logging
import weakref
from datetime import timedelta
from typing import Callable

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from engine import correlation
from engine.errors import InvalidInput
from engine.store.schema import outbox

log = logging.getLogger(__name__)

#: Topics an outbox row may carry, each delivered its own way (handlers/notification_actors.py).
TOPICS = frozenset({"email", "in_app", "webhook", "sms"})

#: The payload key keeping the correlation id (the request id) of what queued the message; the
#: delivering worker logs under it, and it is taken out of the payload delivered.
CORRELATION_KEY = "_correlation_id"

#: The lease owner meaning "a message for this row is in flight": a delivery may take the
#: row, the relay sweep leaves it alone until the lease ends.
RELAY = "relay"

#: How long the sweep waits for a message it sent before sending another.
DEFAULT_RELAY_LEASE = timedelta(minutes=5)

_publishers: "weakref.WeakKeyDictionary[object, Callable[[int], None]]" = weakref.WeakKeyDictionary()


def _upsert(insert_fn):
    return (insert_fn(outbox).on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(outbox.c.id))


# Built once per dialect; both dialects spell "ignore a duplicate key" the same way.
_queue = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


def set_publisher(db, publish: Callable[[int], None] | None) -> None:
    """Hand the id of each message committed on this engine to publish (None: to the relay sweep only)."""
    if publish is None:
        _publishers.pop(db, None)
    else:
        _publishers[db] = publish


def queue_message(uow, topic: str, payload: dict, dedup_key: str) -> int | None:
    """Write a message into the outbox in the current transaction; it is sent after commit.

    Returns the new row's id, or None when a message with this dedup_key was queued before
    (the same reminder is never queued twice). Raises InvalidInput for an unknown topic or
    a dedup key that does not fit.
    """
    check_message(topic, dedup_key)
    written = insert_messages(uow, [message_row(topic, payload, dedup_key, uow.clock.now())])
    return written[0] if written else None


def check_message(topic: str, dedup_key: str) -> None:
    """Raises InvalidInput for an unknown topic or a dedup key that does not fit."""
    if topic not in TOPICS:
        raise InvalidInput(f"unknown outbox topic {topic!r}", details={"topics": sorted(TOPICS)})
    if not dedup_key or len(dedup_key) > outbox.c.dedup_key.type.length:
        raise InvalidInput("an outbox dedup key must have 1 to 200 characters")


def message_row(topic: str, payload: dict, dedup_key: str, now, *, correlate: bool = True) -> dict:
    """The outbox row of a new message, its payload keeping the correlation id bound now unless `correlate`
    is False (a step's messages kept the one bound when they were queued)."""
    return {"topic": topic, "dedup_key": dedup_key, "payload": correlated(payload) if correlate else payload,
            "status": "pending", "attempts": 0, "created_at": now}


def correlated(payload: dict) -> dict:
    """The payload with the current correlation id kept in it (unchanged when none is bound)."""
    found = correlation.current()
    return payload if found is None or CORRELATION_KEY in payload else {**payload, CORRELATION_KEY: found}


def split_correlation(payload: dict) -> tuple[dict, str | None]:
    """The payload as queued, and the correlation id kept in it (None if none)."""
    if CORRELATION_KEY not in payload:
        return payload, None
    rest = dict(payload)
    return rest, rest.pop(CORRELATION_KEY)


def insert_messages(uow, rows: list[dict]) -> list[int]:
    """Write messages not queued before (by dedup key) and send each after commit; returns their ids."""
    ids = [new_id for row in rows
           if (new_id := uow.conn.execute(_queue[uow.dialect], row).scalar_one_or_none()) is not None]
    for new_id in ids:
        publish_after_commit(uow, new_id)
    return ids


def queued_before(uow, dedup_key: str) -> bool:
    """True if a message with this dedup key is in the outbox already."""
    return uow.conn.execute(select(outbox.c.id).where(outbox.c.dedup_key == dedup_key)).first() is not None


def publish_after_commit(uow, outbox_id: int) -> None:
    """Hand outbox_id to the publisher once the unit of work commits (never if it rolls back)."""
    db = uow.db

    def publish() -> None:
        send = _publishers.get(db)
        if send is None:
            return
        try:
            send(outbox_id)
        except Exception:
            # The row is committed and pending: the relay sweep sends it later.
            log.warning("could not hand outbox message %s to the broker; the relay will", outbox_id,
                        exc_info=True)

    uow.after_commit(publish)


def claim_unsent(uow, *, older_than: timedelta, limit: int = 100,
                 lease: timedelta = DEFAULT_RELAY_LEASE) -> list[int]:
    """Lease pending messages older than older_than that nobody holds; returns their ids.

    The caller sends each id after commit. Several sweeps may run at once: PostgreSQL skips
    rows another sweep holds (FOR UPDATE SKIP LOCKED), SQLite serialises writers.
    """
    now = uow.clock.now()
    ids = (
        select(outbox.c.id)
        .where(outbox.c.status == "pending", outbox.c.created_at <= now - older_than,
               or_(outbox.c.lease_expires_at.is_(None), outbox.c.lease_expires_at < now))
        .order_by(outbox.c.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).scalar_subquery()
    claimed = uow.conn.execute(
        update(outbox).where(outbox.c.id.in_(ids))
        .values(lease_owner=RELAY, lease_expires_at=now + lease)
        .returning(outbox.c.id)
    ).scalars().all()
    return sorted(claimed)


def release_unsent(uow, outbox_ids) -> int:
    """Give back the relay's leases on pending messages it could not send; returns how many."""
    if not outbox_ids:
        return 0
    return uow.conn.execute(
        update(outbox).where(outbox.c.id.in_(list(outbox_ids)), outbox.c.status == "pending",
                             outbox.c.lease_owner == RELAY)
        .values(lease_owner=None, lease_expires_at=None)
    ).rowcount


def reset_to_pending(uow, outbox_id: int) -> bool:
    """Make a failed message pending again and send it after commit; False if it was not failed."""
    reset = uow.conn.execute(
        update(outbox).where(and_(outbox.c.id == outbox_id, outbox.c.status == "failed"))
        .values(status="pending", attempts=0, lease_owner=None, lease_expires_at=None)
        .returning(outbox.c.id)
    ).scalar_one_or_none()
    if reset is None:
        return False
    publish_after_commit(uow, outbox_id)
    return True
