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
import math
from typing import Iterator

import av
import numpy as np
import soxr

from .library import NO_PICTURES

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


def decode_track(path, chunk_samples: int = 24000, start: int = 0) -> Iterator[np.ndarray]:
    """Yield the file's audio as (n, 2) int32 arrays at 48 kHz, in chunks of about
    `chunk_samples`, from stream sample `start` of the track on (a restarted station
    resuming it): exactly the samples a decode from the beginning gives from there.
    Raises av.FFmpegError / ValueError on a decode error."""
    first_source, drop = 0, 0
    if start > 0:
        first_source, drop = _resume_point(path, start)
    pending: list[np.ndarray] = []
    pending_len = 0
    for pcm in _resampled(_source_pcm(path, first_source)):
        if drop:
            cut = min(drop, len(pcm))
            pcm, drop = pcm[cut:], drop - cut
        if len(pcm) == 0:
            continue
        pending.append(pcm)
        pending_len += len(pcm)
        if pending_len >= chunk_samples:
            yield np.concatenate(pending) if len(pending) > 1 else pending[0]
            pending, pending_len = [], 0
    if pending_len:
        yield np.concatenate(pending)


# Source audio fed to the resampler before a resume point, so that its filter has the
# history it had when decoding from the beginning (libsoxr's output is delay-compensated:
# started on a source sample that falls on a 48 kHz sample, it is sample-aligned with a
# decode from the beginning).
_RESAMPLER_HISTORY_SECONDS = 0.1
_DECODER_HISTORY_SECONDS = 0.1


def _resume_point(path, start: int) -> tuple[int, int]:
    """(source sample to decode from, 48 kHz samples to drop after resampling) to resume at
    stream sample `start`."""
    with av.open(str(path), metadata_errors="ignore", options=NO_PICTURES) as container:
        rate = int(container.streams.audio[0].codec_context.sample_rate or STREAM_RATE)
    if rate == STREAM_RATE:
        return start, 0
    step = rate // math.gcd(rate, STREAM_RATE)  # source samples that fall on a 48 kHz sample
    history = int(_RESAMPLER_HISTORY_SECONDS * rate)
    first = max(0, (start * rate // STREAM_RATE - history) // step * step)
    return first, start - first * STREAM_RATE // rate


def _resampled(frames: Iterator[tuple[int, np.ndarray]]) -> Iterator[np.ndarray]:
    """(source rate, PCM) to 48 kHz PCM: resampled when the source is at another rate."""
    resampler: soxr.ResampleStream | None = None
    resampler_rate = None
    for rate, pcm in frames:
        if rate != STREAM_RATE:
            if resampler is None or resampler_rate != rate:
                if resampler is not None:  # the rate changed mid-file: flush the old one
                    yield float_to_pcm(resampler.resample_chunk(np.zeros((0, 2)), last=True))
                resampler = soxr.ResampleStream(rate, STREAM_RATE, 2, dtype="float64", quality="VHQ")
                resampler_rate = rate
            pcm = float_to_pcm(resampler.resample_chunk(pcm / _FULL))
        yield pcm
    if resampler is not None:
        yield float_to_pcm(resampler.resample_chunk(np.zeros((0, 2)), last=True))


class _SeekMissed(Exception):
    """The demuxer's seek did not land where it can be told to be at or before the target."""


def _source_pcm(path, first: int) -> Iterator[tuple[int, np.ndarray]]:
    """(rate, PCM) of the source from source sample `first` on: seeks there (PyAV
    `container.seek`, then decodes and discards up to the exact sample); when the format
    cannot say where a seek landed, decodes from the beginning and discards."""
    if first > 0:
        try:
            yield from _decode_from(path, first, seek=True)
            return
        except _SeekMissed:
            log.info("cannot seek exactly in %s; decoding it from the beginning", path)
    yield from _decode_from(path, first, seek=False)


def _decode_from(path, first: int, seek: bool) -> Iterator[tuple[int, np.ndarray]]:
    with av.open(str(path), metadata_errors="ignore", options=NO_PICTURES) as container:
        stream = container.streams.audio[0]
        stream.thread_type = "NONE"
        position: int | None = 0  # source sample of the next decoded frame's start
        if seek:
            rate = stream.codec_context.sample_rate
            origin = stream.start_time or 0
            try:
                # A little early: a codec with overlapping frames (AAC) needs the frame before.
                target = max(0.0, first / rate - _DECODER_HISTORY_SECONDS)
                container.seek(origin + int(target / stream.time_base), stream=stream, backward=True)
            except av.FFmpegError as exc:
                raise _SeekMissed from exc
            position = None
        for frame in container.decode(stream):
            if frame.samples == 0:
                continue
            if position is None:  # the first frame after the seek: where did it land?
                if frame.pts is None:
                    raise _SeekMissed
                position = int(round((frame.pts - origin) * stream.time_base * frame.sample_rate))
                if position > first:
                    raise _SeekMissed
            pcm = frame_to_pcm(frame)
            end = position + len(pcm)
            if end > first:
                yield frame.sample_rate, pcm[max(0, first - position):]
            position = end
