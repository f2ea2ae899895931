"""E-mail over SMTP: one message per outbox row, in UTF-8, identified by its dedup key.

Settings come from the environment, read once into engine.settings.Settings.email:

| variable | default | meaning |
|---|---|---|
| PETIFLOW_SMTP_HOST | unset | the SMTP server; unset means e-mail is not configured (incidents) |
| PETIFLOW_SMTP_PORT | 25 | its port (587 for submission with STARTTLS) |
| PETIFLOW_SMTP_FROM | petiflow@localhost | the From address; its domain ends every Message-ID |
| PETIFLOW_SMTP_USER, PETIFLOW_SMTP_PASSWORD | unset | log in when a user is set |
| PETIFLOW_SMTP_STARTTLS | 1 when a user is set, else 0 | upgrade the connection with STARTTLS first |
| PETIFLOW_SMTP_TIMEOUT | 30 | seconds before a silent server counts as a failed attempt |
"""
from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from engine.errors import DeliveryFailed, DeliveryRejected
from engine.services.notifications import Delivery
from engine.settings import EmailSettings

from .error_text import redact


def message_id(dedup_key: str, sender: str) -> str:
    """A Message-ID that is the same for every attempt at one outbox row (mail clients dedupe on it)."""
    digest = hashlib.sha256(dedup_key.encode("utf-8")).hexdigest()[:40]
    return f"<{digest}@{sender.rpartition('@')[2] or 'localhost'}>"


def _shown(address) -> str:
    """An address that cannot be mailed, as an error may show it: its first character and its domain."""
    local, at, domain = str(address).rpartition("@")
    return f"{local[:1]}***@{domain}" if at else f"{domain[:1]}***"


def _recipients(to) -> list[str]:
    addresses = [to] if isinstance(to, str) else list(to or [])
    if not addresses:
        raise DeliveryRejected("the e-mail has no recipient address")
    for address in addresses:
        try:
            parsed = Address(addr_spec=address)
        except Exception:  # the parser raises ValueError, HeaderParseError or a defect
            parsed = None
        if parsed is None or not parsed.username or "." not in parsed.domain:
            # Not the address itself: it is personal data, and a wrong one is no less so.
            raise DeliveryRejected(redact(f"invalid e-mail address {_shown(address)!r}"))
    return addresses


def _one_line(text: str) -> str:
    # A line break in a header would let a subject inject headers; the policy refuses them.
    return " ".join(text.split())


def build_message(delivery: Delivery, settings: EmailSettings) -> EmailMessage:
    """The e-mail of an outbox row; raises DeliveryRejected when its address is unusable."""
    payload = delivery.payload
    msg = EmailMessage()  # the default policy encodes a Chinese subject as RFC 2047 UTF-8
    msg["From"] = settings.sender
    msg["To"] = ", ".join(_recipients(payload.get("to")))
    msg["Subject"] = _one_line(payload.get("subject") or "")
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(delivery.dedup_key, settings.sender)
    msg["X-Petiflow-Dedup-Key"] = _one_line(delivery.dedup_key)
    # base64 keeps Chinese text intact through servers that do not speak 8BITMIME.
    msg.set_content(payload.get("body") or "", charset="utf-8", cte="base64")
    return msg


def _refusal(exc: smtplib.SMTPResponseException) -> DeliveryFailed:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    error = redact(f"SMTP {exc.smtp_code}: {text}")
    # 5xx is a permanent refusal (RFC 5321 §4.2.1); 4xx asks to try again later.
    return DeliveryRejected(error) if 500 <= exc.smtp_code < 600 else DeliveryFailed(error)


def send_email(delivery: Delivery, settings: EmailSettings) -> None:
    """Send the e-mail of an outbox row.

    Raises DeliveryRejected (not configured, a bad address, a 5xx refusal) or DeliveryFailed
    (a 4xx answer, a network error or timeout: worth another try).
    """
    if not settings.host:
        raise DeliveryRejected("e-mail is not configured (PETIFLOW_SMTP_HOST is unset)")
    msg = build_message(delivery, settings)
    smtp = None
    try:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.user:
            smtp.login(settings.user, settings.password or "")
        smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        error = "; ".join(f"{addr}: {code} {text!r}" for addr, (code, text) in exc.recipients.items())
        raise (DeliveryRejected if all(500 <= c < 600 for c in codes) else DeliveryFailed)(
            redact(f"SMTP refused the recipients: {error}")) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryFailed(f"SMTP login failed ({exc.smtp_code})") from exc
    except smtplib.SMTPResponseException as exc:
        raise _refusal(exc) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(redact(f"SMTP {settings.host}:{settings.port}: {type(exc).__name__}: {exc}")) from None
    finally:
        if smtp is not None:
            _quit(smtp)


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye; once send_message returned the server has the message, whatever QUIT answers.

    (smtplib's context manager raises on a QUIT answer other than 221, which would retry, and
    duplicate, a message already accepted, or open an incident for one that was delivered.)
    """
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
