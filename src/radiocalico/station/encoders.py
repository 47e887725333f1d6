"""Encoders and renditions: the programme's PCM turned into each published rendition's frames.

A `Rendition` is one variant of the stream as the master playlist lists it: its name (which
names its media playlist, `stream_layout.media_playlist_name`), its CODECS string and a
factory for its encoder. The station encodes every segment of PCM once per rendition and
hands the frames to the HLS writer, which measures each rendition's bandwidth from the
segments it writes. A new rendition (say AAC for slow connections) is a new `Rendition`
with an `Encoder` whose `init_segment()` describes its track; the loop stays as it is.

Today there is one rendition, lossless FLAC (48 kHz / 24-bit / stereo) in fragmented MP4.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Callable, Protocol

import av
import numpy as np

from radiocalico import stream_layout

from . import fmp4
from .audio import STREAM_BITS, STREAM_CHANNELS, STREAM_RATE

LOSSLESS_NAME = "flac"  # the lossless rendition, and the stream_codec metadatav2.json announces


class Encoder(Protocol):
    """What the HLS writer needs of an encoder: the fMP4 init segment of its track and the
    duration of each frame (one MP4 sample) in samples at the stream rate."""

    frame_samples: int

    def init_segment(self) -> bytes: ...

    def encode(self, pcm: np.ndarray) -> list[bytes]: ...


@dataclass(frozen=True)
class Rendition:
    name: str  # names the media playlist: live_<name>.m3u8
    codecs: str  # the master playlist's CODECS attribute (RFC 6381)
    make_encoder: Callable[[], Encoder]  # a fresh encoder for each run of the loop

    @property
    def playlist_name(self) -> str:
        return stream_layout.media_playlist_name(self.name)


def lossless(frame_size: int, compression_level: int = 5) -> Rendition:
    """The FLAC rendition: the programme's PCM bit for bit."""
    return Rendition(LOSSLESS_NAME, "fLaC", partial(FlacEncoder, frame_size, compression_level))


class FlacEncoder:
    """FLAC encoder (FFmpeg's) with a fixed block size; one packet per block."""

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

    @property
    def frame_samples(self) -> int:
        return self.frame_size

    def init_segment(self) -> bytes:
        return fmp4.init_segment(self.streaminfo, STREAM_RATE, STREAM_CHANNELS, STREAM_BITS)

    def encode(self, pcm: np.ndarray) -> list[bytes]:
        """Encode (n, 2) int32 PCM (n a multiple of the frame size) into FLAC frames."""
        n = len(pcm)
        if n % self.frame_size:
            raise ValueError("PCM length must be a multiple of the FLAC frame size")
        out: list[bytes] = []
        for start in range(0, n, self.frame_size):
            block = np.ascontiguousarray(pcm[start:start + self.frame_size]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(block, format="s32", layout="stereo")
            frame.sample_rate = STREAM_RATE
            frame.pts = self.pts
            frame.time_base = self.ctx.time_base
            self.pts += self.frame_size
            out.extend(bytes(packet) for packet in self.ctx.encode(frame))
        return out


def choose_frame_size(segment_samples: int) -> int:
    """The largest FLAC block size (streamable subset: <= 4608 at 48 kHz) dividing a segment."""
    for size in range(4608, 511, -1):
        if segment_samples % size == 0:
            return size
    raise ValueError(f"no FLAC block size divides a segment of {segment_samples} samples")
