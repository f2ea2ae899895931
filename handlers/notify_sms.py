"""SMS through an HTTP gateway: one text message per outbox row, sent once whatever the retries.

The outbox row (topic "sms") carries `to` (a mobile number in E.164, +8869xxxxxxxx), `text`
and the case. The gateway's API, which Taiwanese SMS providers offer in some form and a
small relay can adapt to:

    POST <PETIFLOW_SMS_URL>
    Authorization: Bearer <PETIFLOW_SMS_KEY>
    Idempotency-Key: <hex SHA-256 of the row's dedup key, the same for every attempt>
    Content-Type: application/json; charset=utf-8

    {"to": "+886912345678", "text": "您的查報（D20261126000001）已受理……", "sender": "<PETIFLOW_SMS_SENDER or null>",
     "reference": "<the same hex digest>"}

A 2xx answer is success. 408, 425, 429 and 5xx answers, a timeout or a network error fail the
attempt (retried with backoff); any other answer (a 401 for a wrong key, a 400 for a number the
gateway refuses) is a refusal for good and opens an incident. The number is personal data: an
error text shows only its first digits.

Settings come from the environment, read once into engine.settings.Settings.sms:

| variable | default | meaning |
|---|---|---|
| PETIFLOW_SMS_URL | unset | the gateway's endpoint; unset means SMS is not configured (incidents) |
| PETIFLOW_SMS_KEY | unset | the API key sent as a bearer token; required with a URL |
| PETIFLOW_SMS_SENDER | unset | a sender name or number, when the gateway allows one |
| PETIFLOW_SMS_TIMEOUT | 10 | seconds before a silent gateway counts as a failed attempt |
"""
from __future__ import annotations

import hashlib
import json
import re
import urllib.request

from engine.errors import DeliveryRejected
from engine.services.notifications import Delivery
from engine.settings import SmsSettings

from .http_post import post

#: What the gateway is given: E.164 mobile numbers of Taiwan.
_E164_MOBILE = re.compile(r"\+8869\d{8}")

#: A gateway counts characters; 70 UCS-2 characters make one SMS, longer texts go in parts.
MAX_TEXT = 335  # five parts of 67 characters




def _shown(number) -> str:
    return f"{str(number)[:5]}***"


def request_for(delivery: Delivery, settings: SmsSettings) -> urllib.request.Request:
    """The gateway request of an outbox row; raises DeliveryRejected for a number or text it cannot send."""
    payload = delivery.payload
    to, text = payload.get("to"), (payload.get("text") or "").strip()
    if not isinstance(to, str) or not _E164_MOBILE.fullmatch(to):
        raise DeliveryRejected(f"not a mobile number an SMS can go to: {_shown(to)!r}")
    if not text:
        raise DeliveryRejected("the SMS has no text")
    reference = hashlib.sha256(delivery.dedup_key.encode("utf-8")).hexdigest()
    body = json.dumps({"to": to, "text": text[:MAX_TEXT], "sender": settings.sender, "reference": reference},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return urllib.request.Request(settings.url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "Authorization": f"Bearer {settings.key}",
        "Idempotency-Key": reference,
        "User-Agent": "petiflow",
    })


def send_sms(delivery: Delivery, settings: SmsSettings) -> None:
    """Send the outbox row's text message through the gateway.

    Raises DeliveryRejected (not configured, a number or text that cannot be sent, a refusal)
    or DeliveryFailed (a 5xx or retryable answer, a network error or timeout).
    """
    if not settings.url or not settings.key:
        raise DeliveryRejected("SMS is not configured (PETIFLOW_SMS_URL and PETIFLOW_SMS_KEY)")
    request = request_for(delivery, settings)
    post(request, timeout=settings.timeout, what=f"SMS gateway {settings.url}")
