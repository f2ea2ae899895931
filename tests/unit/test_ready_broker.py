"""Readiness in scaled mode also asks the Redis broker: a 503 names the checks that failed."""
from __future__ import annotations

import socket
import time

import pytest

from engine.settings import Settings
from engine.store import migrate
from tests.reliability.conftest import REDIS_URL, redis_server  # noqa: F401
from tests.unit.conftest_api import app_settings, make_app  # noqa: F401

#: A Redis address nothing listens on: every connection is refused at once.
NOWHERE = "redis://127.0.0.1:6390/0"


def _ready(app):
    response = app.test_client().get("/ready")
    return response.status_code, response.get_json()


def test_a_broker_that_cannot_be_reached_makes_the_process_not_ready_naming_it(make_app, app_settings, caplog):
    status, body = _ready(make_app(app_settings.but(redis_url=NOWHERE)))
    assert status == 503 and body["error"] == "not_ready"
    assert body["errors"] == {"failed": ["broker"], "database": "ok", "migrations": "current",
                              "broker": "unreachable"}
    assert body["message"] == "Message broker unreachable (ConnectionError); see the server log."
    assert "the message broker at redis://127.0.0.1:6390/0 is unreachable" in caplog.text


@pytest.mark.redis
def test_a_broker_that_answers_is_reported_ok(make_app, app_settings, redis_server):  # noqa: F811
    status, body = _ready(make_app(app_settings.but(redis_url=REDIS_URL)))
    assert status == 200
    assert body == {"status": "ready", "database": "ok", "migrations": "current", "broker": "ok",
                    "revision": migrate.head_revision()}


def test_every_failed_check_is_named(make_app, tmp_path):
    settings = Settings(database_url="postgresql://petiflow@127.0.0.1:1/petiflow?connect_timeout=1",
                        redis_url=NOWHERE, var_dir=tmp_path, secret_key="test")
    status, body = _ready(make_app(settings, migrated=False))
    assert status == 503
    assert body["errors"] == {"failed": ["database", "broker"], "database": "unreachable", "broker": "unreachable"}
    assert body["message"].startswith("Database unreachable") and "Message broker unreachable" in body["message"]
    assert "127.0.0.1" not in body["message"]


def test_embedded_mode_has_no_broker_to_check(make_app, app_settings):
    status, body = _ready(make_app(app_settings))
    assert status == 200 and "broker" not in body


@pytest.mark.slow
def test_a_broker_that_accepts_but_never_answers_is_given_up_on_after_about_a_second(make_app, app_settings):
    with socket.socket() as silent:  # accepts connections (the kernel does) and never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        app = make_app(app_settings.but(redis_url=f"redis://127.0.0.1:{silent.getsockname()[1]}/0"))
        started = time.monotonic()
        status, body = _ready(app)
        took = time.monotonic() - started
    assert status == 503 and body["errors"]["failed"] == ["broker"]
    assert body["message"] == "Message broker unreachable (TimeoutError); see the server log."
    assert 0.9 < took < 2.5
