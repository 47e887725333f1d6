"""The library index at scale: scan time, time to the first track, time to the first
segment, peak memory and the cost of a rescan, for big generated libraries.

    .venv/bin/python bench/library/run.py [--files 5000 50000] [--layouts flat deep] [--work DIR]

A library is N tiny FLAC files (0.5 s, 44.1 kHz / 16-bit, each with its own title, so its
own song id), either all in one folder (flat) or as artist/album/track folders of 10
albums of 20 tracks (deep, with a cover.jpg per album). They are made fast: one file is
encoded and tagged with a fixed-width title, and the copies differ only in those bytes.

Each measurement runs in a child process (peak RSS from wait4(), imports included):

* scan: a fresh `LibraryIndex` (no database): seconds until the first track is playable,
  seconds for the whole first pass, and the child's peak RSS;
* rescan: a new index on that database (a restart): one pass with nothing changed, then
  one after 10 files were rewritten (new content, same size: their mtime tells);
* station: a fresh `Station` on the library: seconds until `start()` returns, i.e. the
  first segment and its metadata are published (play while scanning).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TITLE_WIDTH = 12  # "Song 00000001"

MAKE_CHILD = """
import io, os, sys
from pathlib import Path
import numpy as np
from PIL import Image
sys.path.insert(0, sys.argv[4])
from tests.station.audiofiles import make_flac
root, count, layout = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
template = root.parent / "template.flac"
make_flac(template, 0.5, 44100, 16, seed=1, artist="Bench Artist", title="Song " + "0" * %(width)d, album="Bench")
data = template.read_bytes()
marker = ("Song " + "0" * %(width)d).encode()
cover = io.BytesIO()
Image.new("RGB", (500, 500), (200, 40, 40)).save(cover, format="JPEG")
for i in range(count):
    if layout == "flat":
        folder = root
    else:
        folder = root / f"artist {i // 200:04d}" / f"album {i // 20:05d}"
    if i %% 20 == 0 or layout == "flat":
        folder.mkdir(parents=True, exist_ok=True)
        if layout == "deep":
            (folder / "cover.jpg").write_bytes(cover.getvalue())
    (folder / f"{i:08d}.flac").write_bytes(data.replace(marker, ("Song %%0*d" %% (%(width)d, i)).encode()))
print("{}")
"""

SCAN_CHILD = """
import json, logging, sys, time
from pathlib import Path
logging.basicConfig(level=logging.ERROR)
from radiocalico.station.library_index import LibraryIndex
lib, cache = Path(sys.argv[1]), Path(sys.argv[2])
started = time.monotonic()
index = LibraryIndex(lib, cache, rescan_seconds=3600)
index.start()
index.wait_for_tracks(3600)
first = time.monotonic() - started
index.scanned.wait()
full = time.monotonic() - started
index.stop()
print(json.dumps({"first_track_s": first, "full_scan_s": full, "tracks": len(index.tracks)}))
"""

RESCAN_CHILD = """
import json, logging, os, sys, time
from pathlib import Path
logging.basicConfig(level=logging.ERROR)
from radiocalico.station.library_index import LibraryIndex
lib, cache = Path(sys.argv[1]), Path(sys.argv[2])
started = time.monotonic()
index = LibraryIndex(lib, cache, rescan_seconds=3600)
index.start()
index.scanned.wait()
unchanged = time.monotonic() - started
read_unchanged = index.files_read
index.stop()
files = sorted(lib.rglob("*.flac"))[:10]
for path in files:
    data = bytearray(path.read_bytes())
    data[-1] ^= 1  # other audio, same size: only the mtime tells
    path.write_bytes(bytes(data))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
started = time.monotonic()
index.scan()
changed = time.monotonic() - started
print(json.dumps({"restart_pass_s": unchanged, "read_unchanged": read_unchanged,
                  "rescan_10_changed_s": changed, "read_changed": index.files_read}))
"""

STATION_CHILD = """
import json, logging, sys, time
from pathlib import Path
logging.basicConfig(level=logging.ERROR)
from radiocalico.station import Station
started = time.monotonic()
station = Station(Path(sys.argv[1]), Path(sys.argv[2]), segment_seconds=2.0)
station.start(timeout=600)
first = time.monotonic() - started
station.stop()
print(json.dumps({"first_segment_s": first}))
"""


def child(code: str, *args: str) -> tuple[dict, float]:
    """(the child's JSON answer, its peak RSS in MB)."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read().decode()
    if status != 0:
        raise SystemExit(f"child failed ({status}): {out}")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, nargs="+", default=[5000])
    parser.add_argument("--layouts", nargs="+", default=["flat", "deep"], choices=["flat", "deep"])
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--no-station", action="store_true", help="skip the time to the first segment")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="radiocalico-library-bench-"))
    repo = str(Path(__file__).resolve().parents[2])
    try:
        for count in args.files:
            for layout in args.layouts:
                base = work / f"{layout}-{count}"
                shutil.rmtree(base, ignore_errors=True)
                base.mkdir(parents=True)
                lib = base / "lib"
                started = time.monotonic()
                child(MAKE_CHILD % {"width": TITLE_WIDTH}, str(lib), str(count), layout, repo)
                made = time.monotonic() - started
                scan, scan_rss = child(SCAN_CHILD, str(lib), str(base / "cache"))
                rescan, rescan_rss = child(RESCAN_CHILD, str(lib), str(base / "cache"))
                line = (f"{count:>6} files {layout:<4} (made in {made:.0f} s): "
                        f"first track {scan['first_track_s']:.2f} s, full scan {scan['full_scan_s']:.1f} s "
                        f"({scan['tracks']} tracks), peak RSS {scan_rss:.0f} MB; "
                        f"restart pass (no change) {rescan['restart_pass_s']:.2f} s reading {rescan['read_unchanged']}, "
                        f"rescan with 10 changed {rescan['rescan_10_changed_s']:.2f} s reading {rescan['read_changed']}, "
                        f"peak RSS {rescan_rss:.0f} MB")
                if not args.no_station:
                    station, station_rss = child(STATION_CHILD, str(lib), str(base / "out"))
                    line += f"; station's first segment {station['first_segment_s']:.2f} s (peak RSS {station_rss:.0f} MB)"
                print(line, flush=True)
                shutil.rmtree(base, ignore_errors=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
