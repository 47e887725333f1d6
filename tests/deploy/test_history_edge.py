"""Through nginx, with the real station, two gunicorn replicas, PostgreSQL and Redis: the
stream's listeners are counted from nginx's playlist mirror, /internal/ is not public, and
the replicas record what the station plays."""

from __future__ import annotations

import time
from datetime import datetime

import requests
from prometheus_client.parser import text_string_to_metric_families

from radiocalico import stream_layout
from tests.deploy.topology import distinct_listener_agents

MEDIA_URL = f"/stream/{stream_layout.HLS_DIR}/{stream_layout.media_playlist_name('flac')}"


def _stream_listeners(topology, index: int) -> dict[str, float]:
    text = requests.get(topology.app_url(index) + "/metrics", timeout=10).text
    return {
        s.labels["rendition"]: s.value
        for family in text_string_to_metric_families(text) for s in family.samples
        if s.name == "radiocalico_stream_listeners"
    }


def test_playlist_fetches_through_nginx_count_listeners_on_every_replica(https, topology):
    agents = distinct_listener_agents(f"HistoryEdgeTest/{time.time_ns()}", 2)
    before = _stream_listeners(topology, 0).get("all", 0)
    for agent in agents:
        for _ in range(2):
            response = https.get(topology.url + MEDIA_URL, headers={"User-Agent": agent}, timeout=10)
            assert response.status_code == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        counts = [_stream_listeners(topology, i) for i in range(len(topology.app_ports))]
        if all(c.get("all", 0) >= before + 2 and c.get("flac", 0) >= 2 for c in counts):
            break
        time.sleep(0.2)
    assert all(c.get("all", 0) >= before + 2 for c in counts), counts  # shared through Redis


def test_internal_endpoints_are_not_public(https, topology):
    response = https.get(topology.url + "/internal/stream-hit", timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_the_replicas_record_what_the_station_plays(https, topology):
    """Every start the station publishes shows up in the history, exactly once."""
    deadline = time.monotonic() + 30
    while True:
        meta = https.get(topology.url + f"/stream/{stream_layout.METADATA_PATH}", timeout=10).json()
        history = https.get(topology.url + "/api/history", params={"limit": 100}, timeout=10).json()
        starts = [(p["song_id"], _when(p["started_at"])) for p in history["plays"]]
        if (meta["song_id"], _when(meta["started_at"])) in starts or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert (meta["song_id"], _when(meta["started_at"])) in starts
    assert len(starts) == len(set(starts))  # two replicas x two workers: each start once
    now = https.get(topology.url + "/api/now-playing", timeout=10).json()
    assert now["current"] is not None and now["listeners"] is not None
