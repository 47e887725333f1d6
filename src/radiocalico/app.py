"""The application factory (see the Flask tutorial's `create_app`)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from radiocalico.config import Config
from radiocalico.db import make_engine
from radiocalico.errors import register_error_handlers


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
        hops = config.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    engine = make_engine(config.resolved_database_url)
    app.extensions["radiocalico.config"] = config
    app.extensions["radiocalico.engine"] = engine
    app.extensions["radiocalico.writer"] = engine.execution_options(sqlite_begin="IMMEDIATE")
    # A read is one statement, consistent on its own: on PostgreSQL it runs without
    # BEGIN/ROLLBACK round trips.
    app.extensions["radiocalico.reader"] = (
        engine.execution_options(isolation_level="AUTOCOMMIT")
        if engine.dialect.name == "postgresql"
        else engine
    )

    _register_blueprints(app, config)
    register_error_handlers(app)
    logging.getLogger("radiocalico").setLevel(logging.INFO)
    return app


def _register_blueprints(app: Flask, config: Config) -> None:
    from radiocalico.api import docs, health, ratings, users
    from radiocalico.api.limits import init_limits
    from radiocalico.api.openapi import SongIdConverter
    from radiocalico.web import player, stream

    app.url_map.converters["songid"] = SongIdConverter
    for blueprint in (health.bp, ratings.bp, users.bp, docs.bp, player.bp):
        app.register_blueprint(blueprint)
    if config.station_mode == "embedded":
        app.register_blueprint(stream.bp)
    from radiocalico.api.monitoring import init_monitoring

    init_monitoring(app, config)  # before the limiter, so rejected requests are timed too
    init_limits(app, config)
    if config.cors_origins:
        from flask_cors import CORS

        CORS(
            app,
            resources={r"/api/*": {"origins": list(config.cors_origins)}},
            supports_credentials=True,
        )
