"""Rate limits, as the operations declare them (`@operation(limits=...)`).

Every limit is a moving window (the `limits` library's: no burst at a window's edge).
Storage is Redis when `REDIS_URL` is set, so limits hold across app-server workers and app
replicas; in memory otherwise (one dev server process).

All the limits of one request are decided in ONE Redis round trip (a Lua script): each
window is checked, and only when every one has room is the request counted in all of them;
the script also returns the figures of the X-RateLimit-* headers. Flask-Limiter, used
before, made one round trip per limit plus one for the headers (three per vote), and on
this 2-core machine those round trips were what a vote waited on
(bench/api_load_nginx/run.py). A request refused by one limit counts in none: each limit
still lets through at most its number of requests in any window of its length, the
guarantee the limits are for.

When Redis does not answer, the limits keep holding from each process's memory and
`/health/ready` reports the rate-limit check failing: an outage of Redis never turns
votes and sign-ins into 500s, and never switches the limits off. Redis is tried again
`RETRY_REDIS_SECONDS` after it last failed, so the limits are shared again within seconds
of its return. Keys are HMACs of the client address or listener, never raw addresses.
A limiter is made per app so that apps built in one process (tests) never share counters.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import redis
from flask import Flask, Response, g, request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from redis.backoff import NoBackoff
from redis.retry import Retry
from werkzeug.exceptions import TooManyRequests

from radiocalico.config import Config

log = logging.getLogger("radiocalico")

KEY_PREFIX = "radiocalico"


@dataclass(frozen=True)
class Limit:
    """A rate limit on an operation: the `Config` field holding its value (e.g.
    "ratelimit_votes", "60/minute") and the function giving the key it counts per.
    `shared`: a name under which every operation declaring it counts together (all
    password checks, say); by default each operation counts on its own."""

    setting: str
    key: Callable[[], str]
    shared: str = ""
# Seconds between tries of a Redis that failed: a request then pays one failed connection
# (refused at once, or SOCKET_TIMEOUT) per process this often, and the limits are back on
# Redis this soon after it answers again.
RETRY_REDIS_SECONDS = 5.0
SOCKET_TIMEOUT = 0.5

# KEYS: one list of timestamps per limit, newest first (the layout of the `limits`
# library's moving window, so its keys and these are the same counters).
# ARGV: now, then each limit's amount and window in seconds.
# Returns {1, count, oldest} when counted (the first limit's figures after counting), or
# {0, i, oldest} when limit i is full (its oldest counted entry: the window frees a place
# when that entry leaves it).
_ACQUIRE_ALL = """
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
    local amount = tonumber(ARGV[2 * i])
    local entry = redis.call('lindex', KEYS[i], amount - 1)
    if entry and tonumber(entry) >= now - tonumber(ARGV[2 * i + 1]) then
        return {0, i, entry}
    end
end
for i = 1, #KEYS do
    local amount = tonumber(ARGV[2 * i])
    redis.call('lpush', KEYS[i], ARGV[1])
    redis.call('ltrim', KEYS[i], 0, amount - 1)
    redis.call('expire', KEYS[i], tonumber(ARGV[2 * i + 1]))
end
local since = now - tonumber(ARGV[3])
local low, high, oldest = 0, redis.call('llen', KEYS[1]) - 1, 0
while low <= high do
    local mid = math.floor((low + high) / 2)
    if tonumber(redis.call('lindex', KEYS[1], mid)) >= since then
        oldest = mid
        low = mid + 1
    else
        high = mid - 1
    end
