"""The CDN-shaped edge (deploy/edge) in front of the origin nginx, on loopback: stream
objects come out with the origin's per-object Cache-Control, Vary and type, no cookie
either way, a cache key that holds LL-HLS's _HLS_msn/_HLS_part and nothing else of the
query, and concurrent misses of a new object collapsed into one origin request."""

from __future__ import annotations

import re
import threading
import time

import pytest
import requests

from radiocalico import stream_layout
from tests.deploy.edge_cdn import Edge, origin_log_offset, origin_stream_requests
from tests.deploy.topology import wait_for

HLS = f"/stream/{stream_layout.HLS_DIR}"


@pytest.fixture(scope="module")
def edge(topology, tmp_path_factory):
    edge = Edge(tmp_path_factory.mktemp("edge"), topology).start()
    yield edge
    edge.stop()


def _media_playlist(edge) -> tuple[str, str]:
    """A media playlist's path and text, through the edge."""
    master = edge.session().get(edge.url + f"/stream/{stream_layout.MASTER_PATH}", timeout=10)
    media = next(line for line in master.text.splitlines() if line.endswith(".m3u8"))
    return f"{HLS}/{media}", edge.session().get(f"{edge.url}{HLS}/{media}", timeout=10).text


def _origin_hits(edge, offset: int, uri: str) -> int:
    time.sleep(0.3)  # nginx writes its access log line as the answer completes
    return sum(entry["uri"] == uri for entry in origin_stream_requests(edge.origin, offset))


def test_stream_objects_keep_the_origins_headers_and_carry_no_cookie(edge):
    session = edge.session()
    session.cookies.set("radiocalico_session", "a-listeners-session")  # must go nowhere
    playlist_path, text = _media_playlist(edge)
    playlist = session.get(edge.url + playlist_path, headers={"Accept-Encoding": "gzip, br"},
                           timeout=10)
    assert playlist.status_code == 200
    assert playlist.headers["Cache-Control"] == "public, max-age=1"
    assert playlist.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert playlist.headers["Vary"] == "Accept-Encoding"
    assert playlist.headers["Content-Encoding"] == "gzip"
    segment_name = [line for line in text.splitlines() if line.endswith(".m4s")][-1]
    segment_path = f"{playlist_path.rsplit('/', 1)[0]}/{segment_name}"
    offset = origin_log_offset(edge.origin)
    first = session.get(edge.url + segment_path, timeout=10)
    again = session.get(edge.url + segment_path, timeout=10)
    for response in (first, again):
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["Content-Type"] == "audio/mp4"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Set-Cookie" not in response.headers
    assert again.content == first.content
    # The listener's cookie is not part of the key: the second listener is a hit.
    assert again.headers["X-Cache"] == "HIT"
    assert _origin_hits(edge, offset, segment_path) <= 1
    metadata = session.get(f"{edge.url}/stream/{stream_layout.METADATA_PATH}", timeout=10)
    assert metadata.status_code == 200 and metadata.json()["title"]
    assert metadata.headers["Cache-Control"] == "public, max-age=1"
    assert "Set-Cookie" not in metadata.headers
    # A gzip-less client gets the identity variant of the playlist, not the gzip one.
    plain = session.get(edge.url + playlist_path, headers={"Accept-Encoding": "identity"},
                        timeout=10)
    assert "Content-Encoding" not in plain.headers and plain.text.startswith("#EXTM3U")


def test_the_cache_key_holds_the_ll_hls_query_and_nothing_else(edge):
    playlist_path, text = _media_playlist(edge)
    sequence = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1))
    session = edge.session()

    def fetch(query: str) -> str:
        response = session.get(f"{edge.url}{playlist_path}?{query}", timeout=10)
        assert response.status_code == 200, response.text
        return response.headers["X-Cache"]

    # The playlist may be kept 1 s: each pair is asked within that second (or wait).
    def within_a_second(*queries: str) -> list[str]:
        for _ in range(5):
            started = time.monotonic()
            statuses = [fetch(q) for q in queries]
            if time.monotonic() - started < 0.8:
                return statuses
        pytest.skip("the machine is too busy to ask within the playlist's second")

    msn, part = sequence, 0
    assert within_a_second(f"_HLS_msn={msn}&_HLS_part={part}",
                           f"_HLS_msn={msn}&_HLS_part={part}",             # the same object
                           f"_HLS_part={part}&_HLS_msn={msn}",             # in another order
                           f"_HLS_msn={msn}&_HLS_part={part}&nocache=7",   # a cache buster
                           f"_HLS_msn={msn}&_HLS_part={part + 1}",         # the next part
                           f"_HLS_msn={msn + 1}&_HLS_part={part}",         # the next segment
                           ) == ["MISS", "HIT", "HIT", "HIT", "MISS", "MISS"]


def test_concurrent_misses_of_a_new_object_reach_the_origin_once(edge):
    """Fifty listeners ask for a segment nobody fetched through the edge yet, at once."""
    playlist_path, text = _media_playlist(edge)
    directory = playlist_path.rsplit("/", 1)[0]
    known = set(re.findall(r"^\S+\.m4s$", text, re.M))

    def new_segment() -> str | None:
        _, now = _media_playlist(edge)
        fresh = [s for s in re.findall(r"^\S+\.m4s$", now, re.M) if s not in known]
        return fresh[-1] if fresh else None

    # The newest segment, just published: no listener has fetched it through the edge.
    segment = wait_for(new_segment, 30, "a new segment", interval=0.2)
    path = f"{directory}/{segment}"
    offset = origin_log_offset(edge.origin)
    barrier = threading.Barrier(50)
    answers: list[tuple[int, int, str]] = []
    lock = threading.Lock()

    def listener():
        session = edge.session()
        barrier.wait()
        response = session.get(edge.url + path, timeout=15)
        with lock:
            answers.append((response.status_code, len(response.content),
                            response.headers.get("X-Cache", "")))

    threads = [threading.Thread(target=listener) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = {status for status, _, _ in answers}
    sizes = {size for _, size, _ in answers}
    caches = [cache for _, _, cache in answers]
    print(f"\n50 concurrent listeners on a new segment: {caches.count('MISS')} MISS, "
          f"{caches.count('HIT')} HIT, origin requests {_origin_hits(edge, offset, path)}")
    assert len(answers) == 50 and statuses == {200} and len(sizes) == 1
    assert _origin_hits(edge, offset, path) == 1
