"""Player benchmark against the real stack in headless Chromium (prints figures, asserts nothing).

    .venv/bin/python bench/player/run.py [--runs 10] [--segment-seconds 1] [--changes 6]

1. Over `--runs` fresh browser contexts (cold cache): time from pressing play to the audio
   element's `playing` event, the bytes transferred from navigation to `playing` (all of the
   page, and the stream alone: playlists, init and media segments).
2. One listening session over `--changes` track changes (8 s tone tracks): the offset between
   the audible change (dominant FFT bin of a Web Audio analyser) and the displayed title change.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.web.stack import Server, make_library  # noqa: E402
from tests.web.test_player_browser import PROBE, changes, goto, tone_of  # noqa: E402

ARM = """() => {
  const audio = document.getElementById('audio');
  window.__playing = null;
  audio.addEventListener('playing', () => { window.__playing ??= performance.now(); }, { once: true });
  window.__pressed = performance.now();
  document.getElementById('play').click();
}"""


def start_run(browser, url: str) -> dict:
    context = browser.new_context()
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    urls: dict[str, str] = {}
    sizes = {"all": 0, "stream": 0}
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))

    def finished(event):
        sizes["all"] += event["encodedDataLength"]
        if "/stream/" in urls.get(event["requestId"], ""):
            sizes["stream"] += event["encodedDataLength"]

    cdp.on("Network.loadingFinished", finished)
    goto(page, url + "/")
    page.wait_for_selector("body[data-ready=true]")
    time.sleep(1.0)  # a listener reads the page before pressing play
    page.evaluate(ARM)
    page.wait_for_function("() => window.__playing !== null", timeout=20000)
    seconds = page.evaluate("() => (window.__playing - window.__pressed) / 1000")
    time.sleep(0.2)  # let loadingFinished events of the first segments arrive
    result = {"play_to_playing": seconds, "bytes_all": sizes["all"], "bytes_stream": sizes["stream"]}
    context.close()
    return result


def measure_offsets(browser, url: str, wanted: int, timeout: float) -> list[float]:
    context = browser.new_context()
    page = context.new_page()
    goto(page, url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#play")
    page.wait_for_function("() => !document.getElementById('audio').paused && document.getElementById('audio').currentTime > 0.5")
    page.evaluate(PROBE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(1)
        samples = page.evaluate("() => window.__samples")
        heard = [(s["t"], tone_of(s["f"]) if s["rms"] > 0.01 else None) for s in samples]
        if len(changes(heard)) >= wanted:
            break
    samples = page.evaluate("() => window.__samples")
    context.close()
    heard = [(s["t"], tone_of(s["f"]) if s["rms"] > 0.01 else None) for s in samples]
    shown = [(s["t"], s["title"].split(" (")[0]) for s in samples]
    displayed = changes(shown)
    offsets = []
    for t, title in changes(heard):
        match = [d for d in displayed if d[1] == title and abs(d[0] - t) < 10000]
        if match:
            offsets.append((min(match, key=lambda d: abs(d[0] - t))[0] - t) / 1000)
    return offsets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--segment-seconds", type=float, default=1.0)
    parser.add_argument("--changes", type=int, default=6)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="rc-bench-") as tmp:
        print(f"logs: {tmp}", flush=True)
        library = make_library(Path(tmp) / "library", seconds=8.0)
        server = Server(Path(tmp) / "instance", library, segment_seconds=args.segment_seconds)
        server.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                runs = []
                for i in range(args.runs):
                    runs.append(start_run(browser, server.url))
                    print(f"run {i + 1}: {runs[-1]}", flush=True)
                offsets = measure_offsets(browser, server.url, args.changes, timeout=args.changes * 8 + 30)
                browser.close()
        finally:
            server.stop()

    times = [r["play_to_playing"] for r in runs]
    print(f"segments: {args.segment_seconds} s, runs: {len(runs)} (fresh context each, loopback)")
    print(f"play -> playing: median {statistics.median(times) * 1000:.0f} ms, "
          f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")
    print(f"bytes before first audio: page+stream median {statistics.median(r['bytes_all'] for r in runs) / 1024:.0f} KiB, "
          f"stream only median {statistics.median(r['bytes_stream'] for r in runs) / 1024:.0f} KiB")
    if offsets:
        worst = max(offsets, key=abs)
        print(f"now-playing offset vs audio over {len(offsets)} track changes: "
              f"median {statistics.median(offsets) * 1000:+.0f} ms, worst {worst * 1000:+.0f} ms "
              f"(positive: the title changed after the audio)")
    else:
        print("now-playing offset: no track change observed")


if __name__ == "__main__":
    main()
