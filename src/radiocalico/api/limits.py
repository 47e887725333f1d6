"""Rate limits (Flask-Limiter), as the operations declare them (`@operation(limits=...)`).

Storage is Redis when `REDIS_URL` is set, so limits hold across app-server workers and app
replicas; in memory otherwise (one dev server process). When Redis does not answer, the
limits keep holding from each process's memory (Flask-Limiter's in-memory fallback,
which returns to Redis once it answers again) and `/health/ready` reports the rate-limit
check failing: an outage of Redis never turns votes and sign-ins into 500s, and never
switches the limits off. Keys are HMACs of the client
address or listener, never raw addresses. A limiter is made per app so that apps built in
one process (tests) never share counters.
"""

from __future__ import annotations

import logging
from typing import Callable

from flask import Flask, Response
from flask_limiter import HeaderNames, Limiter
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from radiocalico.api.identity import client_address_key
from radiocalico.api.operation import Limit
from radiocalico.config import Config


# Flask-Limiter puts Retry-After (the end of the window) on every answer of a limited view,
# and raises an answer's own Retry-After (a 503's few seconds) to it. It writes this name
# instead, which `keep_retry_after_honest` removes: Retry-After is the app's alone, on a 429
# (radiocalico.errors) or a 503, and tells the real wait.
_LIMITER_RETRY_AFTER = "X-RateLimit-Retry-After"


def make_limiter(config: Config) -> Limiter:
    return Limiter(
        client_address_key,
        storage_uri=config.redis_url or "memory://",
        strategy="moving-window",
        headers_enabled=True,
        header_name_mapping={
            HeaderNames.LIMIT: HeaderNames.LIMIT.value,
            HeaderNames.REMAINING: HeaderNames.REMAINING.value,
            HeaderNames.RESET: HeaderNames.RESET.value,
            HeaderNames.RETRY_AFTER: _LIMITER_RETRY_AFTER,
        },
        enabled=config.ratelimit_enabled,
        key_prefix="radiocalico",
        in_memory_fallback_enabled=bool(config.redis_url),
        storage_options={"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
        if config.redis_url
        else {},
    )


def keep_retry_after_honest(app: Flask) -> None:
    """Register before `limiter.init_app(app)`: Flask runs after-request functions in the
    reverse order, so this one sees the limiter's headers."""

    @app.after_request
    def _drop_limiter_retry_after(response: Response) -> Response:
        response.headers.pop(_LIMITER_RETRY_AFTER, None)
        if response.status_code not in (429, 503):
            response.headers.pop("Retry-After", None)
        return response


def limited(
    view: Callable, limits: tuple[Limit, ...], limiter: Limiter, config: Config
) -> Callable:
    """`view` under each of `limits` in turn (the first innermost), their values read from
    `config` when the app is built: a limit naming no setting fails then, not on a request."""
    for limit in limits:
        value = getattr(config, limit.setting)
        if limit.shared:
            view = limiter.shared_limit(value, scope=limit.shared, key_func=limit.key)(view)
        else:
            view = limiter.limit(value, key_func=limit.key)(view)
    return view


_local = MovingWindowRateLimiter(MemoryStorage())
log = logging.getLogger("radiocalico")


def take(limiter: Limiter, value: str, scope: str, key: str) -> bool:
    """Count one event of `scope` for `key` against `value` ("20/hour"); False when the
    limit is reached. For limits on something other than a whole request (issuing a
    listener token with the page). Held in this process's memory while Redis is down."""
    if not limiter.enabled:
        return True
    item = parse(value)
    try:
        return limiter.limiter.hit(item, "radiocalico", scope, key)
    except Exception as exc:  # the shared storage is down: fail safe, per process
        log.debug("rate limit %s: storage unavailable (%s)", scope, type(exc).__name__)
        return _local.hit(item, "radiocalico", scope, key)
