"""Slow links: time to first audio and stalls per link, in headless Chromium against the
real stack (prints figures, asserts nothing).

    .venv/bin/python bench/player/links.py [--seconds 45] [--runs 1] [--links all] [--debug]

Each run is a fresh browser context whose every request, page and hls.js alike, goes
through Chromium's network emulation (CDP Network.emulateNetworkConditions) from the
first byte of the page: loopback (no emulation), 1 Mbit/s (40 ms RTT), 300 kbit/s
(150 ms RTT), 200 kbit/s (150 ms RTT). The listener waits for the page, presses Play with
the choice on Auto (bench/player/run.py's ARM), and listens for `--seconds`: currentTime is
sampled every 100 ms; a stall is a stretch of at least 250 ms without progress after the
first audio. Printed per link: time from Play to the first `playing` event, stalls (count,
total seconds), the renditions heard first and last.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.web.stack import Server, make_library  # noqa: E402
from tests.web.test_slow_link_browser import SAMPLER, emulate, stalls  # noqa: E402

from run import ARM  # noqa: E402  (bench/player/run.py: press Play, note when audio plays)

# name: (download and upload kbit/s, round-trip ms); None: no emulation.
LINKS = {
    "loopback": None,
    "1mbit": (1000, 40),
    "300kbit": (300, 150),
    "200kbit": (200, 150),
}
STALL_MIN_S = 0.25

# --debug: the element's events (with currentTime and what is buffered) and each segment's
# download, from the page's resource timing, ms after Play is pressed.
TRACE = """() => {
  const audio = document.getElementById('audio');
  const t0 = window.__pressed;
  const ranges = () => Array.from({length: audio.buffered.length},
    (_, i) => `${audio.buffered.start(i).toFixed(2)}-${audio.buffered.end(i).toFixed(2)}`).join(' ');
  window.__trace = [];
  for (const type of ['play', 'playing', 'waiting', 'seeking', 'seeked', 'pause', 'loadedmetadata', 'canplay']) {
    audio.addEventListener(type, () => window.__trace.push(
      [performance.now() - t0, `${type} t=${audio.currentTime.toFixed(2)} buffered=[${ranges()}]`]));
  }
  for (const entry of performance.getEntriesByType('resource')) {
    if (entry.name.includes('/stream/') && entry.responseEnd > t0 - 5000) window.__trace.push(
      [entry.startTime - t0, `fetched ${entry.name.split('/stream/')[1]} until ${(entry.responseEnd - t0).toFixed(0)}`]);
  }
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.name.includes('/stream/')) window.__trace.push(
      [entry.startTime - t0, `fetched ${entry.name.split('/stream/')[1]} until ${(entry.responseEnd - t0).toFixed(0)}`]);
  }).observe({type: 'resource'});
}"""


def listen(browser, url: str, link, seconds: float, debug: bool = False) -> dict:
    context = browser.new_context()
    try:
        page = context.new_page()
        if link is not None:
            emulate(context.new_cdp_session(page), *link)
        page.goto(url + "/", timeout=120_000)
        page.wait_for_selector("body[data-ready=true]", timeout=120_000)
        page.wait_for_function("() => document.getElementById('track-title').textContent !== 'Tuning in…'",
                               timeout=120_000)
        time.sleep(1.0)  # a listener reads the page before pressing play
        page.evaluate(ARM)
        page.evaluate(SAMPLER)
        if debug:
            page.evaluate(TRACE)
        page.wait_for_function("() => window.__playing !== null", timeout=60_000)
        first_audio = page.evaluate("() => (window.__playing - window.__pressed) / 1000")
        page.wait_for_function("() => document.getElementById('stream-quality').textContent !== '–'")
        heard_first = page.inner_text("#stream-quality")
        time.sleep(seconds)
        samples = page.evaluate("() => { clearInterval(window.__sampler); return window.__times; }")
        found = stalls(samples, STALL_MIN_S)
        if debug:
            for at, what in sorted(page.evaluate("() => window.__trace")):
                print(f"  {at / 1000:7.2f} s  {what}")
            t0 = page.evaluate("() => window.__pressed")
            moves = [(t - t0, c) for t, c in samples]
            print("  currentTime each 0.5 s: " + " ".join(f"{c:.1f}" for t, c in moves[::5][:30]))
        return {"first_audio": first_audio, "stalls": len(found), "stalled": sum(found),
                "heard_first": heard_first, "heard_last": page.inner_text("#stream-quality")}
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--links", default="all", help=f"comma-separated of {', '.join(LINKS)}")
    parser.add_argument("--segment-seconds", type=float, default=2.0)
    parser.add_argument("--debug", action="store_true", help="print each run's events and segment downloads")
    args = parser.parse_args()
    names = list(LINKS) if args.links == "all" else args.links.split(",")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="rc-links-") as tmp:
        server = Server(Path(tmp) / "instance", make_library(Path(tmp) / "library"),
                        segment_seconds=args.segment_seconds)
        server.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                print(f"load average {os.getloadavg()[0]:.2f}; segments {args.segment_seconds} s; "
                      f"{args.seconds:.0f} s per run, Auto", flush=True)
                for name in names:
                    runs = [listen(browser, server.url, LINKS[name], args.seconds, args.debug) for _ in range(args.runs)]
                    first = statistics.median(r["first_audio"] for r in runs)
                    print(f"{name:9} first audio {first:5.2f} s (median of {len(runs)}); stalls "
                          + ", ".join(f"{r['stalls']} ({r['stalled']:.1f} s)" for r in runs)
                          + f"; heard first {runs[0]['heard_first']!r}, last {runs[0]['heard_last']!r}",
                          flush=True)
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
