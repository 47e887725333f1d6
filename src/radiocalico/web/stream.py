"""`/stream/`: the embedded station's output, served the way the public CDN serves it.

Low-Latency HLS requests that wait (a media playlist with `_HLS_msn`/`_HLS_part`, a part
named by a preload hint not yet written) are answered here with the same decisions as
production's asynchronous server (`radiocalico.stream_server`), by polling the file in the
request's thread: the dev server has a thread per request anyway, and a handful of
listeners."""

from __future__ import annotations

import time
from pathlib import Path, PurePosixPath

from flask import Blueprint, Response, abort, jsonify, request, send_from_directory
from werkzeug.security import safe_join

from radiocalico import stream_layout
from radiocalico.stream_server import blocking
from radiocalico.stream_server.asgi import PART_WAIT_SECONDS
from radiocalico.api.audience import count_stream_fetch
from radiocalico.services import services

bp = Blueprint("stream", __name__, url_prefix="/stream")

# Cache-Control as the production nginx sends it (deploy/nginx/radiocalico-server.conf.template;
# tests/web/test_stream_cache_headers.py keeps the two equal), so that a CDN in front of
# either can absorb thousands of listeners:
# - playlists change with every segment: cached at most half a segment (1 s of the default
#   2 s), so a listener is never a whole segment behind;
# - segments and init files never change once written (new names for new content);
# - metadata changes with the track: cached briefly, then revalidated by its ETag;
# - the cover changes with the track: revalidated every time.
PLAYLIST_CACHE = "public, max-age=1"
SEGMENT_CACHE = "public, max-age=31536000, immutable"
METADATA_CACHE = "public, max-age=1"
COVER_CACHE = "no-cache"

# (mimetype, Cache-Control) by file ending.
_SERVING = {
    stream_layout.PLAYLIST_SUFFIX: ("application/vnd.apple.mpegurl", PLAYLIST_CACHE),
    stream_layout.SEGMENT_SUFFIX: ("audio/mp4", SEGMENT_CACHE),
    stream_layout.INIT_SUFFIX: ("audio/mp4", SEGMENT_CACHE),
    PurePosixPath(stream_layout.METADATA_NAME).suffix: ("application/json", METADATA_CACHE),
    PurePosixPath(stream_layout.COVER_NAME).suffix: ("image/jpeg", COVER_CACHE),
}
# A cover by version (covers/<cover_version>.jpg) never changes under its name: cached for
# good, as nginx does.
VERSIONED_COVER_CACHE = "public, max-age=31536000, immutable"


_POLL_SECONDS = 0.01


def _error(status: int, code: str, message: str):
    response = jsonify({"error": {"status": status, "code": code, "message": message, "fields": []}})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _blocking_playlist(path: Path):
    """A blocking playlist reload (`stream_server.blocking`), waited for in this thread; None
    for a plain load (or nothing to wait on): served from disk."""
    try:
        reload = blocking.begin(request.query_string.decode("latin-1"), _read(path))
    except blocking.BadRequest as exc:
        return _error(400, "bad_request", str(exc))
    if reload is None:
        return None
    while not reload.ready:
        if reload.remaining() <= 0:
            return _error(503, "not_yet", blocking.NOT_YET)
        time.sleep(_POLL_SECONDS)
        reload.update(_read(path))
    response = Response(reload.text, mimetype="application/vnd.apple.mpegurl")
    response.headers["Cache-Control"] = reload.cache_control
    return response


def _wait_for_part(path: Path) -> None:
    deadline = time.monotonic() + PART_WAIT_SECONDS
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)


@bp.get("/<path:filename>")
def stream_file(filename: str):
    if stream_layout.is_private(filename):
        abort(404)  # the station's state and temp files are not part of the stream
    out = services().config.resolved_station_out
    name = PurePosixPath(filename).name
    target = safe_join(str(out), filename)
    if target is None:
        abort(404)
    if stream_layout.rendition_of(name) is not None and blocking.is_blocking(request.query_string.decode("latin-1")):
        answer = _blocking_playlist(Path(target))
        if answer is not None:
            count_stream_fetch(filename)
            return answer
    elif PurePosixPath(name).match(stream_layout.PART_GLOB):
        _wait_for_part(Path(target))
    suffix = "." + filename.rsplit(".", 1)[-1] if "." in filename else ""
    mimetype, cache_control = _SERVING.get(suffix, (None, "no-cache"))
    if stream_layout.is_versioned_cover(filename):
        mimetype, cache_control = "image/jpeg", VERSIONED_COVER_CACHE
    response = send_from_directory(out, filename, mimetype=mimetype)
    response.headers["Cache-Control"] = cache_control
    if response.status_code < 400:
        count_stream_fetch(filename)  # a playlist fetch: a listener (api/audience.py)
    return response
