"""Quality-ladder benchmark in headless Chromium against the real stack (prints figures,
asserts nothing).

    .venv/bin/python bench/player/ladder.py [--runs 5] [--switches 6] [--segment-seconds 1]

1. Time to audio with each choice (Auto, Lossless, High, Data saver): over `--runs` fresh
   browser contexts, from pressing play to the audio element's `playing` event, and the
   rendition shown once playing.
2. Seamless switching: `--switches` alternations Lossless <-> Data saver while playing,
   currentTime sampled every 100 ms; the longest stretch without advancement, and the time
   from the choice to the new rendition being heard.
3. With `--without-change-type` (what WebKit does, emulated: no SourceBuffer.changeType),
   the same alternations go through the handover between two media elements: the longest
   silence a WebAudio tap measured (tests/web/test_codec_families_browser.py's), and the
   time from the choice to the new rendition being heard.
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
from tests.web.test_player_browser import goto  # noqa: E402
from tests.web.test_codec_families_browser import SILENCE_TAP, WITHOUT_CHANGE_TYPE  # noqa: E402
from tests.web.test_quality_browser import SAMPLER, longest_stall  # noqa: E402

from run import ARM  # noqa: E402  (bench/player/run.py: press Play, note when audio plays)

LABELS = {"lossless": "Lossless", "high": "High", "saver": "Data saver"}


def time_to_audio(browser, url: str, choice: str) -> tuple[float, str]:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.add_init_script(f"localStorage.setItem('radiocalico.quality', '{choice}')")
        goto(page, url + "/")
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_function("() => document.getElementById('track-title').textContent !== 'Tuning in…'")
        page.evaluate(ARM)
        page.wait_for_function("() => window.__playing !== null", timeout=30000)
        ms = page.evaluate("() => window.__playing - window.__pressed")
        return ms, page.inner_text("#stream-quality")
    finally:
        context.close()


def switching(browser, url: str, switches: int, without_change_type: bool = False) -> tuple[float, list[float]]:
    """(longest stall or silence in s, choice-to-heard delays in s; inf when never heard)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        handovers: list[str] = []
        page.on("console", lambda m: m.text.startswith("Handed over") and handovers.append(m.text))
        if without_change_type:
            page.add_init_script(WITHOUT_CHANGE_TYPE["absent"])
            page.add_init_script(SILENCE_TAP)
        page.add_init_script("localStorage.setItem('radiocalico.quality', 'lossless')")
        goto(page, url + "/")
        page.wait_for_selector("body[data-ready=true]")
        page.click("#play")
        page.wait_for_function("() => document.getElementById('stream-quality').textContent.startsWith('Lossless')")
        time.sleep(2)
        page.evaluate("() => { window.__measure = true; }" if without_change_type else SAMPLER)
        delays = []
        for i in range(switches):
            choice = "saver" if i % 2 == 0 else "lossless"
            started = time.monotonic()
            page.select_option("#quality-choice", choice)
            try:
                page.wait_for_function("(p) => document.getElementById('stream-quality').textContent.startsWith(p)",
                                       arg=LABELS[choice], timeout=30000)
                delays.append(time.monotonic() - started)
            except Exception:  # playwright's TimeoutError: this switch never happened
                delays.append(float("inf"))
            time.sleep(2)
        if without_change_type:
            silences = page.evaluate(
                "() => { window.__measure = false; return [...window.__silences, window.__silentFor()]; }")
            for line in handovers:
                print("  " + line)
            return max(silences) / 1000, delays
        samples = page.evaluate("() => { clearInterval(window.__sampler); return window.__times; }")
        return longest_stall(samples), delays
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--switches", type=int, default=6)
    parser.add_argument("--segment-seconds", type=float, default=1.0)
    parser.add_argument("--without-change-type", action="store_true")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        library = make_library(Path(tmp) / "library")
        server = Server(Path(tmp) / "instance", library, segment_seconds=args.segment_seconds)
        server.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                print(f"load average: {os.getloadavg()[0]:.2f}; segments {args.segment_seconds} s")
                for choice in ("auto", "lossless", "high", "saver"):
                    results = [time_to_audio(browser, server.url, choice) for _ in range(args.runs)]
                    times = sorted(ms for ms, _ in results)
                    heard = sorted({label for _, label in results})
                    print(f"time to audio, {choice:8}: median {statistics.median(times):6.0f} ms, "
                          f"min {times[0]:6.0f}, max {times[-1]:6.0f} (n={len(times)}); heard first: {heard}")
                stall, delays = switching(browser, server.url, args.switches)
                print(f"switching Lossless <-> Data saver x{args.switches}: longest currentTime stall {stall:.2f} s; "
                      f"choice to heard: median {statistics.median(delays):.2f} s, max {max(delays):.2f} s")
                if args.without_change_type:
                    silence, delays = switching(browser, server.url, args.switches, without_change_type=True)
                    print(f"without changeType, Lossless <-> Data saver x{args.switches}: longest silence "
                          f"{silence * 1000:.0f} ms; choice to heard: median {statistics.median(delays):.2f} s, "
                          f"max {max(delays):.2f} s")
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
