"""A DJ goes live at the production settings: live latency and the hand-over silences.

    .venv/bin/python bench/live/run.py [--segment-seconds 2] [--crossfade 2] [--buffer 1] [--sets 3]

A station at real speed (a two-tone library) takes `--sets` live sets from ffmpeg (a 48 kHz/
24-bit FLAC source in Ogg, sent in real time, as tests/station/test_live.py does) and prints,
per set: the latency from the moment a marked sample was sent to the moment the segment
holding it was published (and to its place on the program-date-time clock), the longest
near-zero run (< -60 dBFS) around the take-over and the hand-back, and the live input's
underruns. No figure is asserted.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from radiocalico.station import Station  # noqa: E402
from radiocalico.station.live import LiveInput, LiveSettings  # noqa: E402
from tests.station.audiofiles import write_pcm  # noqa: E402
from tests.station.streamutil import read_stream  # noqa: E402
from tests.station.test_live import (  # noqa: E402
    DJ_TONES, RATE, ROTATION_TONES, MetadataWatch, credentials, dj_software, labels, longest_silence,
    tone_pcm)
from tests.station.streamutil import wait_for  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segment-seconds", type=float, default=2.0)
    parser.add_argument("--crossfade", type=float, default=2.0)
    parser.add_argument("--buffer", type=float, default=1.0)
    parser.add_argument("--sets", type=int, default=3)
    parser.add_argument("--set-seconds", type=float, default=12.0)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-live-"))
    try:
        lib = tmp / "lib"
        lib.mkdir()
        for i, freq in enumerate(ROTATION_TONES):
            write_pcm(lib / f"{i}.flac", tone_pcm([(freq, 30.0)], seed=i, noise=0.0), RATE, 24, "flac", "flac")
        half = args.set_seconds / 2
        source_pcm = tone_pcm([(DJ_TONES[0], half), (DJ_TONES[1], half)], seed=9)
        source = write_pcm(tmp / "dj.flac", source_pcm, RATE, 24, "flac", "flac")
        live = LiveInput(LiveSettings(port=0, crossfade_seconds=args.crossfade, buffer_seconds=args.buffer),
                         credentials, None)
        station = Station(lib, tmp / "out", segment_seconds=args.segment_seconds, window=10_000, live=live)
        station.start()
        sent = []
        watch = MetadataWatch(station.out)
        try:
            for _ in range(args.sets):
                time.sleep(args.crossfade + 2 * args.segment_seconds)
                sent.append(time.time())
                dj = dj_software(live.port, source, "-c:a", "flac", "-content_type", "audio/ogg", "-f", "ogg")
                dj.wait()
                wait_for(lambda: live.session is None, timeout=60)
                wait_for(lambda: watch.seen[-1][0] is False, timeout=60)
            time.sleep(args.crossfade + 2 * args.segment_seconds)
        finally:
            station.stop()
            watch.stop()
        pcm, playlist = read_stream(station.out, tmp)
        marks = labels(pcm)
        block, n = 2400, int(args.crossfade * RATE)
        segment = station.segment_samples
        runs, i = [], 0
        while i < len(marks):  # each run of DJ blocks is a set on air
            if marks[i] == "dj":
                j = i
                while j + 1 < len(marks) and marks[j + 1] in ("dj", "?"):
                    j += 1
                runs.append((i * block, (j + 1) * block))
                i = j + 1
            else:
                i += 1
        print(f"segments {args.segment_seconds:g} s, crossfade {args.crossfade:g} s, jitter buffer {args.buffer:g} s; "
              f"{len(runs)} set(s) on air of {args.sets}")
        print("| set | latency to published segment | to program-date-time | silence at take-over | at hand-back |")
        print("|---|---:|---:|---:|---:|")
        for number, ((take_over, hand_back), at_sent) in enumerate(zip(runs, sent), 1):
            inner = pcm[take_over + n:take_over + n + 1]
            found = np.flatnonzero((source_pcm[:, 0] == inner[0, 0]) & (source_pcm[:, 1] == inner[0, 1]))
            silences = [longest_silence(pcm[max(0, at - 2 * n):at + 2 * n]) / RATE * 1000 for at in (take_over, hand_back)]
            latency = pdt_latency = float("nan")
            if len(found) == 1:
                index = take_over + n + int(half * RATE) - int(found[0])
                entry = playlist.entries[index // segment]
                latency = entry.pdt + entry.duration - (at_sent + half)
                pdt_latency = entry.pdt + (index % segment) / RATE - (at_sent + half)
            print(f"| {number} | {latency:.2f} s | {pdt_latency:.2f} s | {silences[0]:.1f} ms | {silences[1]:.1f} ms |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
