"""Redis broker options from the environment: namespace, heartbeat timeout, maintenance chance."""
import pytest

from engine.errors import InvalidInput
from engine.settings import Settings
from handlers.broker import make_broker, redis_options


def _settings(**env) -> Settings:
    return Settings.from_env({"SECRET_KEY": "k", "DATABASE_URL": "sqlite://", **env})


def test_without_settings_the_broker_keeps_dramatiqs_production_defaults():
    assert redis_options(_settings()) == {"namespace": "petiflow"}


def test_the_heartbeat_timeout_maintenance_chance_and_namespace_come_from_the_environment():
    assert redis_options(_settings(PETIFLOW_REDIS_NAMESPACE="petiflow-test-x", PETIFLOW_REDIS_HEARTBEAT_MS="5000",
                                   PETIFLOW_REDIS_MAINTENANCE_CHANCE="1000000")) == {
        "namespace": "petiflow-test-x", "heartbeat_timeout": 5000, "maintenance_chance": 1_000_000}


@pytest.mark.parametrize("value", ["soon", "-1", "0", "2.5"])
def test_a_broker_option_that_is_not_a_positive_whole_number_is_refused_by_name(value):
    with pytest.raises(InvalidInput, match=f"PETIFLOW_REDIS_HEARTBEAT_MS must be a whole number above zero, "
                                           f"not '{value}'"):
        _settings(PETIFLOW_REDIS_HEARTBEAT_MS=value)


def test_the_redis_broker_is_built_with_the_options():
    broker = make_broker(_settings(REDIS_URL="redis://127.0.0.1:6379/15", PETIFLOW_REDIS_HEARTBEAT_MS="4000",
                                   PETIFLOW_REDIS_MAINTENANCE_CHANCE="500000",
                                   PETIFLOW_REDIS_NAMESPACE="petiflow-test-options"))
    try:  # building a broker does not connect
        assert (broker.heartbeat_timeout, broker.maintenance_chance, broker.namespace) == (
            4000, 500_000, "petiflow-test-options")
    finally:
        broker.close()


def test_the_backlog_of_the_in_process_broker_counts_waiting_and_delayed_messages():
    from dramatiq import Message
    from dramatiq.brokers.stub import StubBroker

    from handlers.broker import queue_backlog

    broker = StubBroker(middleware=[])
    broker.declare_queue("timers")
    assert queue_backlog(broker, "timers") == 0
    for timer_id in range(3):
        broker.enqueue(Message(queue_name="timers", actor_name="fire_timer", args=(timer_id,), kwargs={}, options={}))
    broker.enqueue(Message(queue_name="timers", actor_name="fire_timer", args=(9,), kwargs={}, options={}),
                   delay=60_000)  # a retry waiting for its backoff
    assert queue_backlog(broker, "timers") == 4
    broker.close()
