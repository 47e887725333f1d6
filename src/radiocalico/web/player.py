"""The listener's page: `/` and its static files under `/static/`.

The HTML page carries a strict Content-Security-Policy: every script, style sheet, font
and image comes from our own origin (hls.js and the brand fonts are vendored from npm by
`radiocalico.web.vendor`), nothing runs inline and nothing is eval'd. When the stream lives
on another origin (`STATION_MODE=upstream`, or an absolute `STREAM_BASE_URL`), that origin
is added to connect-src, img-src and media-src only.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, send_from_directory

from radiocalico.api.listener import ensure_listener_token
from radiocalico.services import services
from radiocalico.web.vendor import BUILD_DIR, BUNDLE_ENTRY, STATIC_DIR

log = logging.getLogger(__name__)

bp = Blueprint("player", __name__)


def stream_origin(base_url: str) -> str | None:
    """`https://host[:port]` of an absolute stream base URL; None for a same-origin path."""
    parts = urlsplit(base_url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def content_security_policy(base_url: str) -> str:
    extra = stream_origin(base_url)
    more = f" {extra}" if extra else ""
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src 'self' data: blob:{more}",
        f"media-src 'self' blob:{more}",
        "worker-src 'self' blob:",
        f"connect-src 'self'{more}",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


@bp.get("/")
def index():
    response = send_from_directory(STATIC_DIR, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    ensure_listener_token(response)  # an anonymous vote needs it (api/listener_token.py)
    response.headers["Content-Security-Policy"] = content_security_policy(
        services().config.resolved_stream_base_url
    )
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _directory(filename: str) -> Path:
    """Where a static file is read from: the bundle (static/build/: script.js, its chunks and
    the minified style sheets, radiocalico.web.vendor) when the configuration asks for it and
    it has that file, else the sources. The page's URLs are the same either way."""
    if services().config.web_bundle and filename.endswith((".js", ".css", ".map")):
        if (BUILD_DIR / filename).is_file():
            return BUILD_DIR
        if filename == BUNDLE_ENTRY:
            _warn_no_bundle()
    return STATIC_DIR


@functools.cache
def _warn_no_bundle() -> None:
    log.warning("WEB_BUNDLE is on but %s has no bundle: serving the source modules "
                "(run `python -m radiocalico.web.vendor`)", BUILD_DIR)


@bp.get("/static/<path:filename>")
def static_file(filename: str):
    # Vendored files carry their version in the path, so they never change in place.
    max_age = 31536000 if filename.startswith("vendor/") else 0
    mimetype = "text/javascript" if filename.endswith((".mjs", ".js")) else None
    response = send_from_directory(_directory(filename), filename, max_age=max_age,
                                   mimetype=mimetype)
    if max_age:
        response.headers["Cache-Control"] = f"public, max-age={max_age}, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
