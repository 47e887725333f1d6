"""/api/openapi.json and /api/config: what the API offers and where the stream lives."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from radiocalico.api.context import config
from radiocalico.api.openapi import build_spec, operation
from radiocalico.api.schemas import PlayerConfigOut

bp = Blueprint("docs", __name__, url_prefix="/api")


@bp.get("/openapi.json")
def openapi_document():
    spec = current_app.extensions.get("radiocalico.openapi")
    if spec is None:
        spec = current_app.extensions["radiocalico.openapi"] = build_spec(current_app)
    return jsonify(spec)


@bp.get("/config")
@operation(
    summary="Where the player finds the stream, the metadata and the cover art",
    tags=("player",),
    responses={200: ("The stream's addresses", PlayerConfigOut)},
)
def player_config():
    cfg = config()
    base = cfg.resolved_stream_base_url
    return PlayerConfigOut(
        station_mode=cfg.station_mode,
        stream_url=f"{base}/hls/live.m3u8",
        metadata_url=f"{base}/metadatav2.json",
        cover_url=f"{base}/cover.jpg",
    )
