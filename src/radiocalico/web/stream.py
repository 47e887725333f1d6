"""`/stream/`: the embedded station's output, served the way the public CDN serves it."""

from __future__ import annotations

from flask import Blueprint, abort, send_from_directory

from radiocalico.api.context import config

bp = Blueprint("stream", __name__, url_prefix="/stream")

# (mimetype, Cache-Control) by file ending: playlists and metadata change every segment,
# segments never change once written, the cover is revalidated.
_SERVING = {
    ".m3u8": ("application/vnd.apple.mpegurl", "no-cache"),
    ".m4s": ("audio/mp4", "public, max-age=86400, immutable"),
    ".mp4": ("audio/mp4", "public, max-age=86400, immutable"),
    ".json": ("application/json", "no-cache"),
    ".jpg": ("image/jpeg", "no-cache"),
}


@bp.get("/<path:filename>")
def stream_file(filename: str):
    if any(part.startswith(".") for part in filename.split("/")):
        abort(404)  # the station's state and temp files are not part of the stream
    suffix = "." + filename.rsplit(".", 1)[-1] if "." in filename else ""
    mimetype, cache_control = _SERVING.get(suffix, (None, "no-cache"))
    response = send_from_directory(config().resolved_station_out, filename, mimetype=mimetype)
    response.headers["Cache-Control"] = cache_control
    return response
