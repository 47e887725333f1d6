"""Codec families in headless Chromium against the real stack (`radiocalico serve`, 1 s
segments, FLAC + AAC renditions): what native HLS and AirPlay are offered, and switches
between FLAC and AAC without SourceBuffer.changeType (which WebKit cannot do)."""

from __future__ import annotations

import m3u8
import pytest

from tests.web.test_player_browser import open_player

pytestmark = [pytest.mark.browser]

HLS_TYPE = "application/vnd.apple.mpegurl"


def test_native_hls_and_airplay_are_offered_an_aac_only_master(page, station_server):
    open_player(page, station_server, play=False)
    page.wait_for_selector(f'#audio source[type="{HLS_TYPE}"]', state="attached")
    offered = page.evaluate(f"""() => {{
      const audio = document.getElementById('audio');
      const sources = audio.querySelectorAll('source[type="{HLS_TYPE}"]');
      return {{count: sources.length, src: sources[0].src, remote: audio.disableRemotePlayback,
               airplay: audio.getAttribute('x-webkit-airplay')}};
    }}""")
    assert offered["count"] == 1 and not offered["remote"] and offered["airplay"] == "allow"
    master = m3u8.loads(page.request.get(offered["src"]).text())
    assert master.is_variant and master.playlists
    assert all(v.stream_info.codecs == "mp4a.40.2" for v in master.playlists)
