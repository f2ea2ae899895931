"""Prometheus metrics at /metrics: request latency and concurrency, and the backlog read at scrape time.

Request metrics are kept in this process (embedded mode: waitress, one process) or, when
`petiflow web` runs several gunicorn processes, in prometheus-client's multiprocess files
(PROMETHEUS_MULTIPROC_DIR, Settings.metrics_dir), which every process reads at a scrape. The
backlog (timers, notifications, incidents, overdue work, queue depths) is read when scraped,
by the process that answers, so it is counted once whatever the number of processes.

/metrics needs no sign-in; PETIFLOW_METRICS_TOKEN restricts it to `Authorization: Bearer <token>`.
"""
from __future__ import annotations

import hmac
import logging
import time

from flask import Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from engine.queries.metrics import operations_counts

from .errors import error_body

log = logging.getLogger(__name__)

#: Where a scaled or embedded start-up puts the function giving {queue: messages} (handlers/queues.py).
QUEUE_DEPTHS = "petiflow.queue_depths"

#: This process's request metrics (in multiprocess mode, their values live in the shared files).
REQUESTS = CollectorRegistry()

REQUEST_SECONDS = Histogram(
    "petiflow_http_request_duration_seconds", "Time to answer a request, by route, method and status class.",
    ("endpoint", "method", "status"), registry=REQUESTS)
IN_FLIGHT = Gauge("petiflow_http_requests_in_flight", "Requests being answered now.", registry=REQUESTS,
                  multiprocess_mode="livesum")

#: The methods named in the label; any other is "other" (a client may send any word).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

#: The label of a request no route matched (a 404): never its path, which anyone can vary.
UNMATCHED = "unmatched"

#: Where the matched route waits in the WSGI environ for the measuring wrapper.
_ROUTE = "petiflow.route"


def _route() -> None:
    rule = request.url_rule
    request.environ[_ROUTE] = rule.rule if rule is not None else UNMATCHED


class _Measured:
    """WSGI middleware timing each request, errors included, by the route Flask matched."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started, status = time.perf_counter(), ["5xx"]

        def start(status_line, headers, exc_info=None):
            status[0] = status_line[:1] + "xx"
            return start_response(status_line, headers, exc_info)

        IN_FLIGHT.inc()
        try:
            return self.wsgi_app(environ, start)
        finally:
            IN_FLIGHT.dec()
            method = environ.get("REQUEST_METHOD", "")
            REQUEST_SECONDS.labels(environ.get(_ROUTE, UNMATCHED), method if method in METHODS else "other",
                                   status[0]).observe(time.perf_counter() - started)


class _Delegate:
    """Collects another registry's metrics into the registry of one scrape."""

    def __init__(self, source):
        self.source = source

    def collect(self):
        return self.source.collect()


class _Backlog:
    """The gauges read from the database (and the broker) at each scrape."""

    def __init__(self, runtime, queue_depths):
        self.runtime, self.queue_depths = runtime, queue_depths

    def collect(self):
        up = GaugeMetricFamily("petiflow_metrics_source_up",
                               "1 when the scrape could read the source (database, broker), else 0.", labels=["source"])
        try:
            with self.runtime.uow(read_only=True) as uow:
                counts = operations_counts(uow)
        except Exception as exc:  # noqa: BLE001 - an outage: the request metrics are still worth a scrape
            log.warning("metrics: the database could not be read: %s", _first_line(exc))
            up.add_metric(["database"], 0)
        else:
            up.add_metric(["database"], 1)
            yield from _database_gauges(counts)
        if self.queue_depths is not None:
            try:
                depths = self.queue_depths()
            except Exception as exc:  # noqa: BLE001
                log.warning("metrics: the message broker could not be read: %s", _first_line(exc))
                up.add_metric(["broker"], 0)
            else:
                up.add_metric(["broker"], 1)
                queued = GaugeMetricFamily("petiflow_queue_messages",
                                           "Messages of a Dramatiq queue not yet acknowledged.", labels=["queue"])
                for queue, count in sorted(depths.items()):
                    queued.add_metric([queue], count)
                yield queued
        yield up


def _database_gauges(counts):
    for name, text, value in (
            ("petiflow_timers_pending", "Timers waiting to fire.", counts.timers_pending),
            ("petiflow_timers_late", "Pending timers whose due time has passed.", counts.timers_late),
            ("petiflow_notifications_waiting", "Outbox messages not yet delivered.", counts.notifications_waiting),
            ("petiflow_incidents_open", "Incidents waiting for someone to retry or resolve them.",
             counts.incidents_open)):
        yield GaugeMetricFamily(name, text, value=value)
    overdue = GaugeMetricFamily("petiflow_work_items_overdue", "Open work items past their due time, by agency.",
                                labels=["agency"])
    for agency, count in counts.overdue_by_agency:
        overdue.add_metric([agency], count)
    yield overdue


def _first_line(exc: Exception) -> str:
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"


def _admitted(token: str | None) -> bool:
    if token is None:
        return True
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def metrics():
    """The Prometheus text exposition of this app's metrics."""
    from .app import get_runtime
    runtime = get_runtime()
    settings = runtime.settings
    if not _admitted(settings.metrics_token):
        body = error_body(401, "not_authenticated", "/metrics needs the header Authorization: Bearer <token> "
                          "with the token set in PETIFLOW_METRICS_TOKEN")
        return body, 401, {"WWW-Authenticate": 'Bearer realm="petiflow metrics"'}
    registry = CollectorRegistry(auto_describe=False)
    if settings.metrics_dir is not None:
        MultiProcessCollector(registry, path=str(settings.metrics_dir))
    else:
        registry.register(_Delegate(REQUESTS))
    registry.register(_Backlog(runtime, current_app.extensions.get(QUEUE_DEPTHS)))
    response = Response(generate_latest(registry), mimetype=None, content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def install(app: Flask) -> None:
    """Serve /metrics and measure every request of the app."""
    app.before_request(_route)
    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
    app.wsgi_app = _Measured(app.wsgi_app)
