"""A Redis that cannot be reached is an outage, named by its address with the password masked."""
from __future__ import annotations

import logging

import pytest
import redis
from dramatiq.errors import ConnectionClosed

from handlers.broker import ping
from handlers.outage import FailureStreak, broker_address, is_broker_outage, outage_reason

#: A Redis address nothing listens on: every connection is refused at once.
NOWHERE = "redis://:s3cret@127.0.0.1:6390/0"


@pytest.fixture(scope="module")
def refused() -> redis.exceptions.ConnectionError:
    """The error a real client gets from a Redis port where nothing listens."""
    with pytest.raises(redis.exceptions.ConnectionError) as caught:
        ping(NOWHERE)
    return caught.value


def test_a_refused_connection_is_a_broker_outage_named_without_its_password(refused):
    assert is_broker_outage(refused)
    assert outage_reason(refused, NOWHERE) == "the message broker at redis://:***@127.0.0.1:6390/0 is unavailable " \
                                              "(ConnectionError: Error 111 connecting to 127.0.0.1:6390. Connection refused.)"


def test_the_error_dramatiq_wraps_around_redis_is_named_by_the_redis_error(refused):
    wrapped = ConnectionClosed(refused)  # what Dramatiq's consumer raises
    assert is_broker_outage(wrapped)
    assert outage_reason(wrapped, NOWHERE).endswith(
        "is unavailable (ConnectionError: Error 111 connecting to 127.0.0.1:6390. Connection refused.)")


@pytest.mark.parametrize("error", [redis.exceptions.AuthenticationError("invalid password"),
                                   redis.exceptions.ResponseError("ERR unknown command"), KeyError("bug")])
def test_a_refused_password_or_a_bad_command_is_a_fault_not_an_outage(error):
    assert not is_broker_outage(error) and outage_reason(error, NOWHERE) is None


@pytest.mark.parametrize("url, shown", [
    ("redis://127.0.0.1:6390/0", "redis://127.0.0.1:6390/0"),
    ("redis://petiflow:pw@redis.city.example:6379/2?socket_timeout=3&password=pw",
     "redis://petiflow:***@redis.city.example:6379/2"),
    ("rediss://:pw@[::1]:6380/0", "rediss://:***@[::1]:6380/0"),
    (None, "(no address)"),
])
def test_a_broker_address_keeps_no_password(url, shown):
    assert broker_address(url) == shown


def test_a_sweep_that_cannot_reach_redis_logs_one_warning_line_per_attempt_and_one_when_it_works_again(
        refused, caplog):
    logger = logging.getLogger("petiflow.test.redis-streak")
    streak = FailureStreak(logger, "timer sweep", broker_url="redis://127.0.0.1:6390/0")
    with caplog.at_level(logging.WARNING, logger=logger.name):
        streak.failed(refused, 1.0)
        streak.failed(refused, 2.0)
        streak.succeeded()
    assert [r.exc_info for r in caplog.records] == [None, None, None]
    assert [r.getMessage() for r in caplog.records] == [
        "timer sweep failed, the message broker at redis://127.0.0.1:6390/0 is unavailable (ConnectionError: "
        "Error 111 connecting to 127.0.0.1:6390. Connection refused.); "
        "retrying in 1.0 s",
        "timer sweep failed again (2 in a row), the message broker at redis://127.0.0.1:6390/0 is unavailable "
        "(ConnectionError: Error 111 connecting to 127.0.0.1:6390. Connection refused.); retrying in 2.0 s",
        "timer sweep works again after 2 failed attempts"]
