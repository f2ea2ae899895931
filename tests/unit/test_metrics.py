"""/metrics: request latency by route, the backlog read from the database and the broker, the token."""
from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from engine.queries.timers import count_pending_timers
from engine.services.incidents import OpenIncident, open_incident
from engine.services.notifications import QueueEmail, queue_email
from engine.settings import BrokerOptions
from tests.reliability.conftest import REDIS_URL, namespace, redis_server, sender  # noqa: F401
from tests.unit.conftest_api import app, app_settings, client, make_app  # noqa: F401
from tests.unit.queries_city import city, taipei  # noqa: F401


def scrape(scraper, **headers) -> dict:
    """{(sample name, frozenset of labels): value} of one scrape."""
    response = scraper.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_requests_are_counted_by_route_method_and_status_class_never_by_path(client):  # noqa: F811
    before = scrape(client)
    for _ in range(3):
        client.get("/health")
    client.get("/no/such/page/12345")
    client.post("/health")
    samples = scrape(client)
    count = "petiflow_http_request_duration_seconds_count"
    ok = {"endpoint": "/health", "method": "GET", "status": "2xx"}
    assert value(samples, count, **ok) - (value(before, count, **ok) or 0) == 3
    assert value(samples, count, endpoint="unmatched", method="GET", status="4xx") >= 1
    assert value(samples, count, endpoint="unmatched", method="POST", status="4xx") >= 1  # 405: no route taken
    assert value(samples, "petiflow_http_request_duration_seconds_bucket", le="+Inf", **ok) >= 3
    assert not [labels for name, labels in samples if ("endpoint", "/no/such/page/12345") in labels]
    assert value(samples, "petiflow_http_requests_in_flight") >= 1  # the scrape itself


def test_the_backlog_gauges_count_what_the_database_holds(city, clock):  # noqa: F811
    # Given a case received on 10 November, late by 26 November, and one received the day before
    late = city.open_case(taipei(10))
    city.open_case(taipei(25), agency="transport")
    clock.set(taipei(26))
    with city.runtime.uow() as uow:
        queue_email(QueueEmail(dedup_key="reminder:1", to="chen@example.tw", subject="s", body="b"), uow)
        open_incident(OpenIncident("timer_failed", "timers", 1, "boom", case_id=late.case_id), uow)
        uow.commit()
    with city.runtime.uow(read_only=True) as uow:
        pending, past_due = count_pending_timers(uow), count_pending_timers(uow, due_before=clock.now())
    assert past_due >= 1 and pending > past_due  # the late case's ladder has fallen due, the other's not

    # When Prometheus scrapes
    samples = scrape(create_app(city.runtime.settings, runtime=city.runtime).test_client())

    # Then each gauge says so
    assert value(samples, "petiflow_timers_pending") == pending
    assert value(samples, "petiflow_timers_late") == past_due
    assert value(samples, "petiflow_notifications_waiting") == 1
    assert value(samples, "petiflow_incidents_open") == 1
    overdue = {dict(labels)["agency"]: v for (name, labels), v in samples.items() if name == "petiflow_work_items_overdue"}
    assert overdue == {"public_works": 1, "transport": 0, "rdec": 0, "none": 0}
    assert value(samples, "petiflow_metrics_source_up", source="database") == 1
    assert not [name for name, _ in samples if name == "petiflow_queue_messages"]  # no broker to ask


def test_an_unreachable_database_leaves_the_request_metrics_and_says_so(make_app, tmp_path, caplog):  # noqa: F811
    from engine.settings import Settings
    settings = Settings(database_url="postgresql://petiflow@127.0.0.1:1/petiflow?connect_timeout=1",
                        var_dir=tmp_path, secret_key="test")
    samples = scrape(make_app(settings, migrated=False).test_client())
    assert value(samples, "petiflow_metrics_source_up", source="database") == 0
    assert value(samples, "petiflow_http_requests_in_flight") is not None
    assert value(samples, "petiflow_timers_pending") is None
    assert "metrics: the database could not be read" in caplog.text


@pytest.mark.parametrize("header, status", [(None, 401), ("Bearer wrong-token", 401), ("s3cret-token", 401),
                                            ("Bearer s3cret-token", 200)])
def test_a_metrics_token_refuses_a_scrape_without_it_and_admits_one_with_it(make_app, app_settings, header,  # noqa: F811
                                                                             status):
    scraper = make_app(app_settings.but(metrics_token="s3cret-token")).test_client()
    response = scraper.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == status
    if status == 401:
        assert response.get_json()["error"] == "not_authenticated"
        assert "PETIFLOW_METRICS_TOKEN" in response.get_json()["message"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "s3cret" not in response.get_data(as_text=True)
    else:
        assert b"petiflow_timers_pending" in response.data


def test_without_a_token_metrics_needs_no_sign_in(client):  # noqa: F811
    assert client.get("/metrics").status_code == 200


def test_the_embedded_brokers_queues_are_counted(app):  # noqa: F811
    from dramatiq import Message
    from dramatiq.brokers.stub import StubBroker

    from api.metrics import QUEUE_DEPTHS
    from handlers.queues import stub_queue_depths
    broker = StubBroker()
    broker.declare_queue("timers")
    for timer_id in (1, 2):
        broker.enqueue(Message(queue_name="timers", actor_name="fire_timer", args=(timer_id,), kwargs={}, options={}))
    app.extensions[QUEUE_DEPTHS] = stub_queue_depths(broker)
    samples = scrape(app.test_client())
    assert value(samples, "petiflow_queue_messages", queue="timers") == 2
    assert value(samples, "petiflow_queue_messages", queue="notifications") == 0
    assert value(samples, "petiflow_metrics_source_up", source="broker") == 1


@pytest.mark.redis
def test_in_scaled_mode_the_redis_queues_are_counted(make_app, app_settings, namespace, sender):  # noqa: F811
    for timer_id in (1, 2, 3):
        sender(timer_id)
    settings = app_settings.but(redis_url=REDIS_URL, broker=BrokerOptions(namespace=namespace.name))
    samples = scrape(make_app(settings).test_client())
    assert value(samples, "petiflow_queue_messages", queue="timers") == 3
    assert value(samples, "petiflow_queue_messages", queue="notifications") == 0


def test_a_broker_that_cannot_be_reached_is_a_source_down_not_a_failed_scrape(make_app, app_settings, caplog):  # noqa: F811
    samples = scrape(make_app(app_settings.but(redis_url="redis://127.0.0.1:6390/0")).test_client())
    assert value(samples, "petiflow_metrics_source_up", source="broker") == 0
    assert value(samples, "petiflow_metrics_source_up", source="database") == 1
    assert "metrics: the message broker could not be read" in caplog.text


def test_the_queues_counted_are_the_queues_of_the_actors():
    import dramatiq
    from dramatiq.brokers.stub import StubBroker

    from handlers import actors, notification_actors
    from handlers.queues import QUEUES
    dramatiq.set_broker(StubBroker())
    assert {a.queue_name for a in actors.ALL_ACTORS + notification_actors.ALL_ACTORS} == set(QUEUES)
