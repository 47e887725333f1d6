"""CPU cost of the AAC renditions next to the FLAC one, on the same programme.

    .venv/bin/python bench/station_cpu/aac.py [--seconds 60]

Encodes the first seconds of a 48 kHz demo track (synthesised, no files) with each encoder
in one process, fed in 100 ms chunks as the station does, and prints the CPU seconds
(process time: user + system of this process) and the bitrates of the 2 s segments.
"""

from __future__ import annotations

import argparse
import time

from radiocalico.station import fmp4, mp4a
from radiocalico.station.aac import FRAME_SIZE, AacEncoder, take_segment
from radiocalico.station.audio import STREAM_RATE, FlacEncoder, choose_frame_size, float_to_pcm
from radiocalico.station.demo import DEMO_TRACKS, synthesize

SEGMENT = 2 * STREAM_RATE
CHUNK = STREAM_RATE // 10


def aac_run(pcm, bit_rate: int) -> tuple[list[int], list[int]]:
    encoder = AacEncoder(bit_rate)
    pending, sizes, lengths = [], [], []
    for start in range(0, len(pcm), CHUNK):
        pending += encoder.encode(pcm[start:start + CHUNK])
        while encoder.emitted_until >= (len(sizes) + 1) * SEGMENT:
            k = len(sizes)
            segment, pending = take_segment(pending, k * SEGMENT, (k + 1) * SEGMENT)
            sizes.append(len(fmp4.media_segment(k, segment[0].position, FRAME_SIZE, [p.data for p in segment])))
            lengths.append(FRAME_SIZE * len(segment))
    return sizes, lengths


def flac_run(pcm) -> tuple[list[int], list[int]]:
    encoder = FlacEncoder(choose_frame_size(SEGMENT))
    sizes = []
    for start in range(0, len(pcm) - SEGMENT + 1, SEGMENT):
        frames = encoder.encode(pcm[start:start + SEGMENT])
        sizes.append(len(fmp4.media_segment(len(sizes), start, encoder.frame_size, frames)))
    return sizes, [SEGMENT] * len(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    track = next(t for t in DEMO_TRACKS if t.sample_rate == STREAM_RATE and t.seconds >= args.seconds)
    pcm = float_to_pcm(synthesize(track)[:args.seconds * STREAM_RATE])
    print(f"{args.seconds} s of {track.title!r}, 48 kHz stereo, fed in {CHUNK}-sample chunks")
    runs = [("lossless FLAC", lambda: flac_run(pcm)),
            ("high AAC 256k", lambda: aac_run(pcm, 256_000)),
            ("saver AAC 96k", lambda: aac_run(pcm, 96_000))]
    for name, run in runs:
        cpu = time.process_time()
        sizes, lengths = run()
        cpu = time.process_time() - cpu
        peak, average = mp4a.bitrates(sizes, lengths)
        print(f"{name:15s} cpu {cpu:6.2f} s ({100 * cpu / args.seconds:5.1f}% of real time)  "
              f"segments {len(sizes)}  average {average / 1000:7.1f} kbit/s  peak {peak / 1000:7.1f} kbit/s")


if __name__ == "__main__":
    main()
