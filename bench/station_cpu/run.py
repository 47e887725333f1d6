"""CPU and memory of the station's quality ladder next to the ffmpeg command line doing the
same job.

    .venv/bin/python bench/station_cpu/run.py [--seconds 600] [--rounds 3] [--work DIR]
        [--part-seconds 0.333]

The job: from one 48 kHz/24-bit FLAC track of the demo library, played in a loop, make the
three renditions (FLAC 24-bit, AAC-LC 256 kbit/s, AAC-LC 96 kbit/s) as live HLS with 2 s
fMP4 segments, for `--seconds` of programme, as fast as possible (not paced in real time):

* the station: `Station(..., speed=math.inf)`, the whole pipeline (one decode, three
  encoders, the HLS writer with its playlists and state, metadata and cover art), with
  Low-Latency HLS parts of `--part-seconds` as in production (each part written and the
  media playlists rewritten with it; 0: whole segments only);
* ffmpeg: `-map 0:a` three times, `-c:a:0 flac -c:a:1 aac -b:a:1 256k -c:a:2 aac -b:a:2 96k
  -f hls -hls_segment_type fmp4 -var_stream_map "a:0 a:1 a:2"`.

Each runs as a child process; its CPU (user + system) and peak resident memory (ru_maxrss)
come from wait4(), start-up included (for the station, Python's imports: about a second).
This parent imports nothing big (the demo library is made in a child too): a child started
by vfork inherits the parent's peak RSS in ru_maxrss.
Reported: CPU seconds per hour of programme, the station/ffmpeg ratio, peak RSS, and each
rendition's AVERAGE-BANDWIDTH from both master playlists (a like-for-like check). The rounds
alternate the two; on a shared machine the spread between rounds is the noise to expect.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEGMENT_SECONDS = 2

PREPARE_CHILD = """
import json, shutil, sys
from pathlib import Path
from radiocalico import stream_layout
from radiocalico.station import ensure_demo_library, scan_library
work, single = Path(sys.argv[1]), Path(sys.argv[2])
track = next(t for t in scan_library(ensure_demo_library(work / "demo-library")) if t.sample_rate == 48000)
shutil.rmtree(single, ignore_errors=True)
single.mkdir(parents=True)
shutil.copy(track.path, single / track.path.name)
print(json.dumps({"name": track.path.name, "rate": track.sample_rate, "bits": track.bit_depth,
                  "seconds": track.duration, "master": stream_layout.MASTER_PATH}))
"""

STATION_CHILD = """
import logging, math, sys, time
from pathlib import Path
logging.basicConfig(level=logging.WARNING)
from radiocalico.station import Station
station = Station(Path(sys.argv[1]), Path(sys.argv[2]), segment_seconds=%(segment)d, speed=math.inf,
                  preroll_segments=0, part_seconds=float(sys.argv[4]))
segments = int(sys.argv[3])
station.start()
while station.segments_published < segments and station.running:
    time.sleep(0.01)
