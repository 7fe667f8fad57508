"""Prometheus metrics at ``GET /metrics``.

Two kinds of figures:

* the requests this API process answered, by method, route (the URL
  rule, such as ``/v1/leases/<lease_id>``) and status: a counter and a
  latency histogram.  They are the process's own: scrape every API
  process.
* the state of the service, read from the database at scrape time, so they
  are right whatever the number of managers: leases by status, events by
  type and status, and the event lag (how long the oldest due event has
  been waiting to run).

Who may read it is ``[api] metrics_access``.
"""

import time

import flask
import prometheus_client
from oslo_config import cfg
from oslo_log import log as logging
from prometheus_client import core
from werkzeug import exceptions as http_exceptions

from climate import clock, exceptions, states
from climate.api import auth
from climate.api import healthcheck as healthcheck_api
from climate.common import outages
from climate.db import operations

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

PATH = "/metrics"
#: Where the application keeps its ``Metrics``.
EXTENSION = "climate.metrics"

blueprint = flask.Blueprint("metrics", __name__)


@blueprint.get(PATH)
def metrics():
    if CONF.api.metrics_access == "policy":
        auth.authorize("climate:metrics:get", {})
    return flask.Response(
        flask.current_app.extensions[EXTENSION].render(),
        mimetype=prometheus_client.CONTENT_TYPE_LATEST,
    )


class Metrics:
    """The metrics of one API application: its own registry, the request
    counter and histogram, and the database's figures."""

    def __init__(self):
        self.registry = prometheus_client.CollectorRegistry()
        labels = ("method", "route", "status")
        self.requests = prometheus_client.Counter(
            "climate_api_requests",
            "Requests this API process answered.",
            labels,
            registry=self.registry,
        )
        self.latency = prometheus_client.Histogram(
            "climate_api_request_duration_seconds",
            "Time this API process took to answer a request, until the "
            "body was ready.",
            labels,
            registry=self.registry,
        )
        self.registry.register(DatabaseCollector())
        self.registry.register(OutageCollector())
        prometheus_client.ProcessCollector(registry=self.registry)

    def render(self):
        """The text exposition format of every metric."""
        return prometheus_client.generate_latest(self.registry)


class RequestMetrics:
    """WSGI middleware counting and timing every request it passes on.

    :param metrics: the application's ``Metrics``.
    :param url_map: the Flask URL map, to name a request by its route.
    """

    def __init__(self, app, metrics, url_map):
        self._app = app
        self._metrics = metrics
        self._url_map = url_map

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        answer = {}

        def _start_response(status, headers, exc_info=None):
            answer["status"] = status.split(" ", 1)[0]
            return start_response(status, headers, exc_info)

        try:
            return self._app(environ, _start_response)
        finally:
            labels = (
                environ.get("REQUEST_METHOD", ""),
                self._route(environ),
                answer.get("status", "500"),
            )
            self._metrics.requests.labels(*labels).inc()
            self._metrics.latency.labels(*labels).observe(
                time.perf_counter() - started
            )

    def _route(self, environ):
        """The URL rule the request matched, so that ids do not make a
        series each."""
        path = environ.get("PATH_INFO", "")
        if path.rstrip("/") == healthcheck_api.PATH:
            return healthcheck_api.PATH
        try:
            rule, _ = self._url_map.bind_to_environ(environ).match(
                return_rule=True
            )
        except http_exceptions.HTTPException:
            return "unmatched"
        return rule.rule


class DatabaseCollector:
    """Leases and events as the database has them, at scrape time."""

    def describe(self):
        """The families ``collect`` yields, without asking the database
        (the registry calls this when the collector is registered)."""
        return [_database_up(1), *_state_families()]

    def collect(self):
        """Query the database; yield ``climate_database_up`` and, when it
        answered, the leases, events and event lag."""
        leases, events, lag = _state_families()
        try:
            counts = operations.lease_counts_by_status()
            for status, count in _with_zeros(counts, states.LeaseStatus.ALL):
                leases.add_metric([status], count)
            counts = operations.event_counts_by_type_and_status()
            for (kind, status), count in sorted(counts.items()):
                events.add_metric([kind, status], count)
            now = clock.now()
            oldest = operations.event_oldest_due_time(now)
            lag.add_metric(
                [], (now - oldest).total_seconds() if oldest else 0.0
            )
        except exceptions.ServiceUnavailable:
            # Logged once per outage, where it was found.
            yield _database_up(0)
            return
        except Exception as exc:  # the scrape still answers, saying so
            LOG.warning("metrics: the database does not answer: %s", exc)
            yield _database_up(0)
            return
        yield _database_up(1)
        yield leases
        yield events
        yield lag


class OutageCollector:
    """What this process found of the services it depends on: whether
    each answered last time, how many outages it saw, how many attempts
    failed, and how long it has been without each."""

    def describe(self):
        return list(self._families())

    def collect(self):
        return self._families()

    def _families(self):
        labels = ["dependency"]
        up = core.GaugeMetricFamily(
            "climate_dependency_up",
            "Whether the service answered this process's last attempt.",
            labels=labels,
        )
        count = core.CounterMetricFamily(
            "climate_dependency_outages",
            "Outages of the service this process saw (one per run of "
            "failed attempts).",
            labels=labels,
        )
        failures = core.CounterMetricFamily(
            "climate_dependency_failures",
            "Attempts that failed because the service could not be "
            "reached (each answered 503).",
            labels=labels,
        )
        down = core.CounterMetricFamily(
            "climate_dependency_down_seconds",
            "Seconds this process spent without the service, the current "
            "outage included.",
            labels=labels,
        )
        for dependency in outages.ALL:
            name = [dependency.name]
            up.add_metric(name, 1 if dependency.up else 0)
            count.add_metric(name, dependency.outages)
            failures.add_metric(name, dependency.failures)
            down.add_metric(
                name, dependency.seconds_down + dependency.current_outage()
            )
        return [up, count, failures, down]


def _database_up(value):
    return core.GaugeMetricFamily(
        "climate_database_up",
        "Whether the database answered the queries of this scrape.",
        value=value,
    )


def _state_families():
    return (
        core.GaugeMetricFamily(
            "climate_leases",
            "Leases by status.",
            labels=["status"],
        ),
        core.GaugeMetricFamily(
            "climate_events",
            "Lease events by type and status (DONE: ran; ERROR: failed "
            "after its retries; UNDONE: still to run).",
            labels=["event_type", "status"],
        ),
        core.GaugeMetricFamily(
            "climate_event_lag_seconds",
            "How long the oldest due event has been waiting to run (0 "
            "when none is waiting).",
        ),
    )


def _with_zeros(counts, names):
    return sorted({**dict.fromkeys(names, 0), **counts}.items())
