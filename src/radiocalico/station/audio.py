"""Decoding sources to the stream's PCM format (the encoders in `encoders` take it from there).

The stream is 48 kHz, stereo, 24-bit. PCM travels between the stages as numpy int32
arrays of shape (samples, 2) holding 24-bit values left-aligned in 32 bits (FFmpeg's "s32"
convention: the low 8 bits are zero), which is what FFmpeg's FLAC decoder gives for a
24-bit file and what its encoder expects. 24-bit sources are carried bit for bit; 16-bit
sources are exactly representable (x << 16). Float sources (MP3, Ogg, AAC) are rounded to
24 bits. Only a source that is not at 48 kHz is resampled, with libsoxr at its
very-high-quality setting (python-soxr), streaming, so a track is never held in memory.

Surround sources are folded down to stereo with the ITU-R BS.775 coefficients (FFmpeg's
default stereo downmix, swresample's `center_mix_level`/`surround_mix_level` of -3 dB, LFE
left out): L' = L + 0.707 C + 0.707 Ls (+ 0.707 Lb for 7.1), R' likewise, each output then
scaled by the same factor so that the row with the largest sum of coefficients is 1 and
full-scale inputs in every channel cannot clip (for 5.1 the factor is 1/2.414, so a tone
in the centre alone is heard in both L and R 10.7 dB below its level in the file;
loudness levelling, `loudness`, brings the track back to the target). Done in numpy on the
integer samples, so mono and stereo sources never pass through it: a 48 kHz stereo 24-bit
file stays bit-exact.

Corrupt input never reaches the air as noise. Decoders are opened with
``err_detect=crccheck+explode``: FFmpeg checks each frame's CRC (FLAC's frame CRC-16, MP3's
optional CRC) and, instead of outputting what it made of a damaged frame (a FLAC frame with a
bad CRC aired as a 0 dBFS burst without this), reports an error or drops the frame (then the
next frame's timestamp shows the gap). Such a frame is dropped and replaced by silence of its length (the track keeps its
timing, so a restart resumes at the right place), with a 10 ms fade-out of the audio before
it and a fade-in after it, so the gap does not click; decoding carries on with the next
frame. A file that ends early (truncated: its last frame is incomplete, the demuxer fails,
or a lossless file has fewer samples than its header says) ends with a 10 ms fade-out.
Either is logged once per track, naming the file.
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


# BS.775 stereo downmix: each input channel's (left, right) coefficients, by FFmpeg's
# channel name. LFE and height channels are left out, as in FFmpeg's default downmix.
_MINUS_3DB = math.sqrt(0.5)
_DOWNMIX = {
    "FL": (1.0, 0.0), "FR": (0.0, 1.0), "FC": (_MINUS_3DB, _MINUS_3DB),
    "FLC": (1.0, 0.0), "FRC": (0.0, 1.0),
    "SL": (_MINUS_3DB, 0.0), "SR": (0.0, _MINUS_3DB),
    "BL": (_MINUS_3DB, 0.0), "BR": (0.0, _MINUS_3DB), "BC": (0.5, 0.5),
}


def downmix_matrix(names: tuple[str, ...]) -> np.ndarray:
    """(2, channels) float matrix folding the named channels to stereo without clipping."""
    matrix = np.array([_DOWNMIX.get(name, (0.0, 0.0)) for name in names]).T
    if not matrix.any():  # no channel we know the place of: the first two, as left and right
        matrix[0, 0] = matrix[1, min(1, len(names) - 1)] = 1.0
    return matrix / np.abs(matrix).sum(axis=1).max()


def _to_2ch(array: np.ndarray, names: tuple[str, ...] = ()) -> np.ndarray:
    """(channels, samples) int32 -> (samples, 2): mono doubled, stereo as is, more downmixed."""
    channels = array.shape[0]
    if channels == 1:
        return np.repeat(array.T, 2, axis=1)
    if channels == 2:
        return np.ascontiguousarray(array.T)
    mixed = downmix_matrix(names or tuple(f"?{i}" for i in range(channels))) @ (array / _FULL)
    return float_to_pcm(mixed.T)


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
    return _to_2ch(out, tuple(channel.name for channel in frame.layout.channels))


def float_to_pcm(data: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1) to int32 24 bits left-aligned (rounded, clipped)."""
    scaled = np.rint(data * (1 << 23))
    return np.clip(scaled, _MIN24, _MAX24).astype(np.int32) << 8


