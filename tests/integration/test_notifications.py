"""Notifications end to end: a real SMTP server and webhook gateway, a Dramatiq worker, the relay."""
import json
import logging
import re
import socket
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dramatiq
import pytest
from aiosmtpd.controller import Controller
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import select

from engine.bootstrap import bootstrap
from engine.errors import DeliveryFailed, DeliveryRejected
from engine.services.incidents import RetryIncident, retry_incident
from engine.services.notifications import QueueEmail, queue_email
from engine.settings import EmailSettings, WebhookSettings
from engine.store.outbox import queue_message, set_publisher
from engine.store.schema import incidents, outbox
from handlers.notify_email import message_id
from handlers.notify_webhook import SIGNATURE_HEADER, verify
from tests.conftest import _truncate_all

SECRET = "gateway-shared-secret"
SUBJECT = "【提醒】陳情案件 P20261126000001 將於明日逾期"
BODY = "承辦人您好：\n本案回覆期限為 2026-11-27，請儘速辦理。"


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts and answers as told."""

    def __init__(self):
        self.received, self.attempts = [], 0
        self.rcpt_answer = self.data_answer = self.quit_answer = None

    async def handle_QUIT(self, server, session, envelope):
        return self.quit_answer or "221 Bye"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.data_answer:
            return self.data_answer
        self.received.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mailbox():
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


class Gateway(BaseHTTPRequestHandler):
    """An SMS/LINE gateway stand-in: records each POST and answers with the server's status."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((dict(self.headers), body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    server.requests, server.status = [], 204
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def live(settings, clock, mailbox, gateway, monkeypatch):
    """A runtime whose channels point at the test servers, a stub broker and a running worker."""
    from handlers import notification_actors as actors
    from handlers.runtime import set_runtime
    channels = actors.Channels(
        EmailSettings(host="127.0.0.1", port=mailbox.port, sender="no-reply@1999.city.gov.tw", timeout=5),
        WebhookSettings(url=f"http://127.0.0.1:{gateway.server_port}/notify", secret=SECRET, timeout=5))
    rt = bootstrap(settings.but(extra={"channels": channels}), clock=clock)
    if not settings.is_sqlite:
        _truncate_all(rt.db)
    broker = StubBroker()
    dramatiq.set_broker(broker)
    actors.bind_to(broker)
    set_runtime(rt)
    actors.publish_deliveries(rt)
    # Retries in milliseconds rather than minutes, so the whole ladder runs within the test.
    for option, value in (("max_retries", 2), ("min_backoff", 10), ("max_backoff", 40)):
        monkeypatch.setitem(actors.deliver_notification.options, option, value)
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    worker.start()
    rt.actors, rt.broker = actors, broker
    yield rt
    worker.stop()
    rt.close()


def settle(rt):
    """Wait until every message (retries and the retries-exhausted hook included) is handled."""
    rt.broker.join(rt.actors.QUEUE, fail_fast=False, timeout=20_000)


def table(rt, t=outbox):
    with rt.db.connect() as conn:
        return conn.execute(select(t).order_by(t.c.id)).all()


def queue_reminder(rt, key="reminder:P20261126000001:1"):
    with rt.uow() as uow:
        outbox_id = queue_email(QueueEmail(dedup_key=key, to="chen@example.tw", subject=SUBJECT, body=BODY), uow)
        uow.commit()
    return outbox_id


def test_a_reminder_reaches_the_smtp_server_once_even_when_its_message_runs_twice(live, mailbox):
    # Given a reminder committed (which sends its id) and the same id sent again
    outbox_id = queue_reminder(live)
    live.actors.deliver_notification.send(outbox_id)
    # When the worker has handled both messages
    settle(live)
    # Then exactly one mail arrived, with its Chinese subject and body intact
    [mail] = mailbox.received
    assert mail["Subject"] == SUBJECT
    assert mail.get_content() == BODY + "\n"
    assert mail["Message-ID"] == message_id("reminder:P20261126000001:1", "no-reply@1999.city.gov.tw")
    assert mail["X-Petiflow-Dedup-Key"] == "reminder:P20261126000001:1"
    assert [(r.status, r.attempts) for r in table(live)] == [("sent", 1)]


def test_a_server_answering_451_gets_retries_then_an_incident_and_a_retry_delivers(live, mailbox):
    mailbox.data_answer = "451 Requested action aborted: local error in processing"
    outbox_id = queue_reminder(live)
    settle(live)
    assert mailbox.attempts == 3  # the first try and max_retries=2 retries
    [row] = table(live)
    assert (row.status, row.attempts, row.lease_owner) == ("failed", 3, None)
    [incident] = table(live, incidents)
    assert (incident.kind, incident.subject_id, incident.status) == ("notification_failed", outbox_id, "open")
    assert "451" in incident.message

    # When the server is fixed and an operator retries the incident
    mailbox.data_answer = None
    with live.uow() as uow:
        retry_incident(RetryIncident(incident.id, by="admin"), uow)
        uow.commit()
    settle(live)
    assert [m["Subject"] for m in mailbox.received] == [SUBJECT]
    assert table(live)[0].status == "sent"


