"""The dev server's /stream/ serves the station's output as the CDN would, and no more."""

from __future__ import annotations

import pytest

from radiocalico import stream_layout

SEGMENT = stream_layout.segment_name("0a1b2c3d", 1)


@pytest.fixture
def stream_client(make_app, tmp_path):
    out = tmp_path / "out"
    hls = stream_layout.hls_dir(out)
    hls.mkdir(parents=True)
    (hls / stream_layout.MASTER_NAME).write_text("#EXTM3U\n")
    (hls / SEGMENT).write_bytes(b"\0" * 16)
    (out / stream_layout.METADATA_NAME).write_text('{"artist": "A"}')
    (out / stream_layout.STATE_NAME).write_text('{"sequence": 1}')
    return make_app(station_mode="embedded", station_out=str(out)).test_client()


def test_files_get_the_cdn_types_and_caching(stream_client):
    playlist = stream_client.get(f"/stream/{stream_layout.MASTER_PATH}")
    assert playlist.mimetype == "application/vnd.apple.mpegurl"
    assert playlist.headers["Cache-Control"] == "public, max-age=1"
    segment = stream_client.get(f"/stream/{stream_layout.HLS_DIR}/{SEGMENT}")
    assert segment.mimetype == "audio/mp4"
    assert "immutable" in segment.headers["Cache-Control"]
    metadata = stream_client.get(f"/stream/{stream_layout.METADATA_PATH}")
    etag = metadata.headers["ETag"]
    assert stream_client.get(f"/stream/{stream_layout.METADATA_PATH}", headers={"If-None-Match": etag}).status_code == 304


def test_hidden_station_files_are_not_served(stream_client):
    response = stream_client.get(f"/stream/{stream_layout.STATE_NAME}")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
