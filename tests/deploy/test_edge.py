"""Through nginx: TLS, redirects, security headers, caching, limits, what stays internal."""

from __future__ import annotations

import json
import socket
import ssl
import time
import uuid
import warnings

import pytest
import requests

from radiocalico import stream_layout
from radiocalico.songs import song_id

MASTER_URL = f"/stream/{stream_layout.MASTER_PATH}"
METADATA_URL = f"/stream/{stream_layout.METADATA_PATH}"
COVER_URL = f"/stream/{stream_layout.COVER_PATH}"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; worker-src 'self' blob:; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
    ),
}
RATE_LIMITED = {
    "error": {
        "status": 429,
        "code": "rate_limited",
        "message": "Too many requests; slow down and try again shortly.",
        "fields": [],
    }
}


def _fingerprint() -> str:
    return uuid.uuid4().hex


def _on_air(topology) -> tuple[str, str]:
    """The artist and title the station is playing: only a song it played can be voted on."""
    meta = json.loads((topology.stream_out / stream_layout.METADATA_NAME).read_text())
    return meta["artist"], meta["title"]


def _vote(session, base: str, fingerprint: str, value: str = "up", artist="Test Artist",
          title="Tone 1", headers=None):
    sid = song_id(artist, title)
    if "radiocalico_listener" not in session.cookies:  # the page would have set it
        session.get(f"{base}/api/listener", timeout=10).raise_for_status()
    return session.put(
        f"{base}/api/ratings/{sid}/vote",
        json={"value": value, "artist": artist, "title": title, "album": ""},
        headers={"X-Listener-Fingerprint": fingerprint, **(headers or {})},
        timeout=10,
    )


def test_tls_with_http2_and_modern_protocols(topology):
    context = ssl.create_default_context(cafile=str(topology.cert))
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", topology.https_port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.selected_alpn_protocol() == "h2"
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", topology.https_port), timeout=5) as raw:
        with pytest.raises(ssl.SSLError):
            old.wrap_socket(raw, server_hostname="localhost")


def test_https_answers_the_page_and_the_api(https, topology):
    page = https.get(topology.url + "/", timeout=10)
    assert page.status_code == 200
    assert "text/html" in page.headers["Content-Type"]
    health = https.get(topology.url + "/health", timeout=10)
    assert health.status_code == 200 and health.json()["database"] == "ok"


def test_plain_http_redirects_to_https(topology):
    # To the configured host, whatever Host the request claims (issue 21).
    response = requests.get(topology.http_url + "/api/ratings/top?limit=3",
                            headers={"Host": "evil.example"}, allow_redirects=False, timeout=5)
    assert response.status_code == 301
    assert response.headers["Location"] == (
        f"https://127.0.0.1:{topology.https_port}/api/ratings/top?limit=3"
    )


@pytest.mark.parametrize("path", [
    "/", "/health", "/api/ratings/top", METADATA_URL, MASTER_URL,
    COVER_URL, "/no-such-page", "/metrics",
])
def test_every_response_carries_the_security_headers(https, topology, path):
    response = https.get(topology.url + path, timeout=10)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (path, name)
    # Once each, never doubled by the app and the edge.
    assert response.raw.headers.getlist("Content-Security-Policy") == [CSP]
    assert "X-Powered-By" not in response.headers
    assert not response.headers.get("Server", "").startswith("nginx/")  # no version


def _newest_segment(topology) -> str:
    playlist = (stream_layout.hls_dir(topology.stream_out) / stream_layout.media_playlist_name("flac")).read_text()
    return [line for line in playlist.splitlines() if line.endswith(stream_layout.SEGMENT_SUFFIX)][-1]


