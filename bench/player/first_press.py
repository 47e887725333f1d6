"""The first press of Play over a slow link, in Firefox ESR and WebKitGTK (prints figures,
asserts nothing; tests/web/test_engines_browser.py holds the promise).

    .venv/bin/python bench/player/first_press.py [--runs 3] [--engines firefox,webkitgtk] [--rtt 400]

Each engine (its test driver, tests/web/engines/drivers.py) loads the page through a TCP
proxy that delays every byte by half a round trip each way, a new connection by a round
trip, at 2 Mbit/s a connection (tests/web/engines/slow_link.py), in front of the dev
server. Two moments of the press: `load`, as soon as the driver returns from navigating
(Firefox: the load event; WebKitGTK: often while the document is only interactive, before
the player's modules have run), and `ready`, as soon as the player is wired (it has just
asked for the master playlist). Printed per engine and moment: how often the press led to
audio within 30 s, and the seconds from the press to the audio clock passing 0.5 s
(median, min-max).
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

from tests.web.engines.slow_link import SlowLink  # noqa: E402
from tests.web.stack import Server, make_library  # noqa: E402
from tests.web.test_engines_browser import start  # noqa: E402

PLAYING = "() => { const a = document.getElementById('audio'); return !a.paused && a.currentTime > 0.5; }"
STATUS = "() => document.getElementById('status').textContent.trim()"
BOUND_S = 30.0


def press(driver, url: str, moment: str) -> tuple[float | None, str]:
    driver.goto(url)
    if moment == "ready":
        driver.wait_for("() => document.body.dataset.ready === 'true'", timeout=60, interval=0.02)
    driver.click("#play")
    pressed = time.monotonic()
    while time.monotonic() - pressed < BOUND_S:
        if driver.evaluate(PLAYING):
            return time.monotonic() - pressed, ""
        time.sleep(0.1)
    return None, driver.evaluate(STATUS)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default="firefox,webkitgtk")
    parser.add_argument("--rtt", type=float, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder) / "instance", make_library(Path(folder) / "library"), segment_seconds=1.0)
        server.start()
        link = SlowLink(server.port, rtt_ms=args.rtt, kbit=2000)
        try:
            for name in args.engines.split(","):
                driver, others = start(name)
                try:
                    for moment in ("load", "ready"):
                        results = [press(driver, link.url + "/", moment) for _ in range(args.runs)]
                        times = [t for t, _ in results if t is not None]
                        failed = [status for t, status in results if t is None]
                        spread = (f"{statistics.median(times):.1f} s ({min(times):.1f}-{max(times):.1f})"
                                  if times else "-")
                        print(f"{name:10} press at {moment:5}: {len(times)}/{len(results)} played, "
                              f"press to audio {spread}" + (f"; silent, saying {failed}" if failed else ""),
                              flush=True)
                finally:
                    driver.close()
                    for other in others:
                        other.close()
        finally:
            link.close()
            server.stop()


if __name__ == "__main__":
    main()
