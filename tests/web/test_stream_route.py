"""The dev server's /stream/ serves the station's output as the CDN would, and no more."""

from __future__ import annotations

import pytest


@pytest.fixture
def stream_client(make_app, tmp_path):
    out = tmp_path / "out"
    (out / "hls").mkdir(parents=True)
    (out / "hls" / "live.m3u8").write_text("#EXTM3U\n")
    (out / "hls" / "seg-1.m4s").write_bytes(b"\0" * 16)
    (out / "metadatav2.json").write_text('{"artist": "A"}')
    (out / ".station-state.json").write_text('{"sequence": 1}')
    return make_app(station_mode="embedded", station_out=str(out)).test_client()


def test_files_get_the_cdn_types_and_caching(stream_client):
    playlist = stream_client.get("/stream/hls/live.m3u8")
    assert playlist.mimetype == "application/vnd.apple.mpegurl"
    assert playlist.headers["Cache-Control"] == "no-cache"
    segment = stream_client.get("/stream/hls/seg-1.m4s")
    assert segment.mimetype == "audio/mp4"
    assert "immutable" in segment.headers["Cache-Control"]
    metadata = stream_client.get("/stream/metadatav2.json")
    etag = metadata.headers["ETag"]
    assert stream_client.get("/stream/metadatav2.json", headers={"If-None-Match": etag}).status_code == 304


def test_hidden_station_files_are_not_served(stream_client):
    response = stream_client.get("/stream/.station-state.json")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