def test_caching_and_types_per_file_kind(https, topology):
    base = topology.url
    playlist = https.get(base + MASTER_URL, timeout=10)
    assert playlist.status_code == 200
    assert playlist.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert playlist.headers["Cache-Control"] == "public, max-age=1"

    segment = https.get(f"{base}/stream/{stream_layout.HLS_DIR}/{_newest_segment(topology)}", timeout=10)
    assert segment.status_code == 200
    assert segment.headers["Content-Type"] == "audio/mp4"
    assert segment.headers["Cache-Control"] == "public, max-age=31536000, immutable"

    metadata = https.get(base + METADATA_URL, timeout=10,
                         headers={"Accept-Encoding": "gzip"})
    assert metadata.headers["Content-Type"] == "application/json"
    assert metadata.headers["Cache-Control"] == "public, max-age=1"
    assert metadata.headers["ETag"]
    assert metadata.headers.get("Content-Encoding") == "gzip"
    assert metadata.json()["title"]

    cover = https.get(base + COVER_URL, timeout=10)
    assert cover.headers["Content-Type"] == "image/jpeg"
    assert cover.headers["Cache-Control"] == "no-cache"
    again = https.get(base + COVER_URL, timeout=10,
                      headers={"If-None-Match": cover.headers["ETag"]})
    assert again.status_code in (200, 304)  # 200 only if the track changed meanwhile

    page = https.get(base + "/", timeout=10, headers={"Accept-Encoding": "gzip"})
    assert page.headers["Cache-Control"] == "no-cache"
    assert page.headers.get("Content-Encoding") == "gzip"

    # The station's private files are not served.
    assert https.get(f"{base}/stream/{stream_layout.STATE_NAME}", timeout=10).status_code == 404


def test_vendored_static_files_are_immutable_for_a_year(https, topology):
    from radiocalico.web.player import STATIC_DIR
    from tests.conftest import require

    vendored = sorted(STATIC_DIR.glob("vendor/hls.js@*/*.mjs"))
    require(bool(vendored), "hls.js is not vendored: run `python -m radiocalico.web.vendor`")
    relative = vendored[0].relative_to(STATIC_DIR).as_posix()
    response = https.get(f"{topology.url}/static/{relative}", timeout=10)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_a_burst_of_votes_is_rate_limited_at_the_edge_in_our_json_shape(https, topology):
    fingerprint = _fingerprint()
    artist, title = _on_air(topology)
    statuses = []
    limited = None
    for _ in range(40):
        response = _vote(https, topology.url, fingerprint, artist=artist, title=title)
        statuses.append(response.status_code)
        if response.status_code == 429 and limited is None:
            limited = response
    assert statuses.count(200) >= 10, statuses
    assert limited is not None, statuses
    assert limited.headers["Content-Type"] == "application/json"
    assert limited.json() == RATE_LIMITED
    assert limited.headers["Retry-After"] == "1"
    # nginx answered (the app's limiter would add X-RateLimit-* headers).
    assert "X-RateLimit-Limit" not in limited.headers
    assert limited.headers["Content-Security-Policy"] == CSP
    time.sleep(1.0)  # let the zone drain for the tests that follow


def test_reads_of_ratings_are_not_limited_by_the_vote_zone(https, topology):
    sid = song_id("Test Artist", "Tone 1")
    statuses = {https.get(f"{topology.url}/api/ratings/{sid}", timeout=10).status_code
                for _ in range(30)}
    assert statuses == {200}


def test_the_crowd_asking_a_songs_counts_at_a_track_change_reaches_the_app_once(https, topology):
    """The track-change herd: the counts every page asks are answered by nginx's cache
    (one request reaches the app per second and set of songs), and a vote shows in them
    within the second plus the moment a background refresh takes."""
    artist, title = "Herd Artist", f"Track change {uuid.uuid4().hex[:6]}"
    topology.play(artist, title)
    url = f"{topology.url}/api/ratings/counts?ids={song_id(artist, title)}"
    answers = [https.get(url, timeout=10) for _ in range(40)]
    assert {a.status_code for a in answers} == {200}
    statuses = [a.headers["X-Cache-Status"] for a in answers]
    assert statuses.count("MISS") == 1 and set(statuses[1:]) <= {"HIT", "UPDATING", "STALE", "EXPIRED"}
    assert all("Set-Cookie" not in a.headers for a in answers)
    assert answers[0].json()["counts"][0]["up"] == 0
    assert _vote(https, topology.url, _fingerprint(), artist=artist, title=title).status_code == 200
    deadline = time.monotonic() + 10
    while https.get(url, timeout=10).json()["counts"][0]["up"] != 1:
        assert time.monotonic() < deadline, "the vote never showed in the cached counts"
        time.sleep(0.25)


def test_a_retried_vote_counts_once(https, topology):
    # The song on air (other tests vote on it too: counts are compared).
    fingerprint = _fingerprint()
    artist, title = _on_air(topology)
    first = _vote(https, topology.url, fingerprint, artist=artist, title=title)
    second = _vote(https, topology.url, fingerprint, artist=artist, title=title)
    assert first.status_code == second.status_code == 200
    assert first.json()["up"] == second.json()["up"] and second.json()["my_vote"] == "up"


