"""The programme: the rotation's tracks decoded into one endless, gapless stream of PCM.

PCM is in the stream's format (see `audio`). Alongside the audio the programme reports
where each track starts (`starts`, a run-local sample index) with the track's cover already
rendered, so the publisher has nothing slow to do when the track goes on air.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import numpy as np

from .audio import STREAM_CHANNELS, STREAM_RATE, decode_track
from .cover import render_cover
from .library import Track, load_cover
from .rotation import Rotation

log = logging.getLogger("radiocalico.station")


@dataclass
class TrackStart:
    sample: int  # run-local stream sample index of the track's first sample
    track: Track
    cover_jpeg: bytes


class Programme:
    """The endless, gapless stream of 48 kHz PCM made of the rotation's tracks."""

    MAX_SILENCE_SECONDS = 10.0

    def __init__(self, rotation: Rotation):
        self.rotation = rotation
        self.chunks: deque[np.ndarray] = deque()
        self.buffered = 0
        self.position = 0  # run-local sample index of the first buffered sample
        self.decoder = None
        self.track: Track | None = None
        self.track_started = False
        self.failures = 0
        self.starts: deque[TrackStart] = deque()

    def take(self, samples: int) -> np.ndarray:
        """The next `samples` samples, consumed."""
        out = self.peek(samples)
        while samples:
            chunk = self.chunks[0]
            n = min(len(chunk), samples)
            if n == len(chunk):
                self.chunks.popleft()
            else:
                self.chunks[0] = chunk[n:]
            samples -= n
            self.buffered -= n
            self.position += n
        return out

    def peek(self, samples: int) -> np.ndarray:
        """The next `samples` samples, left for `take` (an encoder's lookahead)."""
        while self.buffered < samples:
            self._pull()
        out = np.empty((samples, STREAM_CHANNELS), dtype=np.int32)
        filled = 0
        for chunk in self.chunks:
            if filled == samples:
                break
            n = min(len(chunk), samples - filled)
            out[filled:filled + n] = chunk[:n]
            filled += n
        return out

    def starts_before(self, end: int) -> list[TrackStart]:
        """Remove and return the track starts before run-local sample `end`, oldest first."""
        due = []
        while self.starts and self.starts[0].sample < end:
            due.append(self.starts.popleft())
        return due

    def _append(self, chunk: np.ndarray) -> None:
        self.chunks.append(chunk)
        self.buffered += len(chunk)

    def _pull(self) -> None:
        if self.decoder is None:
            if self.failures and self.failures >= max(1, len(self.rotation.tracks)):
                # Every track failed in a row: keep the stream alive with silence, retry later.
                log.error("no track could be decoded; streaming %.0f s of silence", self.MAX_SILENCE_SECONDS)
                self._append(np.zeros((int(self.MAX_SILENCE_SECONDS * STREAM_RATE), 2), dtype=np.int32))
                self.failures = 0
                return
            self.track = self.rotation.next()
            self.track_started = False
            self.decoder = decode_track(self.track.path)
        track = self.track
        try:
            chunk = next(self.decoder)
        except StopIteration:
            self.decoder = None
            if not self.track_started:
                log.warning("skipping %s: no audio decoded", track.path)
                self.failures += 1
            return
        except Exception as exc:  # FFmpeg, I/O, a file changed under us
            self.decoder = None
            log.warning("decode error in %s (%s: %s); skipping to the next track",
                        track.path, exc.__class__.__name__, exc)
            if not self.track_started:
                self.failures += 1
            return
        if not self.track_started:
            self.track_started = True
            self.failures = 0
            try:
                art = load_cover(track)
            except Exception:
                art = None
            self.starts.append(TrackStart(self.position + self.buffered, track, render_cover(art)))
        if len(chunk):
            self._append(chunk)

    def close(self) -> None:
        if self.decoder is not None:
            self.decoder.close()
            self.decoder = None
