"""Request ids: echoed, sane or replaced, on every log line of the request, carried to the workers."""
from __future__ import annotations

import json
import logging

import dramatiq
import pytest
from sqlalchemy import select

from api.app import get_runtime
from api.request_context import HEADER
from engine import correlation
from engine.services.notifications import QueueInApp, queue_in_app
from engine.store.changes import StepChanges
from engine.store.outbox import CORRELATION_KEY
from engine.store.schema import notifications, outbox
from handlers.logs import JsonFormatter, TextFormatter
from tests.unit.conftest_api import app, app_settings, client, make_app  # noqa: F401

log = logging.getLogger("tests.request_ids")


@pytest.fixture
def noisy(app):  # noqa: F811
    """The app with a view that logs a line and queues an in-app notice, as a case action does."""
    def view():
        log.info("handling the notice")
        runtime = get_runtime()
        with runtime.uow() as uow:
            outbox_id = queue_in_app(QueueInApp(dedup_key="notice:1", kind="notice", title="新案件", role="caseworker"),
                                     uow)
            uow.commit()
        return {"outbox_id": outbox_id}
    app.add_url_rule("/notice", "notice", view, methods=["POST"])
    return app


def test_a_sane_incoming_request_id_is_kept_and_echoed(client):  # noqa: F811
    response = client.get("/health", headers={HEADER: "3f2a9c1e-0b7d-4e55-9a61-2b8f0c4d7e10"})
    assert response.headers[HEADER] == "3f2a9c1e-0b7d-4e55-9a61-2b8f0c4d7e10"


@pytest.mark.parametrize("bad", ["short", "x" * 65, "abc def ghi", "id-1234\nINFO forged", "ünïcödé-id-1234"])
def test_an_insane_incoming_request_id_is_replaced_by_a_new_one(client, bad):  # noqa: F811
    # As the server hands it over (a test client refuses to send a newline in a header).
    given = client.get("/health", environ_base={"HTTP_X_REQUEST_ID": bad}).headers[HEADER]
    assert given != bad and len(given) == 32 and int(given, 16) >= 0


def test_each_request_without_an_id_gets_its_own(client):  # noqa: F811
    first, second = (client.get("/no/such/page").headers[HEADER] for _ in range(2))
    assert first != second  # errors carry one too


def test_every_log_line_of_a_request_carries_its_id_and_none_after(noisy, caplog):
    caplog.set_level(logging.INFO)
    noisy.test_client().post("/notice", headers={HEADER: "req-0001-abcd"})
    log.info("after the request")
    [line] = [r for r in caplog.records if r.getMessage() == "handling the notice"]
    assert line.request_id == "req-0001-abcd"
    [after] = [r for r in caplog.records if r.getMessage() == "after the request"]
    assert after.request_id is None
    assert correlation.current() is None


def test_an_outbox_message_queued_by_a_request_keeps_its_id(noisy):
    response = noisy.test_client().post("/notice", headers={HEADER: "req-0002-abcd"})
    with get_runtime_of(noisy).db.connect() as conn:
        payload = conn.execute(select(outbox.c.payload).where(outbox.c.id == response.get_json()["outbox_id"])).scalar_one()
    assert payload[CORRELATION_KEY] == "req-0002-abcd"


def get_runtime_of(flask_app):
    return flask_app.extensions["petiflow"]


def test_a_steps_messages_keep_the_id_bound_when_the_step_ran():
    changes = StepChanges(case_id=1, now=None)
    with correlation.bound("req-0003-abcd"):
        changes.queue("email", {"to": "chen@example.tw", "subject": "s", "body": "b"}, "k1")
    changes.queue("email", {"to": "chen@example.tw", "subject": "s", "body": "b"}, "k2")
    assert [m[1].get(CORRELATION_KEY) for m in changes.messages] == ["req-0003-abcd", None]


@pytest.fixture
def worker(noisy):
    """The in-process broker and worker of embedded mode, delivering what the app's requests queue."""
    from handlers import notification_actors
    from handlers.broker import install_broker
    from handlers.runtime import set_runtime
    runtime = get_runtime_of(noisy)
    broker = install_broker(runtime.settings)
    notification_actors.bind_to(broker)
    set_runtime(runtime)
    notification_actors.publish_deliveries(runtime)
    running = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    running.start()
    yield broker
    running.stop()
    runtime.set_publisher(None)


def test_the_worker_delivering_a_requests_message_logs_under_the_requests_id(noisy, worker, caplog):
    from handlers.notification_actors import QUEUE
    caplog.set_level(logging.DEBUG)
    noisy.test_client().post("/notice", headers={HEADER: "req-0004-abcd"})
    worker.join(QUEUE, fail_fast=True, timeout=10_000)
    with get_runtime_of(noisy).db.connect() as conn:
        assert conn.execute(select(notifications.c.title)).scalars().all() == ["新案件"]
    # The actor's line, logged in the worker's thread, carries the request's id.
    [delivered] = [r for r in caplog.records if r.getMessage().endswith("delivered (in_app)")]
    assert delivered.threadName != "MainThread" and delivered.request_id == "req-0004-abcd"


def _record(message: str, *args, exc_info=None) -> logging.LogRecord:
    correlation.stamp_log_records()
    return log.makeRecord(log.name, logging.WARNING, __file__, 1, message, args, exc_info)


def test_a_json_line_is_one_object_with_the_request_id_and_the_traceback():
    try:
        raise ValueError("bad")
    except ValueError:
        import sys
        with correlation.bound("req-0005-abcd"):
            record = _record("案件 %s 逾期", "P1", exc_info=sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"], entry["request_id"]) == (
        "WARNING", "tests.request_ids", "案件 P1 逾期", "req-0005-abcd")
    assert entry["time"].endswith("+00:00") and "ValueError: bad" in entry["exception"]


def test_a_text_line_shows_the_request_id_only_when_there_is_one():
    with correlation.bound("req-0006-abcd"):
        with_id = _record("late")
    formatter = TextFormatter("%(levelname)s %(name)s%(request)s: %(message)s")
    assert formatter.format(with_id) == "WARNING tests.request_ids [req-0006-abcd]: late"
    assert formatter.format(_record("late")) == "WARNING tests.request_ids: late"


@pytest.mark.parametrize("value, expected", [(None, "text"), ("json", "json"), ("JSON", "json"), ("text", "text")])
def test_the_log_format_is_a_setting(value, expected):
    from engine.settings import Settings
    env = {} if value is None else {"PETIFLOW_LOG_FORMAT": value}
    assert Settings.from_env({"SECRET_KEY": "k", **env}).log_format == expected


def test_a_log_format_that_is_not_one_is_named():
    from engine.errors import InvalidInput
    from engine.settings import Settings
    with pytest.raises(InvalidInput, match="PETIFLOW_LOG_FORMAT must be text or json, not 'yaml'"):
        Settings.from_env({"SECRET_KEY": "k", "PETIFLOW_LOG_FORMAT": "yaml"})
