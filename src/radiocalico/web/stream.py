"""`/stream/`: the embedded station's output, served the way the public CDN serves it."""

from __future__ import annotations

from pathlib import PurePosixPath

from flask import Blueprint, abort, send_from_directory

from radiocalico import stream_layout
from radiocalico.services import services

bp = Blueprint("stream", __name__, url_prefix="/stream")

# (mimetype, Cache-Control) by file ending: playlists and metadata change every segment,
# segments never change once written, the cover is revalidated.
_SERVING = {
    stream_layout.PLAYLIST_SUFFIX: ("application/vnd.apple.mpegurl", "no-cache"),
    stream_layout.SEGMENT_SUFFIX: ("audio/mp4", "public, max-age=86400, immutable"),
    stream_layout.INIT_SUFFIX: ("audio/mp4", "public, max-age=86400, immutable"),
    PurePosixPath(stream_layout.METADATA_NAME).suffix: ("application/json", "no-cache"),
    PurePosixPath(stream_layout.COVER_NAME).suffix: ("image/jpeg", "no-cache"),
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
    return response
