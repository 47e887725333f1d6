"""A DJ goes live and the page hears it: ffmpeg's icecast:// output as the DJ's software,
the embedded station's live input (`radiocalico serve`), the page in Chromium listening
through a WebAudio analyser (test_player_browser's PROBE)."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.station.test_live import dj_software, longest_run, updinfo
from tests.web.stack import RADIOCALICO, TONES, Server, free_port
from tests.web.test_player_browser import PROBE, changes, open_player, tone_of

pytestmark = [pytest.mark.browser]

DJ = "nightowl"
PASSWORD = "a long password for the night shift"
DJ_HZ = 2500.0  # far from the library's tones (330, 660, 1320 Hz)
SHOW = ("Night Owl", "Midnight Set")
SILENT_RMS = 0.005


@pytest.fixture
def on_air_server(tmp_path, tone_library):
    """`radiocalico serve` with its live input on a free port and one DJ."""
    port = free_port()
    server = Server(tmp_path / "instance", tone_library, segment_seconds=1.0, extra_env={
        "STATION_LIVE_PORT": str(port), "LIVE_CROSSFADE_SECONDS": "1", "LIVE_RECORD": "false"})
    server.start()
    added = subprocess.run([str(RADIOCALICO), "dj", "add", DJ], input=PASSWORD + "\n", env=server.env,
                           capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    server.live_port = port
    yield server
    server.stop()


def heard(sample: dict) -> str | None:
    if sample["rms"] <= 0.01:
        return None
    return "dj" if abs(sample["f"] - DJ_HZ) < DJ_HZ * 0.05 else tone_of(sample["f"])


def samples(page) -> list[dict]:
    return page.evaluate("() => window.__samples")


def wait_heard(page, what, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(what(heard(s)) for s in samples(page)[-40:]):
            return
        time.sleep(0.5)
    raise AssertionError(f"not heard within {timeout} s; last heard {[heard(s) for s in samples(page)[-10:]]}")


def test_a_dj_goes_live_the_page_hears_it_names_the_show_and_the_rotation_comes_back(
        context, on_air_server):
    page = context.new_page()
    page.set_default_timeout(15000)
    open_player(page, on_air_server)
    page.evaluate("""() => {
      const watch = () => document.getElementById('track-badges').textContent;
      window.__badges = [];
      setInterval(() => window.__badges.push([performance.now(), watch()]), 25);
    }""")
    page.evaluate(PROBE)
    wait_heard(page, lambda h: h not in (None, "dj"), 20)

    dj = dj_software(on_air_server.live_port, f"sine=frequency={DJ_HZ:.0f}:sample_rate=48000",
                     "-c:a", "flac", "-content_type", "audio/flac", "-f", "flac",
                     user=DJ, password=PASSWORD)
    try:
        time.sleep(0.5)
        assert updinfo(on_air_server.live_port, " - ".join(SHOW), PASSWORD, user=DJ)[0] == 200
        wait_heard(page, lambda h: h == "dj", 30)
        time.sleep(4)  # the show goes on a while
    finally:
        dj.terminate()
        dj.wait(10)
    wait_heard(page, lambda h: h not in (None, "dj"), 30)
    time.sleep(2)

    got = samples(page)
    audible = changes([(s["t"], heard(s)) for s in got], hold_ms=250)
    kinds = [what == "dj" for _, what in audible]
    assert True in kinds and kinds.index(True) + 1 < len(kinds), f"heard {audible}"
    went_live = next(t for t, what in audible if what == "dj")
    came_back = next(t for t, what in audible if t > went_live and what != "dj")

    # The title is the DJ's metadata in step with the DJ's audio (within the 1 s crossfade).
    shown = changes([(s["t"], s["title"].split(" (")[0]) for s in got])
    named = [t for t, title in shown if title == SHOW[1]]
    assert named, f"the title never showed the show's: {shown}"
    assert abs(named[0] - went_live) <= 1000, (named[0] - went_live, shown)
    after = [title for t, title in shown if t > came_back - 1000]
    assert after and after[-1] in {tone.title for tone in TONES}, shown  # a track again
    assert page.inner_text("#track-artist") != SHOW[0]

    # The page marks the live show while it is on, and not after.
    badges = page.evaluate("() => window.__badges")
    on_show = [text for t, text in badges if went_live + 1000 < t < came_back - 1000]
    assert on_show and all(f"Live: {DJ}".lower() in text.lower() for text in on_show), on_show[:3]
    assert "live" not in page.inner_text("#track-badges").lower()

    # The music never stopped: no silence of 100 ms (four analyser samples) from the first
    # sound to the end, the two hand-overs included.
    first = next(i for i, s in enumerate(got) if s["rms"] > SILENT_RMS)
    longest = longest_run(s["rms"] <= SILENT_RMS for s in got[first:])
    assert longest < 4, f"{longest} silent samples in a row (25 ms each)"