def test_a_vote_on_a_song_the_station_never_played_is_a_json_404(https, topology):
    """Issue 21: a vote (then a retraction) on any song id left a row in the catalogue."""
    invented = _vote(https, topology.url, _fingerprint(), artist="Look Alike",
                     title=f"Chorale {uuid.uuid4().hex[:6]}")
    assert invented.status_code == 404
    assert invented.json()["error"]["code"] == "song_not_played"


def test_client_sent_x_forwarded_for_does_not_change_the_identity(https, topology):
    """The app's sign-in limit (5/minute per client address) is one bucket, whatever
    address the client claims: nginx overwrites X-Forwarded-For with the peer address."""
    statuses = []
    last = None
    for i in range(8):
        last = https.post(
            topology.url + "/api/users/session",
            json={"login": f"nobody{i}@example.org", "password": "wrong password"},
            headers={"X-Forwarded-For": f"203.0.113.{i + 1}", "X-Real-IP": f"198.51.100.{i}"},
            timeout=10,
        )
        statuses.append(last.status_code)
    assert 429 not in statuses[:5], statuses
    assert statuses[5:] == [429, 429, 429], statuses
    assert last.json()["error"]["code"] == "rate_limited"
    assert last.headers["X-RateLimit-Limit"] == "5"  # the app's limiter, not nginx


def test_votes_keep_the_listener_whatever_address_is_claimed(https, topology):
    fingerprint = _fingerprint()
    artist, title = _on_air(topology)
    cast = _vote(https, topology.url, fingerprint, value="down", artist=artist, title=title,
                 headers={"X-Forwarded-For": "203.0.113.50"})
    assert cast.status_code == 200
    read = https.get(f"{topology.url}/api/ratings/{song_id(artist, title)}", timeout=10,
                     headers={"X-Listener-Fingerprint": fingerprint,
                              "X-Forwarded-For": "198.51.100.7"})
    assert read.json()["my_vote"] == "down" and read.json()["down"] >= cast.json()["down"]


def test_metrics_are_not_public_but_scrape_internally(https, topology):
    for path in ("/metrics", "/metrics/", "/metrics?x=1"):
        response = https.get(topology.url + path, timeout=10)
        assert response.status_code == 404
        assert "radiocalico_" not in response.text
    # Prometheus scrapes a replica directly; any worker sums all workers (multiprocess).
    artist, title = _on_air(topology)
    _vote(https, topology.url, _fingerprint(), artist=artist, title=title)
    text = requests.get(topology.app_url(0) + "/metrics", timeout=10).text
    assert 'radiocalico_http_requests_total{endpoint="ratings.put_vote",method="PUT",status="200"}' in text
    assert 'radiocalico_http_request_duration_seconds_bucket{endpoint="player.index"' in text
    assert "radiocalico_votes_total" in text
    assert "/api/ratings/" not in text  # labelled by endpoint name, never by raw path
    gauges = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line.startswith(("radiocalico_station_segment_age_seconds",
                            'radiocalico_stream_listeners{rendition="all"}'))
    }
    assert 0 <= gauges["radiocalico_station_segment_age_seconds"] < 30
    # Listeners are those of the stream (test_history_edge.py counts them), not API callers.
    assert gauges['radiocalico_stream_listeners{rendition="all"}'] >= 0
    assert "radiocalico_listeners_seen" not in text


def test_readiness_includes_the_station(https, topology):
    response = https.get(topology.url + "/health/ready", timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["station"]["status"] == "ok"
    assert body["checks"]["station"]["segment_age_seconds"] < 30


def test_logs_keep_no_raw_client_address(topology, https):
    """nginx logs the client's network, the app server no address at all."""
    assert https.get(f"{topology.url}/health").status_code == 200
    access_log = topology.root / "nginx-access.log"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and '"remote_network":"127.0.0.0"' not in access_log.read_text():
        time.sleep(0.1)
    nginx_lines = access_log.read_text()
    assert '"remote_network":"127.0.0.0"' in nginx_lines
    upstreams = [f"127.0.0.1:{port}" for port in (*topology.app_ports, topology.stream_server_port)]
    for upstream in upstreams:  # the addresses nginx passed requests to, not clients'
        nginx_lines = nginx_lines.replace(upstream, "")
    assert "127.0.0.1" not in nginx_lines
    for index in range(len(topology.app_ports)):
        app_log = (topology.root / f"app-{index}.log").read_text()
        assert '"remote_addr"' not in app_log
