"""A listener on a slow link (Chromium's network emulation: 300 kbit/s, 150 ms round
trips, from the page's first byte): Auto starts on the rung the link sustains and the music
never stops. The link estimate itself (link.js) is checked as a pure function. Time to first
audio per link is bench/player/links.py's (figures, not assertions)."""

from __future__ import annotations

import time

import pytest

from tests.web.test_player_browser import goto

pytestmark = [pytest.mark.browser]

SLOW_LINK = (300, 150)  # kbit/s both ways, round trip ms
STALL_MIN_S = 0.5
LISTEN_S = 45  # issue 17: no stall in 45 s at 300 kbit/s

# currentTime every 100 ms, from the moment Play is pressed.
SAMPLER = """() => {
  const audio = document.getElementById('audio');
  window.__times = [];
  window.__sampler = setInterval(() => window.__times.push([performance.now(), audio.currentTime]), 100);
}"""


def emulate(cdp, kbit: int, rtt_ms: int) -> None:
    """Every request of the page (hls.js's too) goes through a link of this speed."""
    rate = kbit * 1000 / 8  # bytes/s
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": rtt_ms, "downloadThroughput": rate, "uploadThroughput": rate,
    })


def stalls(samples: list[list[float]], minimum: float) -> list[float]:
    """Stretches (s) of at least `minimum` without progress, after the first progress (a
    main thread too busy to sample shows as a gap between samples, not as a stall)."""
    out, since, started = [], None, False
    for (t0, c0), (_t1, c1) in zip(samples, samples[1:]):
        if c1 > c0 + 0.001:
            if since is not None and (t0 - since) / 1000 >= minimum:
                out.append((t0 - since) / 1000)
            since, started = None, True
        elif started and since is None:
            since = t0
    if since is not None and (samples[-1][0] - since) / 1000 >= minimum:
        out.append((samples[-1][0] - since) / 1000)
    return out


def test_on_a_300_kbit_link_auto_starts_on_what_the_link_sustains_and_never_stalls(context, station_server):
    page = context.new_page()
    emulate(context.new_cdp_session(page), *SLOW_LINK)
    goto(page, station_server.url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    page.wait_for_function("() => document.getElementById('track-title').textContent !== 'Tuning in…'",
                           timeout=60_000)
    page.evaluate(SAMPLER)
    page.click("#play")
    page.wait_for_function("() => !document.getElementById('audio').paused"
                           " && document.getElementById('audio').currentTime > 0", timeout=30_000)
    # High (256 kbit/s) does not fit 300 kbit/s with Auto's margin: the data saver does.
    page.wait_for_function("() => document.getElementById('stream-quality').textContent !== '–'")
    assert page.inner_text("#stream-quality").startswith("Data saver")
    time.sleep(LISTEN_S)
    samples = page.evaluate("() => { clearInterval(window.__sampler); return window.__times; }")
    assert samples[-1][1] > LISTEN_S / 2, "the music did not play on"
    assert stalls(samples, STALL_MIN_S) == []
    page.close()


def test_the_link_estimate_comes_from_the_page_s_own_downloads(page, station_server):
    goto(page, station_server.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    estimates = page.evaluate("""async () => {
      const { linkEstimate, UNMEASURED_BPS } = await import('/static/link.js');
      const { AutoPolicy } = await import('/static/auto.js');
      const rungs = [{name: 'lossless', bandwidth: 2160000}, {name: 'high', bandwidth: 258000},
                     {name: 'saver', bandwidth: 99000}];
      const entry = (bytes, ms) => ({ encodedBodySize: bytes, responseStart: 1000, responseEnd: 1000 + ms });
      const start = (entries) => new AutoPolicy(rungs).start(linkEstimate(entries));
      return {
        // 120 KB in 3.2 s (300 kbit/s) and a small file that only says how long a round trip is.
        slow: linkEstimate([entry(120000, 3200), entry(2000, 400)]),
        slowStart: start([entry(120000, 3200)]),
        midStart: start([entry(120000, 1000), entry(20000, 400)]),
        fastStart: start([entry(120000, 100)]),
        cached: linkEstimate([entry(0, 0), entry(2000, 5)]),
        cachedStart: start([]),
        unmeasured: UNMEASURED_BPS,
        page: linkEstimate(),
      };
    }""")
    assert estimates["slow"] == 300_000
    assert estimates["slowStart"] == "saver"
    assert estimates["midStart"] == "high"  # 960 kbit/s
    assert estimates["fastStart"] == "lossless"  # 9.6 Mbit/s
    assert estimates["cached"] == estimates["unmeasured"]
    assert estimates["cachedStart"] == "saver"
    assert estimates["page"] > 1_000_000  # loopback: the page's own downloads say so
