"""SMS notices end to end: a dispatch reporter's texts through the outbox, a Dramatiq worker and the
SMS adapter, to a small HTTP server standing in for the gateway (its API as handlers/notify_sms.py states it)."""
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from engine.bootstrap import bootstrap
from engine.errors import DeliveryFailed, DeliveryRejected
from engine.services.calendar_admin import (
    LoadDeadlineRules,
    LoadPublicHolidays,
    load_deadline_rules,
    load_public_holidays,
)
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.notifications import Delivery
from engine.settings import EmailSettings, SmsSettings
from engine.store.outbox import queue_message
from engine.store.schema import incidents
from engine.workflow.definitions import read_bundle
from tests.conftest import _truncate_all
from tests.integration.test_notifications import _free_port, settle, table
from tests.scenarios.conftest import WORKFLOWS, _seed_agencies

KEY = "sms-api-key-0001"


class SmsGateway(BaseHTTPRequestHandler):
    """A stand-in SMS provider: checks the key and the message, sends each reference once, answers as told."""

    def do_POST(self):
        server = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.attempts += 1
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._answer(401, {"error": "invalid API key"})
        if server.failures:
            return self._answer(server.failures.pop(0), {"error": "try again later"})
        message = json.loads(body)
        if not message.get("to", "").startswith("+8869") or not message.get("text"):
            return self._answer(400, {"error": "invalid recipient or empty text"})
        if self.headers.get("Idempotency-Key") != message["reference"]:
            return self._answer(400, {"error": "reference and Idempotency-Key differ"})
        if message["reference"] not in server.sent:  # a repeat is acknowledged, not sent twice
            server.sent[message["reference"]] = message
        return self._answer(202, {"id": f"m-{len(server.sent)}", "parts": 1 + len(message["text"]) // 70})

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def sms_gateway():
    server = ThreadingHTTPServer(("127.0.0.1", 0), SmsGateway)
    server.sent, server.failures, server.attempts = {}, [], 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.settings = SmsSettings(url=f"http://127.0.0.1:{server.server_port}/api/messages", key=KEY,
                                  sender="桃園市政府", timeout=5)
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def live(settings, clock, sms_gateway, monkeypatch):
    """The shipped workflows on a runtime whose SMS channel is the test gateway, with a running worker."""
    from handlers import notification_actors as actors
    from handlers.runtime import set_runtime
    channels = actors.Channels(EmailSettings(), sms=sms_gateway.settings)
    rt = bootstrap(settings.but(extra={"channels": channels}), clock=clock)
    if not settings.is_sqlite:
        _truncate_all(rt.db)
    with rt.uow() as uow:
        _seed_agencies(uow.conn)
        load_public_holidays(LoadPublicHolidays(2026), uow)
        load_deadline_rules(LoadDeadlineRules(), uow)
        deploy_bundle(DeployBundle(read_bundle(WORKFLOWS)), uow)
        uow.commit()
    broker = StubBroker()
    dramatiq.set_broker(broker)
    actors.bind_to(broker)
    set_runtime(rt)
    actors.publish_deliveries(rt)
    for option, value in (("max_retries", 2), ("min_backoff", 10), ("max_backoff", 40)):
        monkeypatch.setitem(actors.deliver_notification.options, option, value)
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    worker.start()
    rt.actors, rt.broker = actors, broker
    yield rt
    worker.stop()
    rt.close()


def test_a_dispatch_reporter_gets_the_receipt_by_sms_once(live, sms_gateway):
    with live.uow() as uow:
        started = start_case(StartCase("dispatch", channel="1999", category="road_pothole", district="桃園",
                                       subject="路面坑洞", petitioner={"name": "王小明", "phone": "0912-345-678"},
                                       data={"address": "桃園區中正路 100 號", "road_width_m": 20}), uow)
        uow.commit()
    settle(live)
    (message,) = sms_gateway.sent.values()
    assert message["to"] == "+886912345678" and message["sender"] == "桃園市政府"
    assert message["text"] == f"您的查報（{started.case_no}）已受理，處理完成後將再通知您。"
    assert [(r.topic, r.status) for r in table(live)] == [("sms", "sent")]


def test_a_gateway_busy_at_first_gets_the_text_on_a_retry_and_sends_it_once(live, sms_gateway):
    sms_gateway.failures = [503]
    with live.uow() as uow:
        queue_message(uow, "sms", {"to": "+886912345678", "text": "您的查報已處理完成。", "case_id": None}, "sms:retry")
        uow.commit()
    settle(live)
    assert sms_gateway.attempts == 2 and len(sms_gateway.sent) == 1
    assert [r.status for r in table(live)] == ["sent"]


def test_a_wrong_key_is_refused_for_good_with_an_incident(live, sms_gateway):
    live.settings.extra["channels"] = live.actors.Channels(sms=SmsSettings(url=sms_gateway.settings.url, key="wrong"))
    with live.uow() as uow:
        queue_message(uow, "sms", {"to": "+886912345678", "text": "x", "case_id": None}, "sms:key")
        uow.commit()
    settle(live)
    assert sms_gateway.attempts == 1 and sms_gateway.sent == {}
    assert [r.status for r in table(live)] == ["failed"]
    (incident,) = table(live, incidents)
    assert "HTTP 401" in incident.message


def _delivery(**payload) -> Delivery:
    return Delivery(id=1, topic="sms", dedup_key="sms:citizen:1:received", payload=payload, attempts=0)


def test_the_same_row_sent_twice_reaches_the_phone_once(sms_gateway):
    from handlers.notify_sms import send_sms
    delivery = _delivery(to="+886912345678", text="您的查報已受理。")
    send_sms(delivery, sms_gateway.settings)
    send_sms(delivery, sms_gateway.settings)  # a retry after a lost answer
    assert sms_gateway.attempts == 2 and len(sms_gateway.sent) == 1


@pytest.mark.parametrize("payload, reason", [
    ({"to": "03-3322101", "text": "x"}, "not a mobile number an SMS can go to: '03-33***'"),
    ({"to": "+886912345678", "text": " "}, "the SMS has no text"),
], ids=["landline", "no text"])
def test_a_message_that_cannot_be_sent_is_refused_without_calling_the_gateway(sms_gateway, payload, reason):
    from handlers.notify_sms import send_sms
    with pytest.raises(DeliveryRejected, match=re.escape(reason)):
        send_sms(_delivery(**payload), sms_gateway.settings)
    assert sms_gateway.attempts == 0


def test_sms_without_a_gateway_configured_is_refused_for_good():
    from handlers.notify_sms import send_sms
    with pytest.raises(DeliveryRejected, match="PETIFLOW_SMS_URL and PETIFLOW_SMS_KEY"):
        send_sms(_delivery(to="+886912345678", text="x"), SmsSettings())


def test_a_gateway_that_is_down_fails_the_attempt_to_be_retried():
    from handlers.notify_sms import send_sms
    settings = SmsSettings(url=f"http://127.0.0.1:{_free_port()}/api/messages", key=KEY, timeout=5)
    with pytest.raises(DeliveryFailed) as failed:
        send_sms(_delivery(to="+886912345678", text="x"), settings)
    assert type(failed.value) is DeliveryFailed and "Connection refused" in str(failed.value)


def test_the_gateway_settings_come_from_the_environment():
    settings = SmsSettings.from_env({"PETIFLOW_SMS_URL": "https://sms.example.tw/api/messages",
                                     "PETIFLOW_SMS_KEY": KEY, "PETIFLOW_SMS_TIMEOUT": "4"})
    assert (settings.url, settings.key, settings.sender, settings.timeout) == (
        "https://sms.example.tw/api/messages", KEY, None, 4.0)
    from engine.errors import InvalidInput
    with pytest.raises(InvalidInput, match="PETIFLOW_SMS_URL must be an http"):
        SmsSettings.from_env({"PETIFLOW_SMS_URL": "smpp://sms.example.tw"})
