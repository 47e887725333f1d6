"""`/embed`: a small now-playing card for other sites' iframes (`?theme=dark` for dark).

Everything it loads comes from our origin (its script and style under /embed/static/, the
brand fonts, /api/now-playing, cover thumbnails), it sets no cookie (the session is never
touched), and which sites may frame it is the operator's choice: EMBED_ORIGINS becomes the
CSP `frame-ancestors` ('self' only when unset, any site with "*").
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, make_response, render_template, request, send_from_directory

from radiocalico.services import services

EMBED_DIR = Path(__file__).parent / "embed"
THEMES = ("light", "dark")

bp = Blueprint("embed", __name__, template_folder=str(EMBED_DIR))


def frame_ancestors(origins: tuple[str, ...]) -> str:
    if "*" in origins:
        return "*"
    return " ".join(("'self'", *origins))


def content_security_policy(origins: tuple[str, ...]) -> str:
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        f"frame-ancestors {frame_ancestors(origins)}",
    ])


@bp.get("/embed")
def card():
    theme = request.args.get("theme", "light")
    # The configured origin, or "/" (relative to this card's own origin, inside the
    # iframe): never the request's Host.
    html = render_template("embed.html", theme=theme if theme in THEMES else "light",
                           station_url=services().config.public_url + "/")
    response = make_response(html)
    response.headers["Content-Security-Policy"] = content_security_policy(
        services().config.embed_origins
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/embed/static/<path:filename>")
def static_file(filename: str):
    mimetype = "text/javascript" if filename.endswith(".js") else None
    response = send_from_directory(EMBED_DIR, filename, mimetype=mimetype, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
