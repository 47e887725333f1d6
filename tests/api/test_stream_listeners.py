"""Stream listeners: clients fetching our HLS playlists, counted as daily keyed digests over a
window, across replicas (Redis), with listening time per rendition in /metrics."""

from __future__ import annotations

import time
import uuid
from datetime import date

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from radiocalico import stream_layout
from radiocalico.listeners import StreamListeners, stream_listener_digest
from radiocalico.db import listeners as series
from radiocalico.services import services
from tests.conftest import require

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def stream_out(tmp_path):
    hls = tmp_path / "stream" / stream_layout.HLS_DIR
    hls.mkdir(parents=True)
    (hls / stream_layout.MASTER_NAME).write_text("#EXTM3U\n")
    (hls / stream_layout.media_playlist_name("flac")).write_text("#EXTM3U\n")
    (hls / stream_layout.segment_name("abc", 1)).write_bytes(b"\0" * 10)
    return tmp_path / "stream"


def fetch(server, path: str, agent: str) -> int:
    return requests.get(f"{server.url}/stream/{path}", headers={"User-Agent": agent}).status_code


def gauges(server) -> dict[tuple, float]:
    text = requests.get(f"{server.url}/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text) for s in family.samples
    }


def test_playlist_fetches_count_listeners_until_the_window_passes(make_app, make_live_server, stream_out):
    app = make_app(station_mode="embedded", station_out=str(stream_out),
                   stream_listener_window_seconds=6, history_poll_seconds=0)
    server = make_live_server(app)
    media = f"{stream_layout.HLS_DIR}/{stream_layout.media_playlist_name('flac')}"
    for agent in ("VLC/3.0.20 LibVLC/3.0.20", "AppleCoreMedia/1.0.0 (iPhone)"):
        assert fetch(server, stream_layout.MASTER_PATH, agent) == 200
        for _ in range(3):
            assert fetch(server, media, agent) == 200
    # A segment alone, and a missing playlist, count nobody.
    fetch(server, f"{stream_layout.HLS_DIR}/{stream_layout.segment_name('abc', 1)}", "curl/8")
    fetch(server, f"{stream_layout.HLS_DIR}/live_nope.m3u8", "curl/9")

    now = requests.get(f"{server.url}/api/now-playing").json()
    assert now["listeners"] == 2
    samples = gauges(server)
    assert samples[("radiocalico_stream_listeners", (("rendition", "all"),))] == 2
    assert samples[("radiocalico_stream_listeners", (("rendition", "flac"),))] == 2
    listening = ("radiocalico_stream_listening_seconds_total", (("rendition", "flac"),))
    assert samples[listening] >= 2  # one bucket (window / 6) per listener so far

    time.sleep(7)
    assert requests.get(f"{server.url}/api/listeners").json()["listeners"] == 0


def test_digests_rotate_daily_and_hold_no_address():
    one = stream_listener_digest("secret", "203.0.113.7", "VLC", date(2026, 3, 1))
    assert one == stream_listener_digest("secret", "203.0.113.7", "VLC", date(2026, 3, 1))
    assert one != stream_listener_digest("secret", "203.0.113.7", "VLC", date(2026, 3, 2))
    assert "203" not in one and len(one) == 32


def test_two_replicas_share_the_count_through_redis():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        require(False, f"Redis is not reachable at {REDIS_URL}")
    credited = []
    rendition = "t" + uuid.uuid4().hex[:12]  # keys of our own
    replicas = [StreamListeners(REDIS_URL, 60, renditions=[rendition],
                                on_listening=lambda r, s: credited.append(s))
                for _ in range(2)]
    now = time.time()
    for replica in replicas:
        for listener in ("a", "b", "c"):
            replica.hit(f"{rendition}-{listener}", rendition, now=now)
    assert replicas[0].by_rendition(now=now)[rendition] == 3
    assert replicas[1].by_rendition(now=now)[rendition] == 3
    # Listening time is credited once per listener and bucket, whichever replica saw it.
    assert credited == [10.0] * 3