@pytest.mark.parametrize("goodbye", ["421 4.4.2 Timeout, closing", "554 5.3.0 Something broke"])
def test_a_message_the_server_accepted_is_sent_whatever_it_answers_to_quit(live, mailbox, goodbye):
    mailbox.quit_answer = goodbye
    queue_reminder(live)
    settle(live)
    assert [m["Subject"] for m in mailbox.received] == [SUBJECT]  # once, not again on a retry
    assert [r.status for r in table(live)] == ["sent"] and table(live, incidents) == []


def test_a_recipient_refused_with_550_fails_at_once_with_an_incident(live, mailbox):
    mailbox.rcpt_answer = "550 5.1.1 Mailbox unavailable"
    outbox_id = queue_reminder(live)
    settle(live)
    assert mailbox.received == [] and mailbox.attempts == 0
    assert [(r.status, r.attempts) for r in table(live)] == [("failed", 1)]
    [incident] = table(live, incidents)
    assert incident.subject_id == outbox_id and "550" in incident.message
    # The citizen's address is personal data: it stays out of the incident and the outbox error.
    assert "chen@example.tw" not in incident.message + table(live)[0].last_error
    assert "c***@example.tw" in incident.message


def test_a_greylisted_recipient_is_retried_without_its_address_in_the_log(live, mailbox, caplog):
    mailbox.rcpt_answer = "450 4.2.0 <chen@example.tw> greylisted, try again"
    queue_reminder(live)
    settle(live)
    logged = "\n".join(r.getMessage() + (repr(r.exc_info[1]) if r.exc_info else "") for r in caplog.records)
    [incident] = table(live, incidents)
    assert "greylisted" in incident.message
    assert "chen@example.tw" not in logged + incident.message + table(live)[0].last_error


def test_a_webhook_is_posted_once_with_a_valid_signature(live, gateway):
    with live.uow() as uow:
        queue_message(uow, "webhook", {"channel": "sms", "to": "0912345678", "text": "您的陳情已收件"}, "sms:1")
        uow.commit()
    settle(live)
    [(headers, body)] = gateway.requests
    assert verify(body, SECRET, headers[SIGNATURE_HEADER])
    assert not verify(body + b" ", SECRET, headers[SIGNATURE_HEADER])
    assert json.loads(body) == {"id": "sms:1", "topic": "webhook",
                                "data": {"channel": "sms", "to": "0912345678", "text": "您的陳情已收件"}}
    assert [r.status for r in table(live)] == ["sent"]


@pytest.mark.parametrize("status, tries", [(400, 1), (503, 3)])
def test_a_webhook_answered_with_an_error_fails_with_an_incident_after_its_retries(live, gateway, status, tries):
    gateway.status = status
    with live.uow() as uow:
        queue_message(uow, "webhook", {"channel": "line", "text": "x"}, "line:1")
        uow.commit()
    settle(live)
    assert len(gateway.requests) == tries
    assert [r.status for r in table(live)] == ["failed"]
    [incident] = table(live, incidents)
    assert f"HTTP {status}" in incident.message


def test_the_relay_sends_again_a_message_whose_send_was_lost(live, mailbox, clock):
    from engine.store.outbox import set_publisher
    from handlers import relay
    # Given a committed reminder whose send never reached the broker (a crash, a Redis flush)
    set_publisher(live.db, None)
    queue_reminder(live)
    settle(live)
    assert mailbox.received == []
    # When the relay sweeps after the grace period
    clock.advance(seconds=31)
    assert relay.sweep(live, live.actors.deliver_notification.send) == 1
    settle(live)
    # Then the mail arrives once, and later sweeps find nothing to send
    assert len(mailbox.received) == 1
    clock.advance(minutes=10)
    assert relay.sweep(live, live.actors.deliver_notification.send) == 0


def test_an_in_app_notice_that_cannot_be_written_ends_in_an_incident_naming_the_error(live):
    from engine.services.notifications import QueueInApp, queue_in_app
    with live.uow() as uow:
        queue_in_app(QueueInApp(dedup_key="n:1", kind="reminder", title="案件即將逾期", user_id=424242), uow)  # no such user
        uow.commit()
    settle(live)
    [row] = table(live)
    assert (row.status, row.attempts) == ("failed", 0)  # every attempt rolled back, its claim included
    [incident] = table(live, incidents)
    assert "IntegrityError" in incident.message and "gave up after 3 attempts" in incident.message


