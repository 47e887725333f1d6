"""Page weight before Play, through nginx and from the dev server, side by side (prints
figures, asserts nothing; tests/deploy/test_page_weight.py holds the budget).

    .venv/bin/python bench/player/weight.py [--runs 5]

nginx runs in front of the app as in production (tests/deploy/topology.py: deploy/nginx
rendered natively on loopback, TLS, HTTP/2, one app replica, the station); the dev server
is `radiocalico serve`. Each run is a fresh Chromium context with the cache disabled; the
bytes are what crossed the wire (CDP encodedDataLength), per kind, medians over the runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, POSTGRES_URL  # noqa: E402
from tests.deploy.page_weight import KINDS, weight_before_play  # noqa: E402
from tests.deploy.topology import Topology, drop_schema, schema_url  # noqa: E402
from tests.web.stack import Server, make_library  # noqa: E402


TRACK_SECONDS = 120.0


def medians(runs: list[dict[str, int]]) -> dict[str, float]:
    return {kind: statistics.median(r[kind] for r in runs) for kind in (*KINDS, "total")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="rc-weight-") as tmp:
        database, schema = schema_url(POSTGRES_URL)
        # Tracks of minutes, as on air: a track change during a load would add its cover.
        topology = Topology(Path(tmp) / "edge", database, replicas=1, workers=1,
                            track_seconds=TRACK_SECONDS)
        server = Server(Path(tmp) / "dev", make_library(Path(tmp) / "library", seconds=TRACK_SECONDS))
        try:
            topology.start()
            server.start()
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                edge = medians([weight_before_play(browser, topology.url, ignore_https_errors=True)
                                for _ in range(args.runs)])
                dev = medians([weight_before_play(browser, server.url) for _ in range(args.runs)])
                browser.close()
        finally:
            server.stop()
            topology.stop()
            drop_schema(POSTGRES_URL, schema)

    print(f"bytes on the wire before Play, KiB (median of {args.runs} cold loads)")
    print(f"{'kind':8} {'nginx':>8} {'dev server':>11}")
    for kind in (*KINDS, "total"):
        print(f"{kind:8} {edge[kind] / 1024:8.1f} {dev[kind] / 1024:11.1f}")


if __name__ == "__main__":
    main()
