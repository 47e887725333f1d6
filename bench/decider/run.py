"""How long the decider takes to decide one item, by library size (printed, not asserted).

    .venv/bin/python bench/decider/run.py [--sizes 1000,10000,50000] [--decisions 200]

Synthetic tracks (empty files: the decider never opens them) by one artist per ten songs,
the default rules (120 / 30 minutes), a night playlist (a folder) active, a top-of-hour and
an every-4-songs item, and 200 plays of history: each decision runs the whole path (timed
items, requests, the block's playlist, the rotation with the rules). Decisions happen in
the playout loop once per track, so a few milliseconds is what matters against a segment.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from radiocalico.db.programming import Block, Entry, Programming, Timed
from radiocalico.station.decider import Decider, Rules, Snapshot
from radiocalico.station.library import Track
from radiocalico.station.rotation import Rotation


def library(root: Path, size: int) -> list[Track]:
    tracks = []
    for n in range(size):
        folder = root / ("night" if n % 3 == 0 else "day") / f"a{n // 10}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{n}.flac"
        path.touch()
        tracks.append(Track(path, f"Artist {n // 10}", f"Song {n}", "Album", "2020", "", 24, 48000, 2,
                            200.0 + n % 60, "flac"))
    for name in ("id", "jingle"):
        (root / name).mkdir(exist_ok=True)
        (root / name / "x.flac").touch()
        tracks.append(Track(root / name / "x.flac", "Radio Calico", name, "", "", "", 24, 48000, 2, 5.0, "flac"))
    return tracks


def measure(size: int, decisions: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tracks = library(root, size)
        clock = [datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc).timestamp()]
        decider = Decider(Rotation(root, tracks, seed=1), Rules(), clock=lambda: clock[0], seed=1)
        history = [(f"{n:032x}", f"Artist {n}", datetime.fromtimestamp(clock[0] - 60 * n, timezone.utc))
                   for n in range(200)]
        decider.snapshot = Snapshot(
            Programming({"Night": [Entry("folder", "night", 1)], "IDs": [Entry("folder", "id", 1)],
                         "Jingles": [Entry("folder", "jingle", 1)]},
                        [Block("Night", "Night", tuple(range(7)), 0, 360)],
                        [Timed("top_of_hour", None, "IDs"), Timed("every_n", 4, "Jingles")]),
            history, [])
        took = []
        for _ in range(decisions):
            started = time.perf_counter()
            item = decider.next()
            took.append(time.perf_counter() - started)
            clock[0] += item.duration
        # The first decision fills the caches (relative paths, song ids): reported apart.
        return took[0] * 1000, statistics.median(took[1:]) * 1000, max(took[1:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--decisions", type=int, default=200)
    args = parser.parse_args()
    print("| library | first decision ms | median ms | max ms |")
    print("|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        first, median, worst = measure(size, args.decisions)
        print(f"| {size:,} | {first:.1f} | {median:.2f} | {worst:.2f} |")


if __name__ == "__main__":
    main()
