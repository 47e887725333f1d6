"""Encoders and renditions: the programme's PCM turned into each published rendition's frames.

A `Rendition` is one variant of the stream as the master playlist lists it: its name (one
of `LADDER`, which names its media playlist and segments through `stream_layout`), its codec,
CODECS string and target bitrate, and a factory for its encoder. The station decodes the
programme once and hands every segment of PCM to each rendition's encoder; the HLS writer
publishes the frames it gets back, measuring each rendition's bandwidth from its segments.

The quality ladder, best first (`LADDER`; `STATION_RENDITIONS` picks a subset):

* ``lossless``: FLAC 48 kHz / 24-bit / stereo in fMP4, the programme bit for bit (its files
  keep the names they had before there was a ladder: ``live_flac.m3u8``);
* ``high``: AAC-LC 48 kHz stereo at 256 kbit/s, which every HLS client plays;
* ``saver``: AAC-LC 48 kHz stereo at 96 kbit/s, for slow or metered connections.

Time: an encoder's `encode(pcm, ahead)` gets one segment of PCM and returns an
`EncodedSegment` whose `start` is the run-local programme position of its first frame (0 =
the first sample of this run of the station, a segment edge). FLAC frames divide a segment,
so a FLAC segment starts exactly on the edge. An AAC segment is 93.75 frames long, so its
encoder runs continuously across edges (no gap or click at a join) and its segment holds the
frames that start within [edge, next edge): it starts up to one frame (1,024 samples) after
the edge. Cutting a segment needs the encoder's lookahead: `ahead` is the next `lookahead`
samples of the programme (fed now, not again with the next segment). A restart builds new
encoders, whose run-local position 0 is the resumed segment's edge; the writer maps run-local
positions onto the stream's `tfdt` clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Callable, Protocol, Sequence

import av
import numpy as np

from radiocalico import stream_layout

from . import aac, fmp4, mp4a
from .audio import STREAM_BITS, STREAM_CHANNELS, STREAM_RATE
from .epoch import renumber_flac_frame
from .errors import StationError

LOSSLESS_NAME = stream_layout.LOSSLESS_RENDITION  # its files keep their names of old
HIGH_NAME = "high"
SAVER_NAME = "saver"
LADDER = (LOSSLESS_NAME, HIGH_NAME, SAVER_NAME)  # best first
HIGH_BIT_RATE = 256_000
SAVER_BIT_RATE = 96_000


@dataclass(frozen=True)
class EncodedSegment:
    start: int  # run-local programme position of the first frame's first sample
    frames: list[bytes]  # one MP4 sample each, `frame_samples` long


class Encoder(Protocol):
    """What the station and the HLS writer need of an encoder: the fMP4 init segment of its
    track, the duration of each frame (one MP4 sample) in samples at the stream rate, and how
    many samples past a segment's end it needs to finish that segment."""

    frame_samples: int
    lookahead: int

    def init_segment(self) -> bytes: ...

    def encode(self, pcm: np.ndarray, ahead: np.ndarray) -> EncodedSegment: ...


@dataclass(frozen=True)
class Rendition:
    name: str  # one of LADDER
    codec: str  # "flac" or "aac", as metadatav2.json names it
    codecs: str  # the master playlist's CODECS attribute (RFC 6381)
    bit_rate: int | None  # the encoder's target, None when lossless
    bit_depth: int | None  # of the decoded audio, None for a lossy codec
    universal: bool  # every HLS client (Safari, hls.js, Android, ffmpeg) can play it
    make_encoder: Callable[[], Encoder]  # a fresh encoder for each run of the loop

    @property
    def playlist_name(self) -> str:
        return stream_layout.media_playlist_name(self.name)

    def describe(self) -> dict:
        """This rendition as metadatav2.json's `renditions` lists it (see `publisher`)."""
        return {"name": self.name, "codec": self.codec, "codecs": self.codecs, "bitrate": self.bit_rate,
                "sample_rate": STREAM_RATE, "bit_depth": self.bit_depth, "channels": STREAM_CHANNELS,
                "playlist": self.playlist_name}


def lossless(frame_size: int, compression_level: int = 5) -> Rendition:
    """The FLAC rendition: the programme's PCM bit for bit."""
    return Rendition(LOSSLESS_NAME, "flac", "fLaC", None, STREAM_BITS, False,
                     partial(FlacEncoder, frame_size, compression_level))


def aac_rendition(name: str, bit_rate: int) -> Rendition:
    return Rendition(name, "aac", mp4a.CODECS, bit_rate, None, True, partial(AacSegmenter, bit_rate))


def ladder(names: Sequence[str], frame_size: int, compression_level: int = 5) -> list[Rendition]:
    """The renditions called `names` (STATION_RENDITIONS), best first whatever the order of
    `names`. An unknown or missing name is the operator's to fix: a StationError says so."""
    unknown = [name for name in names if name not in LADDER]
    if unknown or not names:
        what = f"unknown rendition {', '.join(map(repr, unknown))}" if unknown else "no rendition"
        raise StationError(f"STATION_RENDITIONS: {what}; choose from {','.join(LADDER)}")
    make = {LOSSLESS_NAME: lambda: lossless(frame_size, compression_level),
            HIGH_NAME: lambda: aac_rendition(HIGH_NAME, HIGH_BIT_RATE),
            SAVER_NAME: lambda: aac_rendition(SAVER_NAME, SAVER_BIT_RATE)}
    return [make[name]() for name in LADDER if name in names]


