"""Scaled mode: wrong lookup codes are counted in Redis, so every web process refuses the guesser alike."""
from __future__ import annotations

import os
import uuid

import pytest
import redis

from api.app import create_app
from engine.settings import BrokerOptions
from tests.web.conftest import csrf_of

from .conftest import submit

#: The Redis server and database index of the tests (keys are namespaced, never flushed).
REDIS_URL = os.environ.get("PETIFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = pytest.mark.redis


@pytest.fixture
def namespace():
    """A key prefix of this test's own; its keys are deleted afterwards."""
    name = f"petiflow-test-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    yield name
    for key in client.scan_iter(f"*{name}*"):
        client.delete(key)


def test_two_web_processes_share_the_count_of_wrong_codes(city, namespace):
    done = submit(city)
    city.settings = city.settings.but(redis_url=REDIS_URL, broker=BrokerOptions(namespace=namespace))
    first, second = create_app(runtime=city).test_client(), create_app(runtime=city).test_client()

    def look_up(client, code):
        token = csrf_of(client.get("/mailbox/status").get_data(as_text=True))
        return client.post("/mailbox/status", data={"csrf_token": token, "case_no": done.case_no, "code": code})

    assert [look_up(first, f"WRONG{n}").status_code for n in range(10)] == [404] * 10
    assert look_up(second, done.lookup_code).status_code == 429
    assert any(redis.Redis.from_url(REDIS_URL).scan_iter(f"*{namespace}*"))  # counted in Redis, not in memory
