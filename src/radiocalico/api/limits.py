"""Rate limits (Flask-Limiter): on casting votes and on signing in and up.

Storage is Redis when `REDIS_URL` is set, so limits hold across gunicorn workers and app
replicas; in memory otherwise (one dev server process). Keys are HMACs of the client
address or listener, never raw addresses. A limiter is made per app so that apps built in
one process (tests) never share counters.
"""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter

from radiocalico.api.identity import client_address_key, voter_key
from radiocalico.config import Config

_VOTE_ENDPOINTS = ("ratings.put_vote", "ratings.delete_vote")
_AUTH_ENDPOINTS = ("users.register", "users.create_session")


def init_limits(app: Flask, config: Config) -> Limiter:
    limiter = Limiter(
        client_address_key,
        app=app,
        storage_uri=config.redis_url or "memory://",
        strategy="moving-window",
        headers_enabled=True,
        enabled=config.ratelimit_enabled,
        key_prefix="radiocalico",
    )
    # Flask-Limiter holds the limiter only weakly; the app must keep it alive.
    app.extensions["radiocalico.limiter"] = limiter
    for endpoint in _VOTE_ENDPOINTS:
        view = app.view_functions[endpoint]
        view = limiter.limit(config.ratelimit_votes, key_func=voter_key)(view)
        view = limiter.limit(config.ratelimit_votes_per_ip, key_func=client_address_key)(view)
        app.view_functions[endpoint] = view
    for endpoint in _AUTH_ENDPOINTS:
        view = app.view_functions[endpoint]
        app.view_functions[endpoint] = limiter.limit(config.ratelimit_auth)(view)
    return limiter
