"""`/stream/`: the embedded station's output, served the way the public CDN serves it."""

from __future__ import annotations

from pathlib import PurePosixPath

from flask import Blueprint, abort, send_from_directory

from radiocalico import stream_layout
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


@bp.get("/<path:filename>")
def stream_file(filename: str):
    if stream_layout.is_private(filename):
        abort(404)  # the station's state and temp files are not part of the stream
    suffix = "." + filename.rsplit(".", 1)[-1] if "." in filename else ""
    mimetype, cache_control = _SERVING.get(suffix, (None, "no-cache"))
    if stream_layout.is_versioned_cover(filename):
        mimetype, cache_control = "image/jpeg", VERSIONED_COVER_CACHE
    response = send_from_directory(services().config.resolved_station_out, filename, mimetype=mimetype)
    response.headers["Cache-Control"] = cache_control
    if response.status_code < 400:
        count_stream_fetch(filename)  # a playlist fetch: a listener (api/audience.py)
    return response
