"""Decoding sources to the stream's PCM format (the encoders in `encoders` take it from there).

The stream is 48 kHz, stereo, 24-bit. PCM travels between the stages as numpy int32
arrays of shape (samples, 2) holding 24-bit values left-aligned in 32 bits (FFmpeg's "s32"
convention: the low 8 bits are zero), which is what FFmpeg's FLAC decoder gives for a
24-bit file and what its encoder expects. 24-bit sources are carried bit for bit; 16-bit
sources are exactly representable (x << 16). Float sources (MP3, Ogg, AAC) are rounded to
24 bits. Only a source that is not at 48 kHz is resampled, with libsoxr at its
very-high-quality setting (python-soxr), streaming, so a track is never held in memory.
"""

from __future__ import annotations

import logging
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