def test_the_hourly_series_keeps_peak_and_mean(app):
    from datetime import datetime, timedelta, timezone

    hour = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    recorder = services(app).recorder
    for minute, count in ((1, 4), (2, 10), (3, 1)):
        recorder.listeners = lambda count=count: count
        recorder.sample_listeners(now=hour + timedelta(minutes=minute))
    with services(app).store.reading() as connection:
        rows = series.hours(connection, hour - timedelta(hours=1), hour + timedelta(hours=1))
    assert [(r.hour, r.peak, r.mean) for r in rows] == [(hour, 10, 5.0)]


def test_the_mirror_endpoint_counts_only_where_nginx_serves_the_stream(make_app):
    mirror = {"X-Original-URI": "/stream/hls/live_flac.m3u8", "User-Agent": "VLC/3"}
    external = make_app(history_poll_seconds=0).test_client()
    assert external.get("/internal/stream-hit", headers=mirror).status_code == 204
    assert external.get("/api/now-playing").get_json()["listeners"] == 1
    embedded = make_app(station_mode="embedded", history_poll_seconds=0).test_client()
    assert embedded.get("/internal/stream-hit", headers=mirror).status_code == 404


def test_one_address_cannot_invent_listeners_with_user_agents(make_app, make_live_server, stream_out):
    app = make_app(station_mode="embedded", station_out=str(stream_out), history_poll_seconds=0,
                   stream_listeners_per_address=8)
    server = make_live_server(app)
    media = f"{stream_layout.HLS_DIR}/{stream_layout.media_playlist_name('flac')}"
    for n in range(200):
        assert fetch(server, media, f"Mozilla/5.0 (forged {n})") == 200
    counted = requests.get(f"{server.url}/api/listeners").json()
    assert 1 <= counted["listeners"] <= 8
    assert counted["renditions"]["flac"] == counted["listeners"]


def test_digests_group_an_ipv6_subscriber_by_its_64():
    day = date(2026, 3, 1)
    one = stream_listener_digest("s", "2001:db8:1:2::1", "VLC", day)
    assert one == stream_listener_digest("s", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "VLC", day)
    assert one != stream_listener_digest("s", "2001:db8:1:3::1", "VLC", day)
    assert stream_listener_digest("s", "::ffff:203.0.113.7", "VLC", day) == \
        stream_listener_digest("s", "203.0.113.7", "VLC", day)


def test_made_up_renditions_count_nobody_and_keep_the_real_ones_listed(make_app):
    client = make_app(history_poll_seconds=0).test_client()  # external: nginx's mirror
    for n in range(100):
        client.get("/internal/stream-hit", headers={
            "X-Original-URI": f"/stream/hls/live_{uuid.uuid4().hex[:8]}.m3u8", "User-Agent": f"x{n}"})
    client.get("/internal/stream-hit", headers={"X-Original-URI": "/stream/hls/whatever.m3u8"})
    counted = client.get("/api/listeners").get_json()
    assert counted["listeners"] == 0
    assert counted["renditions"] == {"flac": 0, "high": 0, "saver": 0}
    client.get("/internal/stream-hit", headers={
        "X-Original-URI": "/stream/hls/live_high.m3u8?_HLS_msn=3", "User-Agent": "VLC/3"})
    counted = client.get("/api/listeners").get_json()
    assert counted["listeners"] == 1 and counted["renditions"]["high"] == 1


def test_every_redis_key_of_the_listener_count_expires():
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
    except redis.RedisError:
        require(False, f"Redis is not reachable at {REDIS_URL}")
    rendition = "t" + uuid.uuid4().hex[:12]
    listeners = StreamListeners(REDIS_URL, 60, renditions=[rendition])
    for n in range(5):
        listeners.hit(f"{rendition}-{n}", rendition)
        listeners.hit(f"{rendition}-{n}", "made-up")
    listeners.by_rendition()
    keys = [k for k in client.scan_iter("radiocalico:stream-*") if b"made-up" in k or rendition.encode() in k]
    assert keys, "the hits reached Redis"
    assert all(client.ttl(k) > 0 for k in keys)
    assert not client.exists("radiocalico:stream-renditions") or client.ttl("radiocalico:stream-renditions") > 0
