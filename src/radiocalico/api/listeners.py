"""Listeners seen: distinct listeners over a sliding window, for the metrics.

An operation declared with `counts_listener=True` counts its caller once it succeeded
(the app factory wraps its view with `counting_listeners`). Listeners are counted as
distinct keyed digests (`identity.listener_digest`, a hash of the HMAC the ratings API
already uses as the voter key); no fingerprint, account id or address is stored. With
`REDIS_URL` the digests go into per-minute HyperLogLogs shared by all workers and
replicas; without it each process counts its own listeners in memory.

This module knows nothing of who the caller is: it is handed the digest function, so the
shared services can hold a counter without importing the request identity.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from typing import Callable

from flask import Response

log = logging.getLogger("radiocalico")


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


def counting_listeners(
    view: Callable[..., Response],
    counter: ListenerCounter,
    digest: Callable[[], str | None],
) -> Callable[..., Response]:
    """`view`, counting the caller in `counter` when it answers with a success (< 400)."""

    @functools.wraps(view)
    def counted(**path_args) -> Response:
        response = view(**path_args)
        if response.status_code < 400:
            try:
                seen = digest()
            except Exception:  # an invalid fingerprint is the view's business, not ours
                seen = None
            if seen is not None:
                counter.see(seen)
        return response

    return counted