@pytest.mark.parametrize("text, shown", [
    ("SMTP 550: <chen@example.tw>: Recipient address rejected", "SMTP 550: <c***@example.tw>: Recipient address rejected"),
    ("invalid e-mail address 'a.b+c@mail.gov.tw'", "invalid e-mail address 'a***@mail.gov.tw'"),
    ("no address here: 550 5.1.1", "no address here: 550 5.1.1"),
])
def test_error_texts_keep_the_domain_but_not_the_address(text, shown):
    from handlers.notify_email import redact
    assert redact(text) == shown


def test_a_message_committed_while_redis_is_away_waits_for_the_relay_with_one_warning_line(settings, clock, caplog):
    """The step that queued it succeeds; the log says the broker is away, with no traceback."""
    from handlers import notification_actors as actors
    from handlers.broker import PetiflowRedisBroker
    nowhere = "redis://127.0.0.1:6390/0"  # nothing listens there: refused at once
    rt = bootstrap(settings.but(redis_url=nowhere), clock=clock)
    if not settings.is_sqlite:
        _truncate_all(rt.db)
    previous = actors.deliver_notification.broker
    broker = PetiflowRedisBroker(nowhere)
    actors.bind_to(broker)
    actors.publish_deliveries(rt)
    try:
        with caplog.at_level(logging.WARNING), rt.uow() as uow:
            outbox_id = queue_message(uow, "email", {"to": "citizen@example.tw", "subject": "s", "body": "b"}, "k:1")
            uow.commit()
        assert [row.status for row in table(rt)] == ["pending"]
    finally:
        set_publisher(rt.db, None)
        actors.bind_to(previous)
        broker.close()
        rt.close()
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in lines] == [
        f"outbox message {outbox_id}: the message broker at {nowhere} is unavailable (ConnectionError: "
        "Error 111 connecting to 127.0.0.1:6390. Connection refused.); "
        "the relay will send it"]
    assert lines[0].exc_info is None


def _delivery(topic="email", **payload):
    from engine.services.notifications import Delivery
    return Delivery(id=1, topic=topic, dedup_key="reminder:P20261126000001:1",
                    payload={"subject": SUBJECT, "body": BODY, **payload}, attempts=0)


@pytest.mark.parametrize("to, reason", [
    (None, "the e-mail has no recipient address"), ([], "the e-mail has no recipient address"),
    ("chen", "invalid e-mail address 'c***'"), ("chen@localhost", "invalid e-mail address 'c***@localhost'"),
    ("chen@example.tw\r\nBcc: all@example.tw", "invalid e-mail address"),
    ("chen@example.tw 王小明 A123456789 0912345678", "invalid e-mail address 'c***@example.tw 王小明 A1*** 09***'"),
], ids=["none", "empty list", "no domain", "domain without a dot", "header injection", "identifiers after the @"])
def test_an_address_that_cannot_be_mailed_is_refused_for_good_without_contacting_the_server(mailbox, to, reason):
    from handlers.notify_email import send_email
    with pytest.raises(DeliveryRejected, match=re.escape(reason)) as refused:
        send_email(_delivery(to=to), EmailSettings(host="127.0.0.1", port=mailbox.port, timeout=5))
    assert "chen@" not in str(refused.value) and "all@" not in str(refused.value)
    assert mailbox.attempts == 0


def test_mail_without_a_server_configured_is_refused_for_good():
    from handlers.notify_email import send_email
    with pytest.raises(DeliveryRejected, match="PETIFLOW_SMTP_HOST is unset"):
        send_email(_delivery(to="chen@example.tw"), EmailSettings())


def test_a_mail_server_that_is_down_fails_the_attempt_to_be_retried():
    from handlers.notify_email import send_email
    with pytest.raises(DeliveryFailed) as failed:
        send_email(_delivery(to="chen@example.tw"), EmailSettings(host="127.0.0.1", port=_free_port(), timeout=5))
    assert type(failed.value) is DeliveryFailed and "ConnectionRefusedError" in str(failed.value)


@pytest.mark.parametrize("settings, reason", [
    (WebhookSettings(), "webhooks are not configured"),
    (WebhookSettings(url="http://127.0.0.1:9/notify"), "webhooks are not configured"),
    (WebhookSettings(url="ftp://sms.city.example/notify", secret=SECRET), "must be http"),
], ids=["nothing", "no secret", "not http"])
def test_a_webhook_that_is_not_configured_is_refused_for_good(settings, reason):
    from handlers.notify_webhook import send_webhook
    with pytest.raises(DeliveryRejected, match=reason):
        send_webhook(_delivery("webhook"), settings)


def test_a_gateway_that_is_down_fails_the_attempt_to_be_retried():
    from handlers.notify_webhook import send_webhook
    settings = WebhookSettings(url=f"http://127.0.0.1:{_free_port()}/notify", secret=SECRET, timeout=5)
    with pytest.raises(DeliveryFailed) as failed:
        send_webhook(_delivery("webhook"), settings)
    assert type(failed.value) is DeliveryFailed and "Connection refused" in str(failed.value)
