"""Decoding sources to the stream's PCM format and encoding that to FLAC frames.

The stream is 48 kHz, stereo, 24-bit FLAC. PCM travels between the stages as numpy int32
arrays of shape (samples, 2) holding 24-bit values left-aligned in 32 bits (FFmpeg's "s32"
convention: the low 8 bits are zero), which is what FFmpeg's FLAC decoder gives for a
24-bit file and what its encoder expects. 24-bit sources are carried bit for bit; 16-bit
sources are exactly representable (x << 16). Float sources (MP3, Ogg, AAC) are rounded to
24 bits. Only a source that is not at 48 kHz is resampled, with libsoxr at its
very-high-quality setting (python-soxr), streaming, so a track is never held in memory.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import Iterator

import av
import numpy as np
import soxr

log = logging.getLogger("radiocalico.station")

STREAM_RATE = 48000
STREAM_CHANNELS = 2
STREAM_BITS = 24
_FULL = float(1 << 31)
_MAX24 = (1 << 23) - 1
_MIN24 = -(1 << 23)


def _to_2ch(array: np.ndarray) -> np.ndarray:
    """(channels, samples) -> (samples, 2)."""
    channels = array.shape[0]
    if channels == 1:
        return np.repeat(array.T, 2, axis=1)
    return np.ascontiguousarray(array[:2].T)


def frame_to_pcm(frame: av.AudioFrame) -> np.ndarray:
    """An AudioFrame as (samples, 2) int32, 24 bits left-aligned."""
    fmt = frame.format.name
    channels = len(frame.layout.channels)
    data = frame.to_ndarray()
    if not frame.format.is_planar:
        data = data.reshape(-1, channels).T  # (channels, samples)
    base = fmt.rstrip("p")
    if base == "s16":
        out = data.astype(np.int32) << 16
    elif base == "s32":
        if np.any(data & 0xFF):  # more than 24 significant bits: round to 24
            wide = (data.astype(np.int64) + 128) >> 8
            out = (np.clip(wide, _MIN24, _MAX24).astype(np.int32)) << 8
        else:
            out = data
    elif base == "u8":
        out = (data.astype(np.int32) - 128) << 24
    elif base in ("flt", "dbl"):
        out = float_to_pcm(data.astype(np.float64))
    elif base == "s64":
        out = (np.clip(data >> 40, _MIN24, _MAX24).astype(np.int32)) << 8
    else:
        raise ValueError(f"unsupported sample format {fmt}")
    return _to_2ch(out)


def float_to_pcm(data: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1) to int32 24 bits left-aligned (rounded, clipped)."""
    scaled = np.rint(data * (1 << 23))
    return np.clip(scaled, _MIN24, _MAX24).astype(np.int32) << 8


def decode_track(path, chunk_samples: int = 24000) -> Iterator[np.ndarray]:
    """Yield the file's audio as (n, 2) int32 arrays at 48 kHz, in chunks of about
    `chunk_samples`. Raises av.FFmpegError / ValueError on a decode error."""
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.audio[0]
        stream.thread_type = "NONE"
        resampler: soxr.ResampleStream | None = None
        resampler_rate = None
        pending: list[np.ndarray] = []
        pending_len = 0
        for frame in container.decode(stream):
            if frame.samples == 0:
                continue
            pcm = frame_to_pcm(frame)
            rate = frame.sample_rate
            if rate != STREAM_RATE:
                if resampler is None or resampler_rate != rate:
                    if resampler is not None:  # the rate changed mid-file: flush the old one
                        tail = resampler.resample_chunk(np.zeros((0, 2)), last=True)
                        pending.append(float_to_pcm(tail))
                        pending_len += len(tail)
                    resampler = soxr.ResampleStream(rate, STREAM_RATE, 2, dtype="float64", quality="VHQ")
                    resampler_rate = rate
                pcm = float_to_pcm(resampler.resample_chunk(pcm / _FULL))
            pending.append(pcm)
            pending_len += len(pcm)
            if pending_len >= chunk_samples:
                yield np.concatenate(pending) if len(pending) > 1 else pending[0]
                pending, pending_len = [], 0
        if resampler is not None:
            tail = resampler.resample_chunk(np.zeros((0, 2)), last=True)
            pending.append(float_to_pcm(tail))
            pending_len += len(tail)
        if pending_len:
            yield np.concatenate(pending)


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
