"""Low-Latency HLS through nginx: blocking playlist reloads are held by the stream server
(radiocalico.stream_server), cached by URI and query; everything else still comes from
disk; FFmpeg still plays the playlists."""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import av

from radiocalico import stream_layout
from radiocalico.stream_server import blocking

PLAYLIST = f"/stream/{stream_layout.HLS_DIR}/{stream_layout.media_playlist_name('high')}"


def position(text: str) -> blocking.Position:
    at = blocking.position(text)
    assert at is not None
    return at


def next_part(at: blocking.Position, ahead: int = 1) -> tuple[int, int]:
    per = max(at.last_parts, 1)
    return divmod((at.last_msn + 1) * per + at.open_parts - 1 + ahead, per)


def test_plain_playlist_is_from_disk_with_low_latency_tags(https, topology):
    response = https.get(topology.url + PLAYLIST)
    assert response.status_code == 200
    assert "X-Cache-Status" not in response.headers  # not through the stream server
    assert "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES" in response.text
    assert "#EXT-X-PART:" in response.text and "#EXT-X-PRELOAD-HINT:" in response.text


def test_blocking_reload_waits_for_the_part_and_is_shared(https, topology):
    at = position(https.get(topology.url + PLAYLIST).text)
    msn, part = next_part(at, ahead=2)
    url = f"{topology.url}{PLAYLIST}?_HLS_msn={msn}&_HLS_part={part}"

    def fetch(_):
        began = time.monotonic()
        r = https.get(url, timeout=15)
        return r.status_code, r.text, r.headers.get("X-Cache-Status"), time.monotonic() - began

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(fetch, range(8)))
    assert all(status == 200 for status, *_ in answers), answers
    for _status, text, _cache, took in answers:
        assert blocking.holds(position(text), blocking.Want(msn, part))
        assert took < 3.0
    assert max(took for *_, took in answers) > 0.2  # they waited (two parts ahead: ~0.5 s)
    # One went upstream; the others were answered from nginx's cache of that answer.
    assert sorted(cache for _s, _t, cache, _d in answers).count("MISS") == 1
    assert len({text for _s, text, _c, _d in answers}) == 1
    again = https.get(url)
    assert again.headers.get("X-Cache-Status") == "HIT" and again.text == answers[0][1]


def test_blocking_reload_refusals_pass_through(https, topology):
    at = position(https.get(topology.url + PLAYLIST).text)
    for query in (f"_HLS_msn={at.last_msn + 3}", "_HLS_part=0", "_HLS_msn=abc"):
        response = https.get(f"{topology.url}{PLAYLIST}?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]["code"] == "bad_request"


def test_a_hinted_part_is_answered_when_written(https, topology):
    text = https.get(topology.url + PLAYLIST).text
    hint = text.split('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="')[1].split('"')[0]
    began = time.monotonic()
    response = https.get(f"{topology.url}/stream/{stream_layout.HLS_DIR}/{hint}", timeout=10)
    assert response.status_code == 200 and response.content[4:8] == b"styp"
    assert time.monotonic() - began < 2.0


def test_ffmpeg_plays_the_low_latency_stream_through_nginx(topology, tmp_path):
    """A player without Low-Latency HLS reads the same playlists over HTTP."""
    wav = tmp_path / "got.wav"
    result = subprocess.run(["ffmpeg", "-v", "error", "-y", "-tls_verify", "0", "-i",
                             topology.url + f"/stream/{stream_layout.MASTER_PATH}", "-t", "3", str(wav)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    with av.open(str(wav)) as container:
        samples = sum(f.samples for f in container.decode(audio=0))
    assert samples >= 2.9 * 48000
