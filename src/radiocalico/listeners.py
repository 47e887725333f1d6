"""Listeners of the stream itself: concurrent clients, per rendition, and listening time.

Stream listeners are the clients fetching our HLS playlists (hls.js in a browser, Safari's
native player, VLC, ...): each is a keyed digest of its address and user agent under the
server secret and the day (`stream_listener_digest`), so digests rotate daily and no address
or user agent is stored. A client counts while it fetched a playlist within the window
(STREAM_LISTENER_WINDOW_SECONDS); the dev server's /stream route reports fetches, and in
production nginx mirrors each playlist request to /internal/stream-hit. With REDIS_URL the
counts are shared by every process and replica. Listening time per rendition is credited
one bucket (a sixth of the window) per listener and bucket, exactly once across processes
(a Redis set per bucket), and handed to `on_listening` (the metrics counter).

Callers of the ratings API are not listeners: a script can invent any number of them, and
a listener with the page closed still listens in VLC. Only playlist fetches count.

This module knows nothing of requests or Flask: the dev server's /stream route and the
nginx mirror (api/audience.py) hand it digests, so the shared services can hold it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import threading
import time
from datetime import date
from typing import Callable, Iterable

log = logging.getLogger("radiocalico")


class ListenerCounter:
    """Distinct digests over a sliding window: Redis HyperLogLogs (shared by every process
    and replica), or memory (this process only).

    `bucket`: the seconds of one HyperLogLog (the window is a whole number of them);
    `prefix`: the Redis key prefix, one per thing counted."""

    BUCKET = 60

    def __init__(self, redis_url: str, window: int, *, bucket: int | None = None,
                 prefix: str = "radiocalico:listeners", redis_client=None):
        self.BUCKET = int(bucket or self.BUCKET)
        self.window = max(self.BUCKET, int(window))
        self.prefix = prefix
        self._redis = redis_client
        if redis_url and redis_client is None:
            self._redis = _redis_client(redis_url)
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
        return [f"{self.prefix}:{b}" for b in range(current - count + 1, current + 1)]

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


def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def address_group(address: str, ipv6_prefix: int = 64) -> str:
    """The unit one subscriber holds: an IPv4 address, or an IPv6 network of `ipv6_prefix`
    bits (CLIENT_IPV6_PREFIX; a home or phone is handed a whole /64, so its addresses are
    one subscriber's as much as one IPv4 is, and a client choosing a new one per request
    is still one client). Rate limits per address and listener counts both count these."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{ipv6_prefix}", strict=False))
    return str(ip)


def stream_listener_digest(secret: str, address: str, user_agent: str, day: date,
                           per_address: int = 32, ipv6_prefix: int = 64) -> str:
    """A stream client's key for the day: HMAC of its address group and one of
    `per_address` slots its user agent falls in.

    The slots cap what one address can claim without any state: 200 invented user agents
    from one address are at most `per_address` listeners. The price is that distinct
    listeners behind one address whose agents share a slot count once (2 devices: 3 %
    chance at 32 slots; a 50-listener NAT counts ~25)."""
    slot = agent_slot(user_agent, per_address)
    group = address_group(address, ipv6_prefix)
    message = f"stream-listener:{day.isoformat()}:{group}\n{slot}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def agent_slot(user_agent: str, per_address: int) -> int:
    """Which of an address's `per_address` listener slots a user agent counts in."""
    return int.from_bytes(hashlib.sha256(user_agent.encode()).digest()[:4], "big") % max(1, per_address)


class StreamListeners:
    """Concurrent listeners of the stream, in all and per rendition, and listening time.

    `renditions`: the playlist names' renditions the station publishes
    (`stream_layout.rendition_of`); fetches of anything else count nobody, so no client can
    invent renditions, and every Redis key is a counter's, with an expiry."""

    def __init__(self, redis_url: str, window: int, renditions: Iterable[str] = (),
                 on_listening: Callable[[str, float], None] = lambda rendition, seconds: None):
        self.window = int(window)
        self.bucket = max(1, self.window // 6)
        self._redis = _redis_client(redis_url) if redis_url else None
        self._on_listening = on_listening
        self.all = self._counter("all")
        self._renditions = {name: self._counter(name) for name in renditions}
        self._credited: dict[str, int] = {}  # "rendition:digest" -> bucket credited here
        self._lock = threading.Lock()

    def _counter(self, name: str) -> ListenerCounter:
        return ListenerCounter("", self.window, bucket=self.bucket, redis_client=self._redis,
                               prefix=f"radiocalico:stream-listeners:{name}")

    def hit(self, digest: str, rendition: str | None, now: float | None = None) -> None:
        """`digest` fetched a playlist (a media playlist of `rendition`, or the master)."""
        now = time.time() if now is None else now
        counter = self._renditions.get(rendition) if rendition is not None else None
        if rendition is not None and counter is None:
            return  # a playlist the station does not publish
        self.all.see(digest, now)
        if counter is not None:
            counter.see(digest, now)
            self._credit(rendition, digest, now)

    def _credit(self, rendition: str, digest: str, now: float) -> None:
        bucket = int(now // self.bucket)
        key = f"{rendition}:{digest}"
        with self._lock:
            if self._credited.get(key) == bucket:
                return
            self._credited[key] = bucket
            if len(self._credited) > 100_000:
                self._credited = {k: b for k, b in self._credited.items() if b >= bucket - 1}
        if self._redis is not None:
            # Several processes see the same listener: the one whose SADD is new credits it.
            name = f"radiocalico:stream-listening:{rendition}:{bucket}"
            try:
                pipe = self._redis.pipeline(transaction=False)
                pipe.sadd(name, digest)
                pipe.expire(name, 2 * self.bucket + 60)
                if not pipe.execute()[0]:
                    return
            except Exception as exc:
                log.debug("stream listeners: redis unavailable (%s)", type(exc).__name__)
                return
        self._on_listening(rendition, float(self.bucket))

    def count(self, now: float | None = None) -> int | None:
        return self.all.count(now)

    def by_rendition(self, now: float | None = None) -> dict[str, int]:
        counts = {}
        for name, counter in sorted(self._renditions.items()):
            value = counter.count(now)
            if value is not None:
                counts[name] = value
        return counts
