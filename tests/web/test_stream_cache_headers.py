"""The dev server's /stream/ and the production nginx send the same Cache-Control."""

from __future__ import annotations

import re
from pathlib import Path

from radiocalico.web import stream

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy/nginx/radiocalico-server.conf.template"


def _nginx_stream_block() -> dict[str, str]:
    """Cache-Control per location inside nginx's `location /stream/` block."""
    text = TEMPLATE.read_text()
    block = text[text.index("location /stream/"):text.index("# Everything else")]
    found = {"default": re.search(r'^        add_header Cache-Control "([^"]+)"', block, re.M).group(1)}
    for pattern, value in re.findall(
        r'location ~ (\S+) \{(?:(?!location).)*?add_header Cache-Control "([^"]+)"', block, re.S
    ):
        found[pattern] = value
    return found


def test_nginx_and_the_dev_server_agree():
    nginx = _nginx_stream_block()
    assert nginx[r"\.(m4s|mp4)$"] == stream.SEGMENT_CACHE
    assert nginx[r"\.m3u8$"] == stream.PLAYLIST_CACHE
    assert nginx[r"\.json$"] == stream.METADATA_CACHE
    assert nginx["default"] == stream.COVER_CACHE  # cover.jpg


def test_a_cdn_may_cache_a_playlist_at_most_half_a_segment():
    max_age = int(re.search(r"max-age=(\d+)", stream.PLAYLIST_CACHE).group(1))
    assert max_age <= 2.0 / 2  # the default STATION_SEGMENT_SECONDS
