"""/health/ready: the station's freshness counts, with a configurable threshold."""

from __future__ import annotations

import os
import time

import pytest

from radiocalico import stream_layout


@pytest.fixture
def stream_out(tmp_path):
    out = tmp_path / "stream"
    stream_layout.hls_dir(out).mkdir(parents=True)
    return out


def _segment(out, age: float) -> None:
    path = stream_layout.hls_dir(out) / stream_layout.segment_name("0a1b2c3d", int(age * 1000))
    path.write_bytes(b"\0")
    then = time.time() - age
    os.utime(path, (then, then))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_ready_follows_the_newest_segment(make_app, stream_out):
    client = make_app(station_out=str(stream_out), ready_max_segment_age=10.0).test_client()
    missing = client.get("/health/ready")
    assert missing.status_code == 503
    assert missing.json["checks"]["station"]["status"] == "failing"

    _segment(stream_out, 60)
    stale = client.get("/health/ready")
    assert stale.status_code == 503 and stale.json["checks"]["station"]["segment_age_seconds"] > 10

    _segment(stream_out, 1)
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json == {
        "status": "ready",
        "version": ready.json["version"],
        "checks": {
            "database": {"status": "ok"},
            "rate_limits": {"status": "skipped"},
            "station": {"status": "ok", "segment_age_seconds": pytest.approx(1, abs=1),
                        "max_age_seconds": 10.0},
        },
    }
    # Liveness never looks at the station.
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_station_check_can_be_switched_off(make_app, stream_out):
    client = make_app(station_out=str(stream_out), ready_max_segment_age=0.0).test_client()
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json["checks"]["station"] == {"status": "skipped"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_metrics_count_votes_and_listeners_without_raw_ids(make_app, stream_out):
    from radiocalico.services import services
    from radiocalico.songs import song_id
    from tests.conftest import station_played

    _segment(stream_out, 2)
    app = make_app(station_out=str(stream_out))
    client = app.test_client()
    fingerprint = "ab" * 16
    client.get("/api/listener")
    sid = song_id("A", "B")
    station_played(services(app).store, (sid, "A", "B", ""))
    client.put(f"/api/ratings/{sid}/vote", json={"value": "down", "artist": "A", "title": "B"},
               headers={"X-Listener-Fingerprint": fingerprint})
    # A stream listener, as nginx's playlist mirror reports it.
    client.get("/internal/stream-hit", headers={"X-Original-URI": "/stream/hls/live.m3u8",
                                                "User-Agent": "VLC/3.0.20 LibVLC/3.0.20"})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'radiocalico_votes_total{action="down"}' in text
    assert 'radiocalico_stream_listeners{rendition="all"} 1.0' in text
    assert "radiocalico_station_segment_age_seconds" in text
    assert fingerprint not in text and sid not in text and "VLC" not in text
