"""The page plays in low-latency mode (parts, blocking playlist reloads) and the latency it
shows, the one heard, is below what the same player hears without Low-Latency HLS."""

from __future__ import annotations

import re
import time

from tests.web.test_player_browser import open_player, wait_progress

NON_LL_LATENCY = """async () => {
  const { default: Hls } = await import('/static/vendor/hls.js@1.7.4/hls.light.min.mjs');
  const audio = new Audio();
  audio.muted = true;
  document.body.append(audio);
  const hls = new Hls({ lowLatencyMode: false });
  hls.attachMedia(audio);
  hls.loadSource('/stream/hls/master_aac.m3u8');
  await new Promise((resolve) => hls.on(Hls.Events.MANIFEST_PARSED, resolve));
  await audio.play();
  const began = performance.now();
  while (performance.now() - began < 6000 || !hls.playingDate) {
    await new Promise((r) => setTimeout(r, 250));
  }
  const latency = (Date.now() - hls.playingDate.getTime()) / 1000;
  hls.destroy();
  audio.remove();
  return latency;
}"""


def shown_latency(page) -> float:
    text = page.inner_text("#latency")
    match = re.search(r"Live latency ([\d.]+) s", text)
    assert match, text
    return float(match.group(1))


def test_the_page_plays_low_latency_and_shows_a_lower_latency(page, station_server):
    blocking = []
    page.on("request", lambda r: "_HLS_msn=" in r.url and blocking.append(r.url))
    open_player(page, station_server)
    wait_progress(page, 6.0, timeout=20)
    assert len(blocking) >= 4, "the page does not reload playlists blocking (low-latency mode)"
    assert any("_HLS_part=" in url for url in blocking)
    rate = page.evaluate("() => document.getElementById('audio').playbackRate")
    assert 1.0 <= rate <= 1.05
    low = [shown_latency(page)]
    for _ in range(4):
        time.sleep(0.5)
        low.append(shown_latency(page))
    plain = page.evaluate(NON_LL_LATENCY)
    low_latency = sorted(low)[len(low) // 2]
    # 1 s segments of three 1/3 s parts: PART-HOLD-BACK 1.02 s against three segments (3 s).
    assert low_latency < plain - 0.5, (low, plain)
    assert low_latency < 2.5, low
