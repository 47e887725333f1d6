"""The application factory (see the Flask tutorial's `create_app`).

It makes the shared services once (`radiocalico.services`), registers the blueprints, and
applies the policy each operation declares with `@operation(...)`: its rate limits.
Whoever makes an app and outlives it (tests, scripts) closes it with `services(app).close()`.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from dataclasses import replace
from datetime import timedelta
from typing import Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from radiocalico import stream_layout
from radiocalico.api import (
    audience,
    charts,
    console,
    console_library,
    docs,
    health,
    history,
    listener,
    likes,
    metrics,
    monitoring,
    privacy,
    ratings,
    requests,
    users,
)
from radiocalico.api.limits import keep_retry_after_honest, limited, make_limiter
from radiocalico.api.openapi import build_spec
from radiocalico.api.passwords import Passwords
from radiocalico.api.operation import CONVERTERS, declared_operations
from radiocalico.config import Config
from radiocalico.db import Store
from radiocalico.errors import register_error_handlers
from radiocalico.listeners import StreamListeners
from radiocalico.recorder import Recorder
from radiocalico.services import Services
from radiocalico.web import console as console_page
from radiocalico.web import embed, player, stream


def create_app(config: Config | Mapping[str, object] | None = None) -> Flask:
    """Build the app from a `Config`, a mapping of overrides, or the environment."""
    if config is None:
        config = Config.from_env()
    elif not isinstance(config, Config):
        config = replace(Config.from_env(), **config)

    app = Flask(__name__, instance_path=str(config.instance_path), static_folder=None)
    app.config.update(
        SECRET_KEY=config.resolved_secret_key(),
        MAX_CONTENT_LENGTH=config.max_content_length,
        SESSION_COOKIE_NAME="radiocalico_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.session_cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(days=30),
    )
    app.json.sort_keys = False
    if config.trusted_proxy_hops > 0:
        app.wsgi_app = _FromOurProxies(app.wsgi_app, config)

    store = Store(config.resolved_database_url)
    stream_listeners = StreamListeners(
        config.redis_url, config.stream_listener_window_seconds,
        renditions=[stream_layout.rendition_of(stream_layout.media_playlist_name(name))
                    for name in config.station_renditions],
        on_listening=metrics.listening_counted,
    )
    shared = Services(
        config=config,
        store=store,
        limiter=make_limiter(config),
        stream_listeners=stream_listeners,
        recorder=Recorder(config, store, stream_listeners.count),
        passwords=Passwords(config.password_hash_concurrency, config.instance_path / "locks",
                            nice=config.password_hash_nice),
        openapi=functools.cache(functools.partial(build_spec, app)),
    )
    shared.init_app(app)
    # Each process records plays from its first request on: after a fork, never in a master.
    app.before_request(shared.recorder.ensure_running)

    _register_blueprints(app, config)
    privacy.init_app(app)
    monitoring.init_app(app)
    keep_retry_after_honest(app)
    _apply_policies(app, shared)
    if config.cors_origins:
        from flask_cors import CORS

        CORS(
            app,
            resources={r"/api/*": {"origins": list(config.cors_origins)}},
            supports_credentials=True,
        )
    register_error_handlers(app)
    logging.getLogger("radiocalico").setLevel(logging.INFO)
    return app


class _FromOurProxies:
    """ProxyFix, but only for connections from `TRUSTED_PROXIES`: anyone else who reaches
    the app directly is taken at its socket address, whatever X-Forwarded-For it sends."""

    def __init__(self, wsgi_app, config: Config):
        hops = config.trusted_proxy_hops
        self.direct = wsgi_app
        self.proxied = ProxyFix(wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
        self.networks = config.trusted_proxy_networks

    def __call__(self, environ, start_response):
        try:
            peer = ipaddress.ip_address(environ.get("REMOTE_ADDR", ""))
        except ValueError:
            peer = None
        trusted = peer is not None and any(peer in net for net in self.networks)
        return (self.proxied if trusted else self.direct)(environ, start_response)


def _register_blueprints(app: Flask, config: Config) -> None:
    app.url_map.converters.update(CONVERTERS)
    for blueprint in (health.bp, listener.bp, ratings.bp, users.bp, docs.bp, player.bp,
                      history.bp, charts.bp, likes.bp, audience.bp, embed.bp, requests.bp, console.bp,
                      console_library.bp, console_page.bp):
        app.register_blueprint(blueprint)
    if config.station_mode == "embedded":
        app.register_blueprint(stream.bp)


def _apply_policies(app: Flask, shared: Services) -> None:
    """Wrap each declared operation's view in the rate limits declared with it."""
    for endpoint, declared in declared_operations(app):
        app.view_functions[endpoint] = limited(
            app.view_functions[endpoint], declared.limits, shared.limiter, shared.config
        )
