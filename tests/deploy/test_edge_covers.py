"""Through nginx: a track's cover by version (covers/<cover_version>.jpg) is cached for good."""

from __future__ import annotations

from radiocalico import stream_layout
from tests.deploy.test_edge import SECURITY_HEADERS


def test_versioned_covers_are_immutable_for_a_year(https, topology):
    base = f"{topology.url}/stream/"
    meta = https.get(base + stream_layout.METADATA_PATH, timeout=10).json()
    cover = https.get(base + meta["cover_url"], timeout=10)
    assert cover.status_code == 200
    assert cover.headers["Content-Type"] == "image/jpeg"
    assert cover.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    for name, value in SECURITY_HEADERS.items():
        assert cover.headers.get(name) == value, name
    assert cover.content == (topology.stream_out / meta["cover_url"]).read_bytes()
    # The station's temporary files in that folder are not served.
    hidden = f"{stream_layout.COVERS_DIR}/.tmp-1-{meta['cover_version']}{stream_layout.COVER_SUFFIX}"
    (topology.stream_out / hidden).write_bytes(b"partial")
    try:
        assert https.get(base + hidden, timeout=10).status_code == 404
    finally:
        (topology.stream_out / hidden).unlink()