class FlacEncoder:
    """FLAC encoder (FFmpeg's) with a fixed block size; one packet per block."""

    lookahead = 0

    def __init__(self, frame_size: int, compression_level: int = 5):
        self.frame_size = frame_size
        ctx = av.CodecContext.create("flac", "w")
        ctx.sample_rate = STREAM_RATE
        ctx.layout = "stereo"
        ctx.format = "s32"  # with bits_per_raw_sample unset FFmpeg encodes 24 bits per sample
        ctx.time_base = Fraction(1, STREAM_RATE)
        ctx.options = {"compression_level": str(compression_level), "frame_size": str(frame_size)}
        ctx.open()
        if ctx.frame_size != frame_size:
            raise RuntimeError(f"FLAC encoder refused frame size {frame_size}")
        self.ctx = ctx
        self.streaminfo = bytes(ctx.extradata)[:34]
        self.pts = 0
        # Epoch locking (`epoch`): the stream sample of this run's 0, so each frame's number
        # is its place on the epoch's clock; None keeps FFmpeg's count from 0.
        self.sample_base: int | None = None

    @property
    def frame_samples(self) -> int:
        return self.frame_size

    def init_segment(self) -> bytes:
        entry = fmp4.flac_sample_entry(self.streaminfo, STREAM_RATE, STREAM_CHANNELS, STREAM_BITS)
        return fmp4.init_segment(entry, STREAM_RATE)

    def encode(self, pcm: np.ndarray, ahead: np.ndarray | None = None) -> EncodedSegment:
        """Encode (n, 2) int32 PCM (n a multiple of the frame size) into FLAC frames."""
        n = len(pcm)
        if n % self.frame_size:
            raise ValueError("PCM length must be a multiple of the FLAC frame size")
        start = self.pts
        out: list[bytes] = []
        for offset in range(0, n, self.frame_size):
            block = np.ascontiguousarray(pcm[offset:offset + self.frame_size]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(block, format="s32", layout="stereo")
            frame.sample_rate = STREAM_RATE
            frame.pts = self.pts
            frame.time_base = self.ctx.time_base
            self.pts += self.frame_size
            out.extend(bytes(packet) for packet in self.ctx.encode(frame))
        if self.sample_base is not None:
            first = (self.sample_base + start) // self.frame_size
            out = [renumber_flac_frame(frame, first + k) for k, frame in enumerate(out)]
        return EncodedSegment(start, out)


class AacSegmenter:
    """An AAC-LC rendition's encoder: one `aac.AacEncoder` for the whole run, its packets
    cut at the segment edges (`aac.take_segment`). Packets of the next segment, and the
    lookahead's samples, wait here for the next call."""

    frame_samples = aac.FRAME_SIZE
    # The encoder returns a packet 2,048 samples after it was fed (its lookahead and the
    # priming), and only whole frames: the segment's last packet needs up to a frame more.
    lookahead = aac.INITIAL_PADDING + 2 * aac.FRAME_SIZE

    def __init__(self, bit_rate: int):
        self.bit_rate = bit_rate
        self.encoder = aac.AacEncoder(bit_rate, start=0)  # run-local 0: this run's first edge
        self._packets: list[aac.AacPacket] = []
        self._edge = 0  # run-local position of the next segment's edge
        self._fed = 0  # run-local position of the next sample to feed the encoder

    def init_segment(self) -> bytes:
        return mp4a.init_segment(self.encoder.extradata, self.bit_rate)

    def encode(self, pcm: np.ndarray, ahead: np.ndarray) -> EncodedSegment:
        end = self._edge + len(pcm)
        for chunk, chunk_start in ((pcm, self._edge), (ahead, end)):
            skip = max(self._fed - chunk_start, 0)  # already fed as the previous call's lookahead
            if skip < len(chunk):
                self._packets += self.encoder.encode(chunk[skip:])
                self._fed = chunk_start + len(chunk)
        packets, self._packets = aac.take_segment(self._packets, self._edge, end)
        self._edge = end
        return EncodedSegment(packets[0].position, [packet.data for packet in packets])


def choose_frame_size(segment_samples: int) -> int:
    """The largest FLAC block size (streamable subset: <= 4608 at 48 kHz) dividing a segment."""
    for size in range(4608, 511, -1):
        if segment_samples % size == 0:
            return size
    raise ValueError(f"no FLAC block size divides a segment of {segment_samples} samples")


def choose_part_size(segment_samples: int, frame_size: int, part_seconds: float) -> int | None:
    """A Low-Latency HLS part length: the whole number of FLAC frames dividing the segment
    nearest `part_seconds` (0.5 s of a 2 s segment of 4,000-sample frames: 6 frames, 24,000
    samples; the AAC renditions' parts then hold 23 or 24 frames). None for no parts (0, or
    a part as long as the segment)."""
    if part_seconds <= 0:
        return None
    frames = segment_samples // frame_size
    wanted = part_seconds * STREAM_RATE / frame_size
    count = min((k for k in range(1, frames + 1) if frames % k == 0), key=lambda k: (abs(k - wanted), k))
    return count * frame_size if count < frames else None
