"""Dramatiq actors delivering outbox messages: an outbox id in, the row re-read, sent at most once.

Import only after handlers.broker.install_broker(), or bind_to() a broker made later.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import timedelta

import dramatiq

from engine import correlation
from engine.errors import DeliveryRejected
from engine.services.notifications import (
    ClaimDelivery,
    DeliverInApp,
    Delivery,
    FailDelivery,
    MarkDelivered,
    RecordFailedAttempt,
    claim_delivery,
    deliver_in_app,
    fail_delivery,
    mark_delivered,
    record_failed_attempt,
)
from engine.settings import EmailSettings, SmsSettings, WebhookSettings

from .notify_email import send_email
from .notify_sms import send_sms
from .notify_webhook import send_webhook
from .outage import is_broker_outage, outage_reason, retry_quietly_while_the_database_is_down
from .runtime import get_runtime

log = logging.getLogger(__name__)

#: The queue of every notification actor (the retries-exhausted hook included).
QUEUE = "notifications"

#: About two hours of retries (30 s, 1, 2, 4 ... 60 min) before an incident opens.
MAX_RETRIES = 8
MIN_BACKOFF_MS = 30_000
MAX_BACKOFF_MS = 3_600_000

#: Longer than the SMTP and webhook timeouts, shorter than the delivery lease.
TIME_LIMIT_MS = 120_000

#: Slack added to a retry's longest possible backoff before the relay may send the row again.
RETRY_MARGIN = timedelta(minutes=1)


@dataclass(frozen=True)
class Channels:
    """The settings of the adapters that take messages out of petiflow."""

    email: EmailSettings = field(default_factory=EmailSettings)
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)


def channels_for(runtime) -> Channels:
    """The runtime's channels (settings.extra["channels"], as tests pass), else its settings'."""
    settings = runtime.settings
    return settings.extra.get("channels") or Channels(settings.email, settings.webhook, settings.sms)


def worker_name() -> str:
    """The lease owner of a delivery: tells an operator which thread of which process holds a row."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _send(delivery: Delivery, channels: Channels) -> None:
    if delivery.topic == "email":
        send_email(delivery, channels.email)
    elif delivery.topic == "webhook":
        send_webhook(delivery, channels.webhook)
    elif delivery.topic == "sms":
        send_sms(delivery, channels.sms)
    else:
        raise DeliveryRejected(f"no adapter delivers topic {delivery.topic!r}")


def retry_hold(attempts: int) -> timedelta:
    """How long the relay leaves a row alone after a failed attempt: its retry's longest backoff.

    Dramatiq waits at most twice min_backoff * 2**retries (capped at max_backoff), and the
    row's attempts are never fewer than the message's retries + 1.
    """
    options = deliver_notification.options
    longest = min(options["min_backoff"] * 2 ** min(attempts, 32), options["max_backoff"])
    return timedelta(milliseconds=longest) + RETRY_MARGIN


def deliver(runtime, outbox_id: int, *, owner: str | None = None) -> bool:
    """Deliver one outbox row unless it is sent, failed or being delivered; True if it was sent now.

    Raises DeliveryRejected after failing the row for good (an incident opens), or the
    adapter's error after recording the failed attempt (the message is retried).
    """
    owner = owner or worker_name()
    with runtime.uow() as uow:
        delivery = claim_delivery(ClaimDelivery(outbox_id, owner), uow)
        if delivery is None:
            log.debug("outbox %s is sent, failed or being delivered; nothing to do", outbox_id)
            return False
        if delivery.topic == "in_app":
            deliver_in_app(DeliverInApp(delivery), uow)  # a row in our own database: one transaction does it
            uow.commit()
            log.info("outbox %s delivered (in_app)", outbox_id)
            return True
        uow.commit()
    # The row remembers the request that queued it: a message the relay sent again carries no id.
    with correlation.bound(delivery.correlation_id or correlation.current()):
        return _hand_over(runtime, delivery, owner)


def _hand_over(runtime, delivery: Delivery, owner: str) -> bool:
    """Send a claimed delivery through its adapter and record how it went; True when sent."""
    outbox_id = delivery.id
    # No transaction is open while the adapter talks to the outside world; the lease guards the row.
    try:
        _send(delivery, channels_for(runtime))
    except DeliveryRejected as exc:
        with runtime.uow() as uow:
            fail_delivery(FailDelivery(outbox_id, str(exc), owner=owner), uow)
            uow.commit()
        raise
    except Exception as exc:
        with runtime.uow() as uow:
            record_failed_attempt(RecordFailedAttempt(outbox_id, owner, f"{type(exc).__name__}: {exc}",
                                  retry_hold(delivery.attempts)), uow)
            uow.commit()
        raise
    with runtime.uow() as uow:
        mark_delivered(MarkDelivered(outbox_id), uow)
        uow.commit()
    log.info("outbox %s delivered (%s)", outbox_id, delivery.topic)
    return True


@dramatiq.actor(queue_name=QUEUE, max_retries=MAX_RETRIES, min_backoff=MIN_BACKOFF_MS,
                max_backoff=MAX_BACKOFF_MS, time_limit=TIME_LIMIT_MS, throws=(DeliveryRejected,),
                on_retry_exhausted="give_up_notification")
def deliver_notification(outbox_id: int) -> None:
    """Deliver an outbox message; does nothing if it was sent already or is being sent."""
    with retry_quietly_while_the_database_is_down(f"outbox {outbox_id}"):
        deliver(get_runtime(), outbox_id)


def failure_summary(message_data: dict, retry_info: dict) -> str:
    """What an on_retry_exhausted hook knows of the last failure: the exception line of its traceback."""
    lines = (message_data.get("options", {}).get("traceback") or "").splitlines()
    # The exception's first line follows the last frame's indented lines; the lines after it
    # (SQL and its parameters, say) are left out.
    frames = [i for i, line in enumerate(lines) if line.startswith("  File ")]
    after_frames = lines[frames[-1] + 1:] if frames else lines
    header = next((line for line in after_frames if line.strip() and not line.startswith(" ")), "unknown error")
    return f"{header} (gave up after {retry_info.get('retries', 0) + 1} attempts)"


@dramatiq.actor(queue_name=QUEUE, max_retries=5, min_backoff=1_000)
def give_up_notification(message_data: dict, retry_info: dict) -> None:
    """Fail the outbox row of a message whose retries ran out, and open an incident for it."""
    outbox_id = message_data["args"][0]
    with retry_quietly_while_the_database_is_down(f"giving up outbox {outbox_id}"), get_runtime().uow() as uow:
        if fail_delivery(FailDelivery(outbox_id, default_error=failure_summary(message_data, retry_info)), uow) is not None:
            uow.commit()


def publish_deliveries(runtime) -> None:
    """Send each outbox message committed through this runtime to deliver_notification.

    While Redis cannot be reached, one warning line says so and the message waits, committed
    and pending, for the relay sweep; any other failure is left to the outbox to log in full.
    """
    def publish(outbox_id: int) -> None:
        try:
            deliver_notification.send(outbox_id)
        except Exception as exc:
            if not is_broker_outage(exc):
                raise
            log.warning("outbox message %s: %s; the relay will send it", outbox_id,
                        outage_reason(exc, runtime.settings.redis_url))

    runtime.set_publisher(publish)


#: Every actor of this module, for binding to a broker created after import.
ALL_ACTORS = (deliver_notification, give_up_notification)


def bind_to(broker) -> None:
    """Move the actors to a broker created after this module was imported (embedded mode, tests)."""
    for actor in ALL_ACTORS:
        actor.broker = broker
        broker.declare_actor(actor)