def decode_track(path, chunk_samples: int = 24000, start: int = 0, report: bool = True) -> Iterator[np.ndarray]:
    """Yield the file's audio as (n, 2) int32 arrays at 48 kHz, in chunks of about
    `chunk_samples`, from stream sample `start` of the track on (a restarted station
    resuming it): exactly the samples a decode from the beginning gives from there.
    Raises av.FFmpegError / ValueError on a decode error that ends the track before its
    first sample. Damaged frames and an early end are logged (once) unless `report` is False."""
    first_source, drop = 0, 0
    if start > 0:
        first_source, drop = _resume_point(path, start)
    pending: list[np.ndarray] = []
    pending_len = 0
    for pcm in _resampled(_source_pcm(path, first_source, report)):
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


def _source_pcm(path, first: int, report: bool = True) -> Iterator[tuple[int, np.ndarray]]:
    """(rate, PCM) of the source from source sample `first` on: seeks there (PyAV
    `container.seek`, then decodes and discards up to the exact sample); when the format
    cannot say where a seek landed, decodes from the beginning and discards."""
    if first > 0:
        try:
            yield from _decode_from(path, first, seek=True, report=report)
            return
        except _SeekMissed:
            log.info("cannot seek exactly in %s; decoding it from the beginning", path)
    yield from _decode_from(path, first, seek=False, report=report)


# Decoders report a damaged frame instead of outputting noise made of it (module docstring).
DECODER_OPTIONS = {"err_detect": "crccheck+explode"}
FADE_SECONDS = 0.01  # around a dropped frame, and at the end of a track that ends early
# Codecs whose container states the exact number of samples: fewer decoded is a truncation.
_EXACT_LENGTH_CODECS = ("flac", "alac", "wavpack", "tta")


def fade(pcm: np.ndarray, samples: int, out: bool) -> np.ndarray:
    """`pcm` (n, 2) int32 with a raised-cosine fade over its last (`out`) or first `samples`."""
    n = min(samples, len(pcm))
    if n == 0:
        return pcm
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)  # 0 -> 1
    if out:
        ramp = ramp[::-1]
    pcm = pcm.copy()
    part = slice(len(pcm) - n, None) if out else slice(0, n)
    pcm[part] = float_to_pcm(pcm[part] / _FULL * ramp[:, None])
    return pcm


class _Damage:
    """What went wrong in one decode of a file, logged once when it ends."""

    def __init__(self, path):
        self.path = path
        self.dropped = 0  # frames
        self.dropped_seconds = 0.0
        self.ended_early: str | None = None

    def report(self) -> None:
        parts = []
        if self.dropped:
            parts.append(f"{self.dropped} corrupt frame(s) dropped ({self.dropped_seconds:.3f} s of silence, "
                         "faded out before and in after)")
        if self.ended_early:
            parts.append(f"ends early ({self.ended_early}), faded out there")
        if parts:
            log.warning("%s: %s", self.path, "; ".join(parts))


def _checked_frames(container, stream, damage: _Damage) -> Iterator[tuple[av.AudioFrame | None, int]]:
    """(frame, 0) for each good frame; (None, samples) for a dropped one (its length in
    source samples). Stops at the end of the file or at an error that ends it."""
    last_samples = 0
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.FFmpegError as exc:  # the demuxer cannot go on: the file is cut or damaged
            damage.ended_early = f"{exc.__class__.__name__}: {exc}"
            return
        try:
            frames = packet.decode()
        except av.FFmpegError:
            samples = last_samples
            if packet.duration and packet.time_base is not None:
                samples = int(round(packet.duration * packet.time_base * stream.codec_context.sample_rate))
            damage.dropped += 1
            damage.dropped_seconds += samples / (stream.codec_context.sample_rate or STREAM_RATE)
            yield None, samples
            continue
        for frame in frames:
            if frame.samples:
                last_samples = frame.samples
                yield frame, 0


