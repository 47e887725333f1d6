"""The quality choice in headless Chromium against the real station (1 s segments, all three
renditions): Auto names the rendition heard, a browser without FLAC in MSE plays AAC and never
asks for FLAC, switching Lossless <-> Data saver while playing is seamless, the choice is
remembered and works by keyboard, and the public CDN's shape (its own variants, no
`renditions`) still gets a working control."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.web.conftest import ARTIFACTS
from tests.web.test_player_browser import open_player, serve_public_metadata_shape, wait_progress

pytestmark = [pytest.mark.browser]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SEGMENT_SECONDS = 1.0  # the station_server fixture's
# A rendition's media: its segments, or (Low-Latency HLS, stream_layout.part_name) its parts.
_MEDIA = r"/(?:seg-[0-9a-f]+|part-[0-9a-f]+-[0-9a-f]+)-{}\d+(?:\.\d+)?\.m4s$"
LOSSLESS_SEGMENT = re.compile(_MEDIA.format(""))
SAVER_SEGMENT = re.compile(_MEDIA.format("saver-"))
HIGH_SEGMENT = re.compile(_MEDIA.format("high-"))
NO_FLAC = """(() => {
  for (const name of ['MediaSource', 'ManagedMediaSource']) {
    const MS = window[name];
    if (!MS || !MS.isTypeSupported) continue;
    const original = MS.isTypeSupported.bind(MS);
    MS.isTypeSupported = (type) => /flac/i.test(type) ? false : original(type);
  }
})();"""


def shown(page) -> str:
    return page.inner_text("#stream-quality")


def requests(page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    return seen


def wait_shown(page, prefix: str, timeout: float = 30000) -> None:
    page.wait_for_function("(p) => document.getElementById('stream-quality').textContent.startsWith(p)",
                           arg=prefix, timeout=timeout)


def test_auto_plays_and_names_the_rendition_heard(page, station_server):
    seen = requests(page)
    open_player(page, station_server)
    assert page.input_value("#quality-choice") == "auto"
    # Auto starts on High (nothing measured yet), then the measured bandwidth of a local
    # connection sustains Lossless and Auto steps up.
    # The rendition is named once hls.js reports the fragment playing (FRAG_CHANGED), which
    # on a loaded machine may come a moment after the audio clock first moves.
    page.wait_for_function("() => document.getElementById('stream-quality').textContent !== '–'",
                           timeout=10000)
    first = shown(page)
    assert first in ("High · AAC 256 kbit/s", "Lossless · FLAC 48 kHz / 24-bit"), first
    if first.startswith("High"):
        assert any(HIGH_SEGMENT.search(u) for u in seen)
    wait_shown(page, "Lossless · FLAC 48 kHz / 24-bit")
    wait_progress(page, 1.0)
    assert any(LOSSLESS_SEGMENT.search(u) for u in seen)
    assert not any(SAVER_SEGMENT.search(u) for u in seen)


def test_without_flac_in_mse_it_plays_aac_and_says_why(page, station_server):
    seen = requests(page)
    page.add_init_script(NO_FLAC)
    open_player(page, station_server)
    wait_progress(page, 3.0)
    time.sleep(8)  # long enough for Auto to have stepped up, were it allowed to
    assert shown(page) == "High · AAC 256 kbit/s"
    assert not any("live_flac.m3u8" in u or LOSSLESS_SEGMENT.search(u) for u in seen)
    lossless = page.locator('#quality-choice option[value="lossless"]')
    assert lossless.is_disabled()
    assert "not supported" in lossless.inner_text()
    assert page.is_visible("#quality-note")
    assert page.inner_text("#quality-note") == "Lossless isn't supported by this browser."
    # Choosing it by keyboard cannot happen (disabled), and the other choices still work.
    page.select_option("#quality-choice", "saver")
    wait_shown(page, "Data saver · AAC 96 kbit/s")
    wait_progress(page, 1.0)
    assert not any(LOSSLESS_SEGMENT.search(u) for u in seen)


SAMPLER = """() => {
  const audio = document.getElementById('audio');
  window.__times = [];
  window.__sampler = setInterval(() => window.__times.push([performance.now(), audio.currentTime, audio.paused]), 100);
}"""


def longest_stall(samples: list[list]) -> float:
    """The longest wall-clock stretch (s) over which currentTime did not advance."""
    worst, since = 0.0, samples[0][0]
    for (t0, c0, _), (t1, c1, _) in zip(samples, samples[1:]):
        if c1 > c0 + 0.001:
            since = t1
        worst = max(worst, (t1 - since) / 1000)
    return worst


def test_switching_lossless_and_data_saver_is_seamless(page, station_server):
    seen = requests(page)
    open_player(page, station_server)
    page.select_option("#quality-choice", "lossless")
    wait_shown(page, "Lossless · FLAC 48 kHz / 24-bit")
    wait_progress(page, 2.0)
    page.evaluate(SAMPLER)
    marks = []
    for choice, label, pattern in (("saver", "Data saver · AAC 96 kbit/s", SAVER_SEGMENT),
                                   ("lossless", "Lossless · FLAC 48 kHz / 24-bit", LOSSLESS_SEGMENT),
                                   ("saver", "Data saver · AAC 96 kbit/s", SAVER_SEGMENT)):
        before = len(seen)
        started = time.monotonic()
        page.select_option("#quality-choice", choice)
        wait_shown(page, label, timeout=20000)
        marks.append(time.monotonic() - started)
        assert any(pattern.search(u) for u in seen[before:]), f"no {choice} segment was requested"
        wait_progress(page, 2.0)
    samples = page.evaluate("() => { clearInterval(window.__sampler); return window.__times; }")
    assert not any(paused for _, _, paused in samples), "the audio paused during a switch"
    stall = longest_stall(samples)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "quality-switch.json").write_text(json.dumps({"max_stall_s": stall, "switch_to_shown_s": marks}))
    assert stall <= SEGMENT_SECONDS, f"currentTime stood still for {stall:.2f} s across a switch"
    # No reload: the same audio element went on (currentTime never jumped back).
    assert all(b[1] >= a[1] for a, b in zip(samples, samples[1:]))


def test_the_choice_is_remembered_and_works_by_keyboard(page, station_server):
    open_player(page, station_server, play=False)
    page.locator("body").focus()
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "quality-choice":
            break
    else:
        raise AssertionError("Tab never reached the quality control")
    label = page.evaluate("() => document.activeElement.labels[0].textContent")
    assert label == "Quality"
    page.keyboard.press("End")  # the last option: Data saver
    assert page.input_value("#quality-choice") == "saver"
    page.keyboard.press("Home")
    assert page.input_value("#quality-choice") == "auto"
    page.keyboard.press("ArrowDown")
    assert page.input_value("#quality-choice") == "lossless"
    page.keyboard.press("k")  # a key in the control is not the play shortcut
    assert page.get_attribute("#play", "aria-label") == "Play"
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.input_value("#quality-choice") == "lossless"
    page.click("#play")
    wait_shown(page, "Lossless · FLAC 48 kHz / 24-bit")
    wait_progress(page, 1.0)
    page.evaluate("() => localStorage.removeItem('radiocalico.quality')")


CDN_DIRS = {"flac": "live_flac.m3u8", "aac_hq": "live_high.m3u8", "aac_lq": "live_saver.m3u8"}


def cdn_shape(page, server) -> list[str]:
    """Serve the station as the public CDN would: the fixture's master (its own variant
    folders, several codecs), each folder's playlist and files from the station's rendition,
    and metadata with the CDN's fields only (no `renditions`, no stream_*)."""
    hls = server.url + "/stream/hls/"
    master = (FIXTURES / "cdn_master.m3u8").read_text()
    page.route(hls + "live.m3u8", lambda route: route.fulfill(
        body=master, content_type="application/vnd.apple.mpegurl", headers={"Cache-Control": "no-cache"}))

    def variant(route):
        folder, name = route.request.url[len(hls):].split("?")[0].split("/", 1)
        real = CDN_DIRS[folder] if name == "playlist.m3u8" else name
        route.fulfill(response=route.fetch(url=hls + real))

    for folder in CDN_DIRS:
        page.route(f"{hls}{folder}/**", variant)

    serve_public_metadata_shape(page)
    return requests(page)


