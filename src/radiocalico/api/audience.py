"""Who is listening: /api/listeners (public), and /internal/stream-hit (nginx's mirror).

`count_stream_fetch(path)` counts the caller of a playlist fetch as a stream listener: the
dev server's /stream route calls it directly; in production nginx serves the stream and
mirrors every playlist request to /internal/stream-hit with the original URI in
X-Original-URI (deploy/nginx). The public nginx server answers 404 for /internal/.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import PurePosixPath

from flask import Blueprint, Response, current_app, request

from radiocalico import stream_layout
from radiocalico.api import public_schemas as s
from radiocalico.api.operation import operation
from radiocalico.api.public import cacheable
from radiocalico.db import listeners as series
from radiocalico.errors import APIError
from radiocalico.listeners import stream_listener_digest
from radiocalico.services import services

bp = Blueprint("audience", __name__)


def count_stream_fetch(path: str) -> None:
    """The caller fetched `path` of the stream; a playlist fetch counts it as listening."""
    name = PurePosixPath(path.split("?", 1)[0]).name
    rendition = stream_layout.rendition_of(name)
    if name != stream_layout.MASTER_NAME and rendition is None:
        return  # not a playlist; an unknown rendition's is refused by `hit`
    shared = services()
    digest = stream_listener_digest(
        current_app.config["SECRET_KEY"],
        request.remote_addr or "unknown",
        request.headers.get("User-Agent", "")[:512],
        datetime.now(timezone.utc).date(),
        per_address=shared.config.stream_listeners_per_address,
        ipv6_prefix=shared.config.client_ipv6_prefix,
    )
    shared.stream_listeners.hit(digest, rendition)


@bp.get("/api/listeners")
@operation(
    summary="Stream listeners now, per rendition, and hour by hour (peak and mean)",
    tags=("public",),
    query=s.ListenersQuery,
    responses={200: ("Listeners", s.ListenersOut)},
)
def listeners(query: s.ListenersQuery):
    shared = services()
    now = datetime.now(timezone.utc)
    with shared.store.reading() as connection:
        hours = series.hours(connection, now - timedelta(days=query.days), now)
    body = s.ListenersOut(
        listeners=shared.stream_listeners.count(),
        window_seconds=shared.stream_listeners.window,
        renditions=shared.stream_listeners.by_rendition(),
        hours=[s.ListenerHourOut(hour=h.hour, peak=h.peak, mean=h.mean) for h in hours],
    )
    return cacheable(body, max_age=10)


@bp.get("/internal/stream-hit")
def stream_hit():
    # Only where nginx serves the stream; the dev server counts its own /stream fetches.
    if services().config.station_mode != "external":
        raise APIError(404, "No such resource.")
    count_stream_fetch(request.headers.get("X-Original-URI", ""))
    return Response(status=204)
