"""CPU and memory of the station next to the ffmpeg command line doing the same job.

    .venv/bin/python bench/station_cpu/run.py [--seconds 60] [--work DIR] [--skip-ffmpeg]

The job: play a 44.1 kHz/16-bit FLAC track (so both resample to 48 kHz), encode 24-bit FLAC
in fragmented MP4, publish a live HLS playlist with 2 s segments, paced in real time. Both
run as child processes; CPU is read from /proc/<pid>/stat (utime+stime) over a steady-state
window that starts after a warm-up, so start-up (Python imports, demo generation) is
reported separately; peak memory is VmHWM from /proc/<pid>/status. The station is also
measured on the whole demo rotation (44.1 and 48 kHz tracks, cover art, metadata).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parents[2]

STATION_CHILD = """
import logging, sys
from pathlib import Path
logging.basicConfig(level=logging.WARNING)
from radiocalico.station import Station
Station(Path(sys.argv[1]), Path(sys.argv[2]), segment_seconds=2.0).run_forever()
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def measure(name: str, argv: list[str], ready: Path, seconds: float, warmup: float) -> dict:
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not ready.exists():
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited early:\n{proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() - started > 120:
                raise SystemExit(f"{name} did not start")
            time.sleep(0.05)
        startup_wall = time.monotonic() - started
        startup_cpu = cpu_seconds(proc.pid)
        time.sleep(warmup)
        cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        cpu1, wall1 = cpu_seconds(proc.pid), time.monotonic()
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited during the measurement")
        hwm = status_kb(proc.pid, "VmHWM")
        rss = status_kb(proc.pid, "VmRSS")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {
        "name": name,
        "core": (cpu1 - cpu0) / (wall1 - wall0),
        "hwm_mb": hwm / 1024,
        "rss_mb": rss / 1024,
        "startup_cpu": startup_cpu,
        "startup_wall": startup_wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured real-time seconds per run")
    parser.add_argument("--warmup", type=float, default=4.0, help="seconds after the first segment")
    parser.add_argument("--work", type=Path, default=None, help="folder for the demo library and outputs")
    parser.add_argument("--skip-ffmpeg", action="store_true")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "src"))
    from radiocalico import stream_layout
    from radiocalico.station import ensure_demo_library, scan_library
    from radiocalico.station.encoders import LOSSLESS_NAME

    work = args.work or Path(tempfile.mkdtemp(prefix="station-bench-"))
    library = ensure_demo_library(work / "demo-library")
    track = next(t for t in scan_library(library) if t.sample_rate == 44100)
    single = work / "single"
    shutil.rmtree(single, ignore_errors=True)
    single.mkdir(parents=True)
    shutil.copy(track.path, single / track.path.name)
    print(f"track: {track.path.name} ({track.sample_rate} Hz/{track.bit_depth}-bit, {track.duration:.0f} s); "
          f"measuring {args.seconds:.0f} s after {args.warmup:.0f} s of warm-up")

    results = []
    for name, lib in (("station (one track)", single), ("station (demo rotation)", library)):
        out = work / ("out-" + name.split("(")[1].rstrip(")").replace(" ", "-"))
        shutil.rmtree(out, ignore_errors=True)
        results.append(measure(name, [sys.executable, "-c", STATION_CHILD, str(lib), str(out)],
                               out / stream_layout.METADATA_NAME, args.seconds, args.warmup))
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg and not args.skip_ffmpeg:
        out = work / "out-ffmpeg"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        total = args.seconds + args.warmup + 30
        media = stream_layout.media_playlist_name(LOSSLESS_NAME)  # the station's names: a like-for-like job
        argv = [ffmpeg, "-nostdin", "-v", "error", "-re", "-stream_loop", "-1", "-i", str(single / track.path.name),
                "-t", str(total), "-map", "0:a", "-ar", "48000", "-ac", "2", "-c:a", "flac", "-sample_fmt", "s32",
                "-strict", "-2", "-f", "hls", "-hls_time", "2", "-hls_list_size", "8",
                "-hls_segment_type", "fmp4", "-hls_flags", "delete_segments+program_date_time+independent_segments",
                "-master_pl_name", stream_layout.MASTER_NAME, "-hls_fmp4_init_filename", "init.mp4",
                "-hls_segment_filename", str(out / "seg-%09d.m4s"), str(out / media)]
        results.append(measure("ffmpeg -re (same job)", argv, out / media, args.seconds, args.warmup))
    elif not args.skip_ffmpeg:
        print("ffmpeg command line not found: apt-get install ffmpeg")

    print(f"{'process':26} {'CPU (cores)':>11} {'VmHWM MB':>9} {'VmRSS MB':>9} {'start-up CPU s':>15}")
    for r in results:
        print(f"{r['name']:26} {r['core']:11.4f} {r['hwm_mb']:9.1f} {r['rss_mb']:9.1f} {r['startup_cpu']:15.2f}")
    if len(results) == 3 and results[2]["core"] > 0:
        print(f"CPU ratio station/ffmpeg (one track): {results[0]['core'] / results[2]['core']:.2f}; "
              f"memory ratio: {results[0]['hwm_mb'] / results[2]['hwm_mb']:.2f}")
    target = all(r["core"] < 0.02 and r["hwm_mb"] < 150 for r in results[:2])
    print(f"target (< 0.02 core, < 150 MB): {'met' if target else 'NOT met'}")


if __name__ == "__main__":
    main()