def test_the_cdn_shape_without_renditions_still_has_a_working_control(page, station_server):
    seen = cdn_shape(page, station_server)
    open_player(page, station_server)
    options = page.eval_on_selector_all("#quality-choice option", "os => os.map(o => [o.value, o.disabled])")
    assert options == [["auto", False], ["lossless", False], ["high", False], ["saver", False]]
    page.select_option("#quality-choice", "saver")
    wait_shown(page, "Data saver · AAC", timeout=20000)
    assert any("/aac_lq/seg-" in u or "/aac_lq/part-" in u for u in seen)
    page.select_option("#quality-choice", "lossless")
    wait_shown(page, "Lossless · FLAC", timeout=20000)
    assert any("/flac/seg-" in u or "/flac/part-" in u for u in seen)
    wait_progress(page, 1.0)
    assert not any("live_" in u for u in seen), "the player asked for the station's own names"
    page.evaluate("() => localStorage.removeItem('radiocalico.quality')")
    page.goto("about:blank")  # no playlist reload may outlive the routes
    page.unroute_all(behavior="ignoreErrors")


NATIVE_ONLY = """(() => {
  delete window.MediaSource; delete window.ManagedMediaSource; delete window.WebKitMediaSource;
  const original = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return /mpegurl/i.test(type) ? 'maybe' : original.call(this, type);
  };
})();"""


def test_native_hls_offers_only_auto_and_says_why(page, station_server):
    """A browser with its own HLS and no MediaSource (an older iPhone) chooses the quality
    itself: the control offers Auto alone, with the reason, and is still reachable."""
    page.add_init_script(NATIVE_ONLY)
    open_player(page, station_server, play=False)
    options = page.eval_on_selector_all("#quality-choice option", "os => os.map(o => o.value)")
    assert options == ["auto"]
    assert page.is_enabled("#quality-choice")
    assert page.inner_text("#quality-note") == "This browser picks the quality itself."
    assert page.inner_text("#stream-quality") == "Chosen by the browser"
