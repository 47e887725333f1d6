"""/api/openapi.json and /api/config: what the API offers and where the stream lives."""

from __future__ import annotations

from flask import Blueprint, jsonify

from radiocalico import stream_layout
from radiocalico.api.operation import operation
from radiocalico.api.schemas import PlayerConfigOut
from radiocalico.services import services

bp = Blueprint("docs", __name__, url_prefix="/api")


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(services().openapi())


@bp.get("/config")
@operation(
    summary="Where the player finds the stream, the metadata and the cover art",
    tags=("player",),
    responses={200: ("The stream's addresses", PlayerConfigOut)},
)
def player_config():
    cfg = services().config
    base = cfg.resolved_stream_base_url
    # The public CDN has live.m3u8 alone; our station writes the AAC family's master when it
    # publishes a lossy rendition (every one is AAC), and with lossless alone live.m3u8 is
    # one family already.
    lossy = any(name != stream_layout.LOSSLESS_RENDITION for name in cfg.station_renditions)
    native = stream_layout.NATIVE_MASTER_PATH if lossy and cfg.station_mode != "upstream" else stream_layout.MASTER_PATH
    return PlayerConfigOut(
        station_mode=cfg.station_mode,
        stream_url=f"{base}/{stream_layout.MASTER_PATH}",
        native_stream_url=f"{base}/{native}",
        metadata_url=f"{base}/{stream_layout.METADATA_PATH}",
        cover_url=f"{base}/{stream_layout.COVER_PATH}",
    )
