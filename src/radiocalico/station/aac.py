"""Encoding the programme's PCM to AAC-LC, and cutting the packets into HLS segments.

One `AacEncoder` lives for the whole run of a rendition, so the MDCT overlap runs across
segment edges and a player that plays segment after segment hears no gap or click.

Time: every packet carries its programme position, the sample index of the first sample it
decodes to, with position 0 the first programme sample. FFmpeg's `aac` encoder already
subtracts its priming (`initial_padding`, 1,024 samples) from packet timestamps, so the first
packet it emits sits at -1,024: it decodes to the priming that precedes the programme.

Segments: a segment is 2 s = 96,000 samples = 93.75 AAC frames, so AAC segment edges cannot
fall on the programme's edges. Segment k holds the packets whose position lies in
[k*S, (k+1)*S): 93 or 94 frames, starting within one frame after k*S, and since the edges are
computed from the programme (not by adding up segment lengths) drift never accumulates. The
priming packet lies before 0, so it belongs to no segment and is dropped: the first 21 ms of a
run then decode without their overlap half, exactly like any segment a player joins at.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from .audio import STREAM_RATE

FRAME_SIZE = 1024  # samples per AAC-LC frame
INITIAL_PADDING = 1024  # libavcodec/aacenc.c: avctx->initial_padding = 1024
_FULL_SCALE = float(1 << 31)  # int32 left-aligned PCM -> float in [-1, 1)


@dataclass(frozen=True)
class AacPacket:
    position: int  # programme sample index of the first sample this packet decodes to
    data: bytes    # one raw AAC frame (no ADTS header)


class AacEncoder:
    """FFmpeg's native AAC-LC encoder, stereo 48 kHz, fed any number of samples per call."""

    frame_size = FRAME_SIZE
    initial_padding = INITIAL_PADDING

    def __init__(self, bit_rate: int, start: int = 0):
        """`start` is the programme position of the first sample that will be encoded (a
        station that resumes a run starts a new encoder at the resumed segment's edge)."""
        ctx = av.CodecContext.create("aac", "w")
        ctx.sample_rate = STREAM_RATE
        ctx.layout = "stereo"
        ctx.format = "fltp"
        ctx.bit_rate = bit_rate
        ctx.time_base = Fraction(1, STREAM_RATE)
        ctx.open()
        if ctx.frame_size != FRAME_SIZE:
            raise RuntimeError(f"AAC encoder frame size is {ctx.frame_size}, not {FRAME_SIZE}")
        self.ctx = ctx
        self.bit_rate = bit_rate
        self.start = start
        # The AudioSpecificConfig, for the esds box of the init segment.
        self.extradata = bytes(ctx.extradata)
        self._pending = np.zeros((2, 0), dtype=np.float32)  # planar, < FRAME_SIZE samples
        self._fed = 0  # samples handed to FFmpeg, counted from `start`
        self._emitted_until = start - INITIAL_PADDING

    @property
    def emitted_until(self) -> int:
        """Every packet whose position is below this has been returned by `encode`."""
        return self._emitted_until

    def encode(self, pcm: np.ndarray) -> list[AacPacket]:
        """Encode (n, 2) int32 PCM (24 bits left-aligned), any n; return the packets that
        are complete so far. `emitted_until` trails the samples fed by 2,048 (measured with
        FFmpeg 8: one frame of lookahead plus the priming) plus any samples waiting to fill
        a frame, so cutting a segment needs up to 64 ms of the next segment's programme."""
        planar = (pcm.T / _FULL_SCALE).astype(np.float32)
        if self._pending.shape[1]:
            planar = np.concatenate([self._pending, planar], axis=1)
        whole = planar.shape[1] - planar.shape[1] % FRAME_SIZE
        self._pending = planar[:, whole:]
        out: list[AacPacket] = []
        for offset in range(0, whole, FRAME_SIZE):
            out.extend(self._encode_frame(planar[:, offset:offset + FRAME_SIZE]))
        return out

    def flush(self) -> list[AacPacket]:
        """End of the run: encode what is pending (padded by the encoder) and drain it."""
        out: list[AacPacket] = []
        if self._pending.shape[1]:
            out.extend(self._encode_frame(self._pending))
            self._pending = self._pending[:, :0]
        out.extend(self._packets(self.ctx.encode(None)))
        return out

    def _encode_frame(self, planar: np.ndarray) -> list[AacPacket]:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar), format="fltp", layout="stereo")
        frame.sample_rate = STREAM_RATE
        frame.time_base = self.ctx.time_base
        frame.pts = self._fed
        self._fed += planar.shape[1]
        return self._packets(self.ctx.encode(frame))

    def _packets(self, packets) -> list[AacPacket]:
        out = []
        for packet in packets:
            # packet.pts is already priming-corrected: input pts - initial_padding.
            position = self.start + packet.pts
            if position != self._emitted_until:
                raise RuntimeError(f"AAC packet at {position}, expected {self._emitted_until}")
            out.append(AacPacket(position, bytes(packet)))
            self._emitted_until = position + FRAME_SIZE
        return out


def take_segment(packets: list[AacPacket], start: int, end: int) -> tuple[list[AacPacket], list[AacPacket]]:
    """Split the pending packets at a segment's programme edges: (the segment's packets,
    the packets left for later segments). The segment holds the packets whose position is
    in [start, end); packets before `start` (the priming packet, or time already published
    before a restart) are dropped. Raises ValueError if the packets do not yet reach `end`:
    keep encoding until `AacEncoder.emitted_until >= end`."""
    if not packets or packets[-1].position + FRAME_SIZE < end:
        raise ValueError(f"the packets do not reach the segment end {end} yet")
    segment = [p for p in packets if start <= p.position < end]
    rest = [p for p in packets if p.position >= end]
    return segment, rest
