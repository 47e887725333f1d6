"""Which origin the metadata and cover are asked of, as a pure function run in Chromium by
importing the player's module into a blank page (as test_quality_logic.py does): with
redundant origins they follow the origin of the level hls.js loads, in our station's layout
only; the public CDN's URLs, and anything laid out otherwise, stay as configured."""

from __future__ import annotations

import pytest

from tests.web.test_player_browser import goto

pytestmark = [pytest.mark.browser]

PAGE = "http://radio.test/"


def on_origin(page, server, cases: list[list[str]]) -> list[str]:
    """`onOrigin(url, master, level, PAGE)` for each [url, master, level]."""
    page.route(server.url + "/blank", lambda route: route.fulfill(
        body='<!doctype html><title>blank</title><link rel="icon" href="data:,">', content_type="text/html"))
    goto(page, server.url + "/blank")
    return page.evaluate(
        """async ([cases, base]) => {
          const { onOrigin } = await import('/static/origin.js');
          return cases.map(([url, master, level]) => onOrigin(url, master, level, base));
        }""",
        [cases, PAGE],
    )


def test_the_metadata_and_cover_follow_the_origin_of_the_level(page, station_server):
    got = on_origin(page, station_server, [
        # STREAM_BASE_URL=/a, STATION_ORIGINS=http://radio.test/a/,http://radio.test/b/
        ["/a/metadatav2.json", "/a/hls/live.m3u8", "http://radio.test/b/hls/live_high.m3u8"],
        ["/a/cover.jpg", "/a/hls/live.m3u8", "http://radio.test/b/hls/live_flac.m3u8?_HLS_msn=12&_HLS_part=1"],
        # Origins on other hosts, and back again to the configured one.
        ["https://one.test/radio/metadatav2.json", "https://one.test/radio/hls/live.m3u8",
         "https://two.test/out/hls/live_saver.m3u8"],
        ["https://one.test/radio/metadatav2.json", "https://one.test/radio/hls/live.m3u8",
         "https://one.test/radio/hls/live_saver.m3u8"],
    ])
    assert got == [
        "http://radio.test/b/metadatav2.json",
        "http://radio.test/b/cover.jpg",
        "https://two.test/out/metadatav2.json",
        "https://one.test/radio/metadatav2.json",
    ]


def test_urls_laid_out_otherwise_stay_as_configured(page, station_server):
    cdn = "https://d3d4yli4hf5bmh.cloudfront.net"
    cases = [
        # The public CDN: its media playlists lie below hls/ in folders of their own.
        [f"{cdn}/metadatav2.json", f"{cdn}/hls/live.m3u8", f"{cdn}/hls/flac/playlist.m3u8"],
        [f"{cdn}/cover.jpg", f"{cdn}/hls/live.m3u8", f"{cdn}/hls/aac_hq/playlist.m3u8"],
        # The metadata elsewhere than beside the master's hls/ folder.
        ["https://meta.test/now.json", "/a/hls/live.m3u8", "http://radio.test/b/hls/live_high.m3u8"],
        # A master not in an hls/ folder, a level not in one.
        ["/a/metadatav2.json", "/a/live.m3u8", "http://radio.test/b/hls/live_high.m3u8"],
        ["/a/metadatav2.json", "/a/hls/live.m3u8", "http://radio.test/b/live_high.m3u8"],
        # No level known yet; the level on the configured origin.
        ["/a/metadatav2.json", "/a/hls/live.m3u8", ""],
        ["/a/metadatav2.json", "/a/hls/live.m3u8", "http://radio.test/a/hls/live_high.m3u8"],
    ]
    assert on_origin(page, station_server, cases) == [url for url, _, _ in cases]
