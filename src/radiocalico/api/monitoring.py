"""Monitoring: readiness (`/health/ready`) and Prometheus metrics (`/metrics`).

- `/health` (api/health.py) is liveness: the process answers and reaches its database.
- `/health/ready` is readiness: the database answers AND the station is on air, i.e. the
  newest segment in the station output folder is at most `READY_MAX_SEGMENT_AGE` seconds
  old. 503 with the same JSON shape otherwise, so a load balancer takes the replica out.
- `/metrics` is the Prometheus text format: requests and latencies by endpoint name (never
  the raw path, so song ids do not explode the label set), votes cast, listeners seen in a
  sliding window, and the age of the newest station segment. Under gunicorn with several
  workers set `PROMETHEUS_MULTIPROC_DIR` (deploy/gunicorn.conf.py does): every worker then
  writes its counters to files there and any worker's scrape adds them all up.

`/metrics` is meant for the internal network only: the public nginx server answers 404 for
it (deploy/nginx), Prometheus scrapes the app replicas directly.

Listeners are counted as distinct keyed digests (a hash of the HMAC the ratings API already
uses as the voter key); no fingerprint, account id or address is stored. With `REDIS_URL`
the digests go into per-minute HyperLogLogs shared by all workers and replicas; without
it each process counts its own listeners in memory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Literal

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from pydantic import BaseModel

from radiocalico import __version__
from radiocalico.api.context import config
from radiocalico.api.health import database_reachable
from radiocalico.config import Config

bp = Blueprint("monitoring", __name__)
log = logging.getLogger("radiocalico")

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

_UNMATCHED = "unmatched"
_LISTENER_ENDPOINTS = ("ratings.batch", "ratings.one", "ratings.put_vote", "ratings.delete_vote")


# ---------------------------------------------------------------------------------------
# Readiness


class CheckOut(BaseModel):
    status: Literal["ok", "failing", "skipped"]
    detail: str | None = None
    segment_age_seconds: float | None = None
    max_age_seconds: float | None = None


class ReadyOut(BaseModel):
    status: Literal["ready", "unavailable"]
    version: str
    checks: dict[str, CheckOut]


def newest_segment_age(out: Path, now: float | None = None) -> float | None:
    """Seconds since the newest media segment in `<out>/hls` was written; None if none."""
    newest = None
    try:
        with os.scandir(out / "hls") as entries:
            for entry in entries:
                if entry.name.endswith(".m4s"):
                    try:
                        mtime = entry.stat().st_mtime
                    except FileNotFoundError:  # rotated away while we looked
                        continue
                    newest = mtime if newest is None else max(newest, mtime)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None
    if newest is None:
        return None
    return max(0.0, (time.time() if now is None else now) - newest)


def _station_checked(cfg: Config) -> bool:
    return cfg.station_mode != "upstream" and cfg.ready_max_segment_age > 0


def _database_check() -> CheckOut:
    if not database_reachable():
        return CheckOut(status="failing", detail="The database does not answer.")
    return CheckOut(status="ok")


def _station_check(cfg: Config) -> CheckOut:
    if not _station_checked(cfg):
        return CheckOut(status="skipped")
    age = newest_segment_age(cfg.resolved_station_out)
    limit = cfg.ready_max_segment_age
    if age is None:
        return CheckOut(status="failing", detail="The station has published no segment.",
                        max_age_seconds=limit)
    rounded = round(age, 3)
    if age > limit:
        return CheckOut(status="failing", detail="The newest segment is too old.",
                        segment_age_seconds=rounded, max_age_seconds=limit)
    return CheckOut(status="ok", segment_age_seconds=rounded, max_age_seconds=limit)


# Not in the OpenAPI document on purpose: it is an operations endpoint whose 503 is its
# normal "take me out of rotation" answer, not an API error.
@bp.get("/health/ready")
def ready():
    checks = {"database": _database_check(), "station": _station_check(config())}
    ok = all(check.status != "failing" for check in checks.values())
    body = ReadyOut(status="ready" if ok else "unavailable", version=__version__, checks=checks)
    response = jsonify(body.model_dump(mode="json", exclude_none=True))
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------------------
# Listeners seen


class ListenerCounter:
    """Distinct listeners over a sliding window: Redis HyperLogLogs, or memory."""

    BUCKET = 60

    def __init__(self, redis_url: str, window: int):
        self.window = max(self.BUCKET, int(window))
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(
                redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
            )
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        # Listeners already reported in the current bucket: a listener polls all the
        # time, and one Redis write (or one prune) per listener per bucket is enough.
        self._bucket = -1
        self._reported: set[str] = set()
        self._next_prune = 0.0

    def _keys(self, now: float) -> list[str]:
        current = int(now // self.BUCKET)
        count = -(-self.window // self.BUCKET)
        return [f"radiocalico:listeners:{b}" for b in range(current - count + 1, current + 1)]

    def see(self, digest: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._lock:
            if self._redis is None:
                self._seen[digest] = now
                if now >= self._next_prune:
                    self._prune(now)
                    self._next_prune = now + self.BUCKET
                return
            bucket = int(now // self.BUCKET)
            if bucket != self._bucket:
                self._bucket, self._reported = bucket, set()
            first_in_bucket = digest not in self._reported
            self._reported.add(digest)
        if first_in_bucket:
            key = self._keys(now)[-1]
            try:
                pipe = self._redis.pipeline(transaction=False)
                pipe.pfadd(key, digest)
                pipe.expire(key, self.window + 2 * self.BUCKET)
                pipe.execute()
            except Exception as exc:  # metrics never break a request
                log.debug("listener count: redis unavailable (%s)", type(exc).__name__)

    def _prune(self, now: float) -> None:
        cutoff = now - self.window
        for key in [k for k, t in self._seen.items() if t < cutoff]:
            del self._seen[key]

    def count(self, now: float | None = None) -> int | None:
        now = time.time() if now is None else now
        if self._redis is not None:
            try:
                return int(self._redis.pfcount(*self._keys(now)))
            except Exception as exc:
                log.debug("listener count: redis unavailable (%s)", type(exc).__name__)
                return None
        with self._lock:
            self._prune(now)
            return len(self._seen)


def _listener_digest() -> str | None:
    from radiocalico.api.identity import current_voter

    try:
        voter = current_voter(required=False)
    except Exception:  # an invalid fingerprint is the view's business, not ours
        return None
    if voter is None:
        return None
    return hashlib.sha256(f"listener-metric:{voter.key}".encode()).hexdigest()[:32]


# ---------------------------------------------------------------------------------------
# Request instrumentation and the scrape


def _before() -> None:
    g.radiocalico_started = time.perf_counter()


def _after(response: Response) -> Response:
    started = g.pop("radiocalico_started", None)
    rule = request.url_rule
    endpoint = rule.endpoint if rule is not None else _UNMATCHED
    if endpoint == "monitoring.metrics":
        return response
    method = request.method
    REQUESTS.labels(endpoint, method, str(response.status_code)).inc()
    if started is not None:
        LATENCY.labels(endpoint, method).observe(time.perf_counter() - started)
    if response.status_code < 400 and endpoint in _LISTENER_ENDPOINTS:
        if endpoint == "ratings.put_vote":
            body = request.get_json(silent=True) or {}
            value = body.get("value") if isinstance(body, dict) else None
            VOTES.labels(value if value in ("up", "down") else "other").inc()
        elif endpoint == "ratings.delete_vote":
            VOTES.labels("retract").inc()
        digest = _listener_digest()
        if digest is not None:
            current_app.extensions["radiocalico.listeners"].see(digest)
    return response


class _AppCollector:
    """Gauges computed at scrape time: segment age and listeners seen."""

    def __init__(self, cfg: Config, listeners: ListenerCounter):
        self.cfg = cfg
        self.listeners = listeners

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
        seen = GaugeMetricFamily(
            "radiocalico_listeners_seen",
            f"Distinct listeners (fingerprints and accounts, as keyed digests) seen in the "
            f"last {self.listeners.window} seconds.",
        )
        count = self.listeners.count()
        if count is not None:
            seen.add_metric([], count)
        yield seen


class _LocalCollector:
    def collect(self):
        yield from _REGISTRY.collect()


@bp.get("/metrics")
def metrics():
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_LocalCollector())
    registry.register(
        _AppCollector(config(), current_app.extensions["radiocalico.listeners"])
    )
    response = Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.headers["Cache-Control"] = "no-store"
    return response


def init_monitoring(app: Flask, config: Config) -> None:
    """Register /health/ready and /metrics and instrument every request."""
    app.extensions["radiocalico.listeners"] = ListenerCounter(
        config.redis_url, config.listener_window_seconds
    )
    app.register_blueprint(bp)
    app.before_request(_before)
    app.after_request(_after)