# A frame whose timestamp is this far past the end of the one before follows a frame the
# decoder dropped (FFmpeg drops a FLAC frame whose CRC fails without a word to the caller).
_GAP_TOLERANCE_SECONDS = 0.001


def _decode_from(path, first: int, seek: bool, report: bool = True) -> Iterator[tuple[int, np.ndarray]]:
    damage = _Damage(path)
    with av.open(str(path), metadata_errors="ignore", options=NO_PICTURES) as container:
        stream = container.streams.audio[0]
        stream.thread_type = "NONE"
        stream.codec_context.options = dict(DECODER_OPTIONS)
        rate = stream.codec_context.sample_rate or STREAM_RATE
        position: int | None = 0  # source sample of the next decoded frame's start
        origin = stream.start_time or 0
        if seek:
            try:
                # A little early: a codec with overlapping frames (AAC) needs the frame before.
                target = max(0.0, first / rate - _DECODER_HISTORY_SECONDS)
                container.seek(origin + int(target / stream.time_base), stream=stream, backward=True)
            except av.FFmpegError as exc:
                raise _SeekMissed from exc
            position = None
        # One block is held back, so that the audio before a dropped frame, or before an
        # early end, can still be faded out.
        held: np.ndarray | None = None
        fade_in = False
        lost_run = lost_run_samples = 0  # dropped frames (and samples) since the last good one

        def items():
            """(pcm, dropped) blocks in order: decoded frames, and silence for dropped ones."""
            nonlocal position, rate
            for frame, lost in _checked_frames(container, stream, damage):
                if frame is None:
                    if position is not None:  # (before a seek landed there is no place for the gap)
                        yield np.zeros((lost, STREAM_CHANNELS), dtype=np.int32), True
                    continue
                rate = frame.sample_rate
                at = None
                if frame.pts is not None:
                    at = int(round((frame.pts - origin) * stream.time_base * rate))
                if position is None:  # the first frame after the seek: where did it land?
                    if at is None or at > first:
                        raise _SeekMissed
                    position = at
                elif at is not None and at - position > _GAP_TOLERANCE_SECONDS * rate:
                    damage.dropped += 1
                    damage.dropped_seconds += (at - position) / rate
                    yield np.zeros((at - position, STREAM_CHANNELS), dtype=np.int32), True
                yield frame_to_pcm(frame), False

        for pcm, dropped in items():
            if dropped:
                if held is not None and not lost_run:
                    held = fade(held, int(FADE_SECONDS * rate), out=True)
                fade_in = True
                lost_run += 1
                lost_run_samples += len(pcm)
            else:
                if fade_in:
                    pcm = fade(pcm, int(FADE_SECONDS * rate), out=False)
                    fade_in = False
                lost_run = lost_run_samples = 0
            end = position + len(pcm)
            if end > first:
                pcm = pcm[max(0, first - position):]
                if held is not None:
                    yield rate, held
                held = pcm
            position = end
        if lost_run:  # the last frames were damaged: a cut file; its trailing gap is not aired
            damage.ended_early = damage.ended_early or "its last frame is damaged or incomplete"
            damage.dropped -= lost_run
            damage.dropped_seconds -= lost_run_samples / rate
            held = None
        elif (not damage.ended_early and stream.codec_context.name in _EXACT_LENGTH_CODECS
              and stream.duration and position is not None):
            expected = int(round(stream.duration * stream.time_base * rate))
            if position < expected:
                damage.ended_early = f"{position / rate:.3f} s of {expected / rate:.3f} s decoded"
        if held is not None:
            yield rate, fade(held, int(FADE_SECONDS * rate), out=True) if damage.ended_early else held
        if report:
            damage.report()