station.stop()
print(station.segments_published)
""" % {"segment": SEGMENT_SECONDS}


def measure(argv: list[str]) -> dict:
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    stdout, stderr = proc.stdout.read().decode(), proc.stderr.read().decode()
    proc.stdout.close()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[0]} failed:\n{stderr[-2000:]}")
    return {"cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024, "wall": wall,
            "stdout": stdout}


def bandwidths(master: Path) -> list[str]:
    """Each variant's CODECS and AVERAGE-BANDWIDTH (else BANDWIDTH), in kbit/s."""
    out = []
    for line in master.read_text().splitlines():
        if line.startswith("#EXT-X-STREAM-INF:"):
            rate = re.search(r"AVERAGE-BANDWIDTH=(\d+)", line) or re.search(r"BANDWIDTH=(\d+)", line)
            codecs = re.search(r'CODECS="([^"]+)"', line)
            out.append(f"{codecs.group(1) if codecs else '?'} {int(rate.group(1)) / 1000:.0f}k")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=600, help="programme seconds per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--part-seconds", type=float, default=0.333, help="LL-HLS parts (0: none)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the demo library and outputs")
    args = parser.parse_args()
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("the ffmpeg command line is needed: apt-get install ffmpeg")

    work = args.work or Path(tempfile.mkdtemp(prefix="station-bench-"))
    single = work / "single"
    track = json.loads(subprocess.run([sys.executable, "-c", PREPARE_CHILD, str(work), str(single)],
                                      check=True, capture_output=True, text=True).stdout)
    segments = args.seconds // SEGMENT_SECONDS
    programme = segments * SEGMENT_SECONDS
    print(f"track: {track['name']} ({track['rate']} Hz/{track['bits']}-bit, {track['seconds']:.0f} s, looped); "
          f"{programme} s of programme per run, as fast as possible; {args.rounds} rounds; {os.cpu_count()} CPUs "
          f"(shared machine: expect noise)")

    station_out, ffmpeg_out = work / "out-station", work / "out-ffmpeg"
    station_master = station_out / track["master"]  # stream_layout's, from the child
    station_argv = [sys.executable, "-c", STATION_CHILD, str(single), str(station_out), str(segments),
                    str(args.part_seconds)]
    ffmpeg_argv = [
        ffmpeg, "-nostdin", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(single / track["name"]),
        "-t", str(programme), "-map", "0:a", "-map", "0:a", "-map", "0:a",
        "-c:a:0", "flac", "-c:a:1", "aac", "-b:a:1", "256k", "-c:a:2", "aac", "-b:a:2", "96k", "-strict", "-2",
        "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_list_size", "8", "-hls_segment_type", "fmp4",
        "-hls_flags", "delete_segments+independent_segments+program_date_time",
        "-var_stream_map", "a:0 a:1 a:2", "-master_pl_name", station_master.name,
        "-hls_fmp4_init_filename", "init_%v.mp4", "-hls_segment_filename", str(ffmpeg_out / "seg_%v_%09d.m4s"),
        str(ffmpeg_out / "live_%v.m3u8")]

    rows = []
    for round_ in range(1, args.rounds + 1):
        for out in (station_out, ffmpeg_out):
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
        station = measure(station_argv)
        if int(station["stdout"].strip() or 0) < segments:
            raise SystemExit(f"the station published {station['stdout'].strip()} of {segments} segments")
        reference = measure(ffmpeg_argv)
        rows.append((station, reference))
        print(f"round {round_}: station {station['cpu'] * 3600 / programme:7.1f} CPU s/programme h "
              f"({station['rss_mb']:5.1f} MB peak RSS, {station['wall']:5.1f} s wall)   "
              f"ffmpeg {reference['cpu'] * 3600 / programme:7.1f} CPU s/programme h "
              f"({reference['rss_mb']:5.1f} MB, {reference['wall']:5.1f} s wall)   "
              f"ratio {station['cpu'] / reference['cpu']:.2f}")
    print("bitrates: station", ", ".join(bandwidths(station_master)),
          "| ffmpeg", ", ".join(bandwidths(ffmpeg_out / station_master.name)))
    ratios = [s["cpu"] / f["cpu"] for s, f in rows]
    per_hour = [s["cpu"] * 3600 / programme for s, _ in rows]
    ffmpeg_per_hour = [f["cpu"] * 3600 / programme for _, f in rows]
    rss = max(s["rss_mb"] for s, _ in rows)
    print(f"station: {statistics.median(per_hour):.1f} CPU s/programme h (range {min(per_hour):.1f}-{max(per_hour):.1f}); "
          f"ffmpeg: {statistics.median(ffmpeg_per_hour):.1f} (range {min(ffmpeg_per_hour):.1f}-{max(ffmpeg_per_hour):.1f}); "
          f"ratio median {statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f}); "
          f"station peak RSS {rss:.0f} MB")
    met = statistics.median(ratios) <= 1.0 and rss < 200
    print(f"goal (no more CPU than ffmpeg, under 200 MB): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
