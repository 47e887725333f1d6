"""Prometheus metrics: the request instrumentation and the `/metrics` scrape.

`/metrics` is the Prometheus text format: requests and latencies by endpoint name (never
the raw path, so song ids do not explode the label set), votes cast, the stream's
listeners now and its listening time (radiocalico.listeners), and the age of the newest
station segment. With
several worker processes set `PROMETHEUS_MULTIPROC_DIR` (deploy/serve.py does): every worker then writes its counters to files there and any worker's scrape adds
them all up.

`/metrics` is meant for the internal network only: the public nginx server answers 404 for
it (deploy/nginx), Prometheus scrapes the app replicas directly.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from radiocalico.api.readiness import newest_segment_age
from radiocalico.config import Config
from radiocalico.listeners import StreamListeners
from radiocalico.services import services

# Metrics of this process. In multiprocess mode prometheus-client also writes them to
# PROMETHEUS_MULTIPROC_DIR; the registry below is only read in single-process mode.
_REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "radiocalico_http_requests_total",
    "HTTP requests answered, by endpoint name, method and status.",
    ["endpoint", "method", "status"],
    registry=_REGISTRY,
)
LATENCY = Histogram(
    "radiocalico_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint name and method.",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=_REGISTRY,
)
VOTES = Counter(
    "radiocalico_votes_total",
    "Votes cast (up, down) and retracted.",
    ["action"],
    registry=_REGISTRY,
)

LISTENING = Counter(
    "radiocalico_stream_listening_seconds_total",
    "Listening time of the stream, by rendition (seconds; credited per listener and "
    "sixth of the listener window).",
    ["rendition"],
    registry=_REGISTRY,
)

_UNMATCHED = "unmatched"
# Label values come from closed sets: a client choosing the method (any token is a valid
# HTTP method) or the path must not be able to grow the scrape without bound.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_OTHER = "other"


def listening_counted(rendition: str, seconds: float) -> None:
    """A stream listener was credited `seconds` of listening to `rendition`."""
    LISTENING.labels(rendition).inc(seconds)


def vote_counted(action: str) -> None:
    """A vote was cast ("up", "down") or retracted ("retract")."""
    VOTES.labels(action).inc()


def _before() -> None:
    g.radiocalico_started = time.perf_counter()


def _after(response: Response) -> Response:
    started = g.pop("radiocalico_started", None)
    rule = request.url_rule
    endpoint = rule.endpoint if rule is not None else _UNMATCHED
    if rule is not None and current_app.view_functions.get(endpoint) is scrape:
        return response  # a scrape does not count itself
    method = request.method if request.method in _METHODS else _OTHER
    if endpoint not in current_app.view_functions:
        endpoint = _OTHER
    REQUESTS.labels(endpoint, method, str(response.status_code)).inc()
    if started is not None:
        LATENCY.labels(endpoint, method).observe(time.perf_counter() - started)
    return response


class _AppCollector:
    """Gauges computed at scrape time: segment age and stream listeners."""

    def __init__(self, cfg: Config, stream: StreamListeners):
        self.cfg = cfg
        self.stream = stream

    def collect(self):
        age = GaugeMetricFamily(
            "radiocalico_station_segment_age_seconds",
            "Seconds since the station wrote its newest segment (absent: no segment).",
        )
        if self.cfg.station_mode != "upstream":
            value = newest_segment_age(self.cfg.resolved_station_out)
            if value is not None:
                age.add_metric([], value)
        yield age
        now = GaugeMetricFamily(
            "radiocalico_stream_listeners",
            f"Clients that fetched an HLS playlist in the last {self.stream.window} seconds "
            f"(keyed daily digests), in all and by rendition (absent: unknown).",
            labels=["rendition"],
        )
        total = self.stream.count()
        if total is not None:
            now.add_metric(["all"], total)
            for rendition, value in self.stream.by_rendition().items():
                now.add_metric([rendition], value)
        yield now


class _LocalCollector:
    def collect(self):
        yield from _REGISTRY.collect()


def scrape():
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_LocalCollector())
    shared = services()
    registry.register(_AppCollector(shared.config, shared.stream_listeners))
    response = Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.headers["Cache-Control"] = "no-store"
    return response


def instrument(app: Flask) -> None:
    """Time and count every request of `app`."""
    app.before_request(_before)
    app.after_request(_after)
