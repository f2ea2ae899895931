"""Webhooks for SMS and LINE gateways: POST the message as JSON, signed with a shared secret.

The body is `{"id": <dedup key>, "topic": "webhook", "data": <outbox payload>}` in UTF-8; the
header `X-Petiflow-Signature: sha256=<hex HMAC-SHA256 of the body under the secret>` lets the
gateway check it came from petiflow, and `Idempotency-Key` (the same for every attempt at one
row) lets it drop a repeat. A 2xx answer is success; anything else fails the attempt.

Settings come from the environment, read once into engine.settings.Settings.webhook:

| variable | default | meaning |
|---|---|---|
| PETIFLOW_WEBHOOK_URL | unset | where to POST; unset means webhooks are not configured (incidents) |
| PETIFLOW_WEBHOOK_SECRET | unset | the shared HMAC secret; required with a URL |
| PETIFLOW_WEBHOOK_TIMEOUT | 10 | seconds before a silent gateway counts as a failed attempt |
"""
from __future__ import annotations

import hashlib
import hmac
import json
import urllib.request

from engine.errors import DeliveryRejected
from engine.services.notifications import Delivery
from engine.settings import WebhookSettings

from .http_post import post

#: The header carrying the signature of the body.
SIGNATURE_HEADER = "X-Petiflow-Signature"

def sign(body: bytes, secret: str) -> str:
    """The signature header's value for a body: 'sha256=' and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str) -> bool:
    """True when signature is the body's signature under secret (compared in constant time)."""
    return hmac.compare_digest(sign(body, secret), signature or "")




def send_webhook(delivery: Delivery, settings: WebhookSettings) -> None:
    """POST the outbox row's payload to the gateway.

    Raises DeliveryRejected (not configured or not http(s), a 3xx or 4xx answer other than 408/425/429)
    or DeliveryFailed (a 5xx or retryable answer, a network error or timeout).
    """
    if not settings.url or not settings.secret:
        raise DeliveryRejected("webhooks are not configured (PETIFLOW_WEBHOOK_URL and _SECRET)")
    if not settings.url.lower().startswith(("https://", "http://")):
        raise DeliveryRejected(f"the webhook URL must be http(s), not {settings.url!r}")
    body = json.dumps({"id": delivery.dedup_key, "topic": delivery.topic, "data": delivery.payload},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    request = urllib.request.Request(settings.url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: sign(body, settings.secret),
        "Idempotency-Key": hashlib.sha256(delivery.dedup_key.encode("utf-8")).hexdigest(),
        "User-Agent": "petiflow",
    })
    post(request, timeout=settings.timeout, what=f"webhook {settings.url}")
