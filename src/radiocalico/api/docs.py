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
    return PlayerConfigOut(
        station_mode=cfg.station_mode,
        stream_url=f"{base}/{stream_layout.MASTER_PATH}",
        metadata_url=f"{base}/{stream_layout.METADATA_PATH}",
        cover_url=f"{base}/{stream_layout.COVER_PATH}",
    )