end
return {1, oldest + 1, redis.call('lindex', KEYS[1], oldest)}
"""


@dataclass(frozen=True)
class Outcome:
    """One request against its limits: whether it was counted, and the limit the headers
    tell of (the one that refused it, else the first)."""

    allowed: bool
    item: RateLimitItem
    remaining: int
    reset_at: float


class RateLimiter:
    """Moving-window limits on Redis (one round trip per request), or in this process's
    memory without Redis and while Redis is down."""

    def __init__(self, config: Config):
        self.enabled = config.ratelimit_enabled
        self._memory = MovingWindowRateLimiter(MemoryStorage())
        self._memory_lock = threading.Lock()
        self._redis: redis.Redis | None = None
        self._failed_at: float | None = None
        if config.redis_url:
            # One retry: after Redis restarts, a pooled connection fails once and a new one
            # succeeds; more retries only lengthen every request of an outage.
            self._redis = redis.Redis.from_url(
                config.redis_url, socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=SOCKET_TIMEOUT, retry=Retry(NoBackoff(), 1),
                health_check_interval=30)
            self._acquire_all = self._redis.register_script(_ACQUIRE_ALL)

    @property
    def shared(self) -> bool:
        """True while the limits are counted in Redis (shared by every process)."""
        return self._redis is not None and self._failed_at is None

    def acquire(self, limits: Sequence[tuple[RateLimitItem, tuple[str, ...]]]) -> Outcome:
        """Count one request against every (limit, identifiers) pair, or against none
        when any is full."""
        if self._redis is not None and (
            self._failed_at is None or time.monotonic() - self._failed_at >= RETRY_REDIS_SECONDS
        ):
            try:
                outcome = self._acquire_redis(limits)
            except redis.RedisError as exc:
                if self._failed_at is None:
                    log.warning("rate limits: Redis unavailable (%s); holding them per process "
                                "in memory, trying Redis again every %.0f s",
                                type(exc).__name__, RETRY_REDIS_SECONDS)
                self._failed_at = time.monotonic()
            else:
                if self._failed_at is not None:
                    log.warning("rate limits: Redis answers again; limits shared again")
                    self._failed_at = None
                return outcome
        return self._acquire_memory(limits)

    def _acquire_redis(self, limits) -> Outcome:
        storage_keys, args = [], [time.time()]
        for item, identifiers in limits:
            storage_keys.append("LIMITS:" + item.key_for(*identifiers))
            args += [item.amount, item.get_expiry()]
        allowed, index, oldest = self._acquire_all(keys=storage_keys, args=args)
        if allowed:
            item = limits[0][0]
            return Outcome(True, item, max(0, item.amount - int(index)),
                           float(oldest) + item.get_expiry())
        item = limits[int(index) - 1][0]
        return Outcome(False, item, 0, float(oldest) + item.get_expiry())

    def _acquire_memory(self, limits) -> Outcome:
        with self._memory_lock:  # all or none, as the script does
            for item, identifiers in limits:
                if not self._memory.test(item, *identifiers):
                    reset, _ = self._memory.get_window_stats(item, *identifiers)
                    return Outcome(False, item, 0, reset)
            for item, identifiers in limits:
                self._memory.hit(item, *identifiers)
            item, identifiers = limits[0]
            reset, remaining = self._memory.get_window_stats(item, *identifiers)
            return Outcome(True, item, remaining, reset)


def make_limiter(config: Config) -> RateLimiter:
    return RateLimiter(config)


def keep_retry_after_honest(app: Flask) -> None:
    """Retry-After is the app's alone, on a 429 (radiocalico.errors: the real wait of the
    limit that refused) or a 503, never on other answers; X-RateLimit-* tell of the
    limit a limited operation counted the request in."""

    @app.after_request
    def _limit_headers(response: Response) -> Response:
        if response.status_code not in (429, 503):
            response.headers.pop("Retry-After", None)
        outcome: Outcome | None = g.get("rate_limit")
        if outcome is not None:
            response.headers["X-RateLimit-Limit"] = str(outcome.item.amount)
            response.headers["X-RateLimit-Remaining"] = str(outcome.remaining)
            response.headers["X-RateLimit-Reset"] = str(int(outcome.reset_at + 1))
        return response


def retry_after_seconds() -> int:
    """Seconds until the limit that refused this request lets one more through (a moving
    window: its oldest counted request leaves it)."""
    outcome: Outcome | None = g.get("rate_limit")
    wait = outcome.reset_at - time.time() if outcome is not None else 1
    return max(1, math.ceil(wait))


def limited(
    view: Callable, limits: tuple[Limit, ...], limiter: RateLimiter, config: Config
) -> Callable:
    """`view` under all of `limits`, their values read from `config` when the app is built
    (a limit naming no setting fails then, not on a request). Each counts per its key and
    per operation, or per its `shared` name across the operations declaring it."""
    if not limits or not limiter.enabled:
        return view
    # The shortest windows first: the headers tell of the limit a client meets soonest.
    declared = sorted(((parse(getattr(config, limit.setting)), limit) for limit in limits),
                      key=lambda pair: pair[0].GRANULARITY.seconds)
    scope_of = {id(limit): limit.shared or None for _, limit in declared}

    @functools.wraps(view)
    def with_limits(*args, **kwargs):
        scope = request.endpoint or ""
        keyed = [(item, limit.key(), scope_of[id(limit)] or scope) for item, limit in declared]
        # A limit whose key is empty does not apply (a per-account limit, signed out).
        applying = [(item, (KEY_PREFIX, key, name)) for item, key, name in keyed if key]
        if not applying:
            return view(*args, **kwargs)
        outcome = limiter.acquire(applying)
        g.rate_limit = outcome
        if not outcome.allowed:
            log.info("rate limit %s reached at %s", outcome.item, scope)
            raise TooManyRequests()
        return view(*args, **kwargs)

    return with_limits


def take(limiter: RateLimiter, value: str, scope: str, key: str) -> bool:
    """Count one event of `scope` for `key` against `value` ("20/hour"); False when the
    limit is reached. For limits on something other than a whole request (issuing a
    listener token with the page)."""
    if not limiter.enabled:
        return True
    return limiter.acquire([(parse(value), (KEY_PREFIX, scope, key))]).allowed
