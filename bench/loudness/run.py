"""Loudness levelling: how fast a file is measured, and what levelling costs the station.

    .venv/bin/python bench/loudness/run.py [--seconds 120] [--programme 600] [--rounds 2]

1. Measurement speed, in seconds of audio measured per second of CPU (this process's CPU
   time around each call), on generated files of `--seconds`: a 48 kHz/24-bit stereo FLAC,
   a 44.1 kHz/16-bit stereo FLAC (resampled on the way, as the station airs it) and a 48 kHz
   5.1 FLAC (downmixed). Broken down into the decode alone (`audio.decode_track`), the
   meter alone on decoded PCM (FFmpeg's ebur128 through PyAV, with `peak=true`, 4x
   oversampled, as used, and with `peak=none` to show what the true peak costs), and the
   whole `loudness.measure`.
2. Station CPU with levelling off and on, side by side: `Station(..., speed=math.inf)` in a
   child process over the same three files for `--programme` seconds of programme with the
   three renditions; CPU (user + system) from wait4(), start-up included; with levelling on,
   the background measurement of the library (once, into an empty cache) is included.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import av  # noqa: E402
import numpy as np  # noqa: E402

from radiocalico.station.audio import decode_track  # noqa: E402
from radiocalico.station.loudness import measure, measure_pcm  # noqa: E402

STATION_CHILD = """
import logging, math, sys, time
from pathlib import Path
logging.basicConfig(level=logging.WARNING)
from radiocalico.station import Station
target = None if sys.argv[4] == "off" else float(sys.argv[4])
station = Station(Path(sys.argv[1]), Path(sys.argv[2]) / "out", segment_seconds=2, speed=math.inf,
                  preroll_segments=0, instance_path=Path(sys.argv[2]), loudness_target=target)
segments = int(sys.argv[3])
station.start()
while station.segments_published < segments and station.running:
    time.sleep(0.01)
station.stop()
"""


def write(path: Path, seconds: float, rate: int, bits: int, layout: str, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    channels = len(av.AudioLayout(layout).channels)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    x = rng.uniform(-0.2, 0.2, (n, channels)) + 0.3 * np.sin(2 * np.pi * 440 * t)[:, None]
    fmt = "s16" if bits == 16 else "s32"
    data = np.rint(x * ((1 << (bits - 1)) - 1)).astype(np.int32)
    data = data.astype(np.int16) if bits == 16 else data << (32 - bits)
    with av.open(str(path), "w", format="flac") as container:
        stream = container.add_stream("flac", rate=rate, layout=layout)
        stream.format = fmt
        for pos in range(0, n, 4096):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data[pos:pos + 4096]).reshape(1, -1),
                                               format=fmt, layout=layout)
            frame.sample_rate, frame.pts = rate, pos
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def cpu(fn):
    started = time.process_time()
    result = fn()
    return time.process_time() - started, result


def meter_only(pcm: list[np.ndarray], peak: str) -> float:
    from fractions import Fraction

    from av.filter import Graph

    graph = Graph()
    source = graph.add_abuffer(format="s32", sample_rate=48000, layout="stereo", time_base=Fraction(1, 48000))
    meter = graph.add("ebur128", f"peak={peak}:metadata=1")
    sink = graph.add("abuffersink")
    source.link_to(meter)
    meter.link_to(sink)
    graph.configure()
    started = time.process_time()
    position = 0
    for chunk in pcm:
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s32", layout="stereo")
        frame.sample_rate, frame.pts = 48000, position
        position += len(chunk)
        graph.push(frame)
        while True:
            try:
                graph.pull()
            except (av.BlockingIOError, av.EOFError):
                break
    graph.push(None)
    return time.process_time() - started


def station_cpu(lib: Path, programme: float, target: str) -> float:
    with tempfile.TemporaryDirectory() as work:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        proc = subprocess.Popen([sys.executable, "-c", STATION_CHILD, str(lib), work, str(int(programme / 2)), target],
                                env=env, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        err = proc.stderr.read().decode()
        proc.stderr.close()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"station failed:\n{err[-2000:]}")
        return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--programme", type=float, default=600.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.seconds:.0f} s files")
    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "lib"
        lib.mkdir()
        files = {"48k/24 stereo": write(lib / "a.flac", args.seconds, 48000, 24, "stereo", 1),
                 "44.1k/16 stereo": write(lib / "b.flac", args.seconds, 44100, 16, "stereo", 2),
                 "48k/24 5.1": write(lib / "c.flac", args.seconds, 48000, 24, "5.1", 3)}
        print("\nmeasurement speed (seconds of audio per CPU second; higher is faster)")
        print(f"| file | decode | ebur128 peak=true | ebur128 peak=none | measure() | I LUFS | TP dBTP |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, path in files.items():
            decode_cpu, pcm = cpu(lambda: list(decode_track(path)))
            true_cpu = min(meter_only(pcm, "true") for _ in range(args.rounds))
            none_cpu = min(meter_only(pcm, "none") for _ in range(args.rounds))
            runs = [cpu(lambda: measure(path)) for _ in range(args.rounds)]
            whole_cpu, result = min(runs, key=lambda r: r[0])
            speed = lambda c: f"{args.seconds / c:,.0f}x"  # noqa: E731
            print(f"| {name} | {speed(decode_cpu)} | {speed(true_cpu)} | {speed(none_cpu)} | {speed(whole_cpu)} | "
                  f"{result.integrated:.2f} | {result.true_peak:.2f} |")
        print(f"\nstation CPU, {args.programme:.0f} s of programme, three renditions, as fast as possible")
        print("| levelling | CPU s (each round) | CPU s per hour of programme |")
        print("|---|---|---:|")
        figures: dict[str, list[float]] = {"off": [], "-18": []}
        for _ in range(args.rounds):
            for target in figures:  # alternated: the machine's load drifts
                figures[target].append(station_cpu(lib, args.programme, target))
        for target, values in figures.items():
            print(f"| {target} | {', '.join(f'{v:.1f}' for v in values)} | "
                  f"{min(values) * 3600 / args.programme:.0f} |")


if __name__ == "__main__":
    main()
