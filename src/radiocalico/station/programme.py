"""The programme: the rotation's tracks decoded into one endless, gapless stream of PCM.

PCM is in the stream's format (see `audio`). Alongside the audio the programme reports
where each track starts (`starts`, a run-local sample index) with the track's cover already
rendered (by the library index, ahead of playout: the programme only reads the small JPEG),
so neither it nor the publisher has anything slow to do when the track goes on air.

A restart resumes the interrupted track: `state(end)` says which track is playing at a
run-local sample and how far into it (with the file's size and modification time, and the
rotation's bag), the station saves it with the segment ending there, and a `Programme`
made with it continues that track at that sample (`audio.decode_track(start=...)`) without
reporting a new start, so the track history gets no second entry. A track that is no
longer in the library, or whose file changed, is not resumed: the next one starts.

Loudness: with a `loudness.Leveller`, each track's PCM is multiplied by its gain as it is
decoded (`loudness.apply_gain`), and its `TrackStart` carries what metadatav2.json says about
it. A resumed track keeps the gain it started with (saved in the state).

Live (`live.LiveInput`): each pull first asks the live input. While a DJ is on air the PCM is
theirs, taken from the live session's buffer (which never blocks), and the rotation waits;
the take-over and the hand-back are crossfades (`live.crossfade`) with, respectively, the
interrupted track (then dropped) and a fresh track of the rotation. The live show's starts
(and each metadata update) are `TrackStart`s with the DJ's name in `dj`.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from dataclasses import dataclass

import numpy as np

from .audio import FADE_SECONDS, STREAM_CHANNELS, STREAM_RATE, decode_track, fade
from .cover import placeholder_cover
from .library import Track, display_name
from .live import LiveInput, Session, crossfade
from .loudness import Leveller, apply_gain
from .rotation import Rotation

log = logging.getLogger("radiocalico.station")


@dataclass
class TrackStart:
    sample: int  # run-local stream sample index of the track's first sample
    track: Track
    cover_jpeg: bytes
    loudness: dict | None = None  # the levelling applied (`Leveller.level`); None when off
    dj: str | None = None  # a live show's DJ (`track` is then `live.show_track`); None for a file


@dataclass
class _Span:
    """Where a track's decoded audio begins in this run."""

    sample: int  # run-local stream sample
    track: Track
    offset: int  # the track's own (48 kHz) sample there: 0, or where a resumed track resumed
    identity: tuple[int, int] | None  # the file's (size, mtime_ns) when it was opened
    gain: float = 0.0  # dB applied to the track's PCM


def _rendered_cover(track: Track) -> bytes:
    """The track's cover as the index rendered it, or the placeholder."""
    if track.cover is not None:
        try:
            return track.cover.read_bytes()
        except OSError as exc:
            log.warning("cover of %s unreadable (%s); showing the placeholder", display_name(track.path), exc)
    return placeholder_cover()


def _identity(path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


class Programme:
    """The endless, gapless stream of 48 kHz PCM made of the rotation's tracks."""

    MAX_SILENCE_SECONDS = 10.0

    SPANS_KEPT = 16  # far more tracks than can start within one segment and its lookahead
    # The state is saved with every segment: of a big library's bag only the next tracks
    # (hours of music) are kept; after them a restarted rotation shuffles afresh.
    BAG_SAVED = 100

    LIVE_BLOCK = 4800  # samples taken from the live input per pull (0.1 s)

    def __init__(self, rotation: Rotation, resume: dict | None = None, leveller: Leveller | None = None,
                 live: LiveInput | None = None):
        """`resume`: what `state()` returned for the end of the last segment published
        before a restart (None or {} for a fresh start); `leveller`: None airs every track at
        its own level; `live`: the live input that preempts the rotation (None: none)."""
        self.rotation = rotation
        self.live = live
        self.live_session: Session | None = None  # the DJ on air
        self._fade_out: np.ndarray | None = None  # the rotation's side of a take-over in progress
        self._fade_at = 0  # samples of it mixed so far
        if live is not None:
            live.detach()
        self.leveller = leveller
        self.gain = 0.0  # dB, the open track's
        self.level_info: dict | None = None
        self.chunks: deque[np.ndarray] = deque()
        self.buffered = 0
        self.position = 0  # run-local sample index of the first buffered sample
        self.peeked = 0  # run-local end of what `peek` handed out (an encoder has those samples)
        self.decoder = None
        self.track: Track | None = None
        self.track_started = False
        self.failures = 0
        self.starts: deque[TrackStart] = deque()
        self.spans: deque[_Span] = deque(maxlen=self.SPANS_KEPT)
        self.track_offset = 0  # the open track's own sample where its decoding began
        self._resume: dict | None = None
        if resume:
            rotation.restore(list(resume.get("bag", [])), resume.get("last"), resume.get("ahead"))
            self._resume = resume.get("track")

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
        self.peeked = max(self.peeked, self.position + samples)
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

    def state(self, end: int) -> dict:
        """What a restarted programme needs to carry on from run-local sample `end`: the
        track playing there and its position, and the rotation's order after it (the
        tracks already decoded ahead of `end` first)."""
        playing: _Span | None = None
        upcoming: list[str] = []
        for span in self.spans:
            if span.sample < end:
                playing = span
            else:
                upcoming.append(str(span.track.path))
        track = None
        if playing is not None and playing.identity is not None:
            size, mtime_ns = playing.identity
            track = {"path": str(playing.track.path), "position": playing.offset + end - playing.sample,
                     "size": size, "mtime_ns": mtime_ns, "gain_db": playing.gain}
        last = upcoming[-1] if upcoming else (str(playing.track.path) if playing else None)
        bag = upcoming + [str(t.path) for t in self.rotation.bag[:self.BAG_SAVED]]
        return {"track": track, "bag": bag[:self.BAG_SAVED], "last": last, "ahead": len(upcoming)}

    def cut(self, at: int, fade_samples: int) -> list[Track]:
        """End what plays at run-local sample `at` (not taken yet): it fades out over the
        `fade_samples` after `at` and the next track starts right after (a skip, a station ID
        on the hour). Returns the tracks decided after it that had not started by then (to
        go back to the front of the queue)."""
        at = max(at, self.position)
        end = at + fade_samples
        while self.buffered < end - self.position and self.decoder is not None:
            self._pull()  # the track's audio up to the end of the fade (a track ending sooner just ends)
        keep = max(0, min(self.buffered, end - self.position))
        kept = np.concatenate(list(self.chunks))[:keep] if self.chunks else np.empty((0, STREAM_CHANNELS), np.int32)
        if keep > at - self.position:
            head, tail = kept[:at - self.position], kept[at - self.position:]
            kept = np.concatenate([head, fade(tail, len(tail), out=True)])
        self.chunks.clear()
        self.buffered = 0
        if len(kept):
            self._append(kept)
        dropped = [start.track for start in self.starts if start.sample >= self.position + keep]
        while self.starts and self.starts[-1].sample >= self.position + keep:
            self.starts.pop()
        while self.spans and self.spans[-1].sample >= self.position + keep:
            self.spans.pop()
        if self.track is not None and not self.track_started and self.decoder is not None:
            dropped.append(self.track)
        self.close()
        return dropped

    def _append(self, chunk: np.ndarray) -> None:
        self.chunks.append(chunk)
        self.buffered += len(chunk)

    def _pull(self) -> None:
        if self.live is not None and self._pull_live():
            return
        self._pull_rotation()

    def _pull_live(self) -> bool:
        """Take the live input's audio instead of the rotation's while a DJ is on air; True
        when it appended PCM."""
        n = self.live.crossfade_samples
        session = self.live_session
        if session is None:
            session = self.live.ready()
            if session is None:
                return False
            session.on_air = True
            self.live_session = session
            # The rotation's side of the crossfade at once (decoded here, it costs no
            # latency); the DJ's side block by block as it comes (below). It begins right
            # after what an encoder already has (its lookahead): the rotation's audio decoded
            # past that is not aired first (that would put the DJ a decoded chunk, up to
            # half a second, further behind for the whole set) but faded out under the DJ.
            committed = max(self.peeked, self.position)
            self._fade_out, _ = self._rotation_pcm(n, start=committed)
            # With what airs before the crossfade, the DJ's buffer need hold only the take-over
            # level (`LiveInput.target`): what it has beyond is the oldest audio, not aired.
            session.skip(session.buffered - (self.live.target - (committed - self.position)))
            self._fade_at = 0
            self.close()  # the interrupted track is not resumed after the show
            log.info("live: %s takes the air", session.dj)
        if self._fade_out is not None and (not session.closed or session.buffered >= n - self._fade_at):
            take = min(self.LIVE_BLOCK, n - self._fade_at)
            pcm, events = session.read(take)
            if self._fade_at == 0:
                # (the show's metadata as it is now: updates for audio before the take-over are in it)
                events = [(0, session.track)] + [event for event in events if event[0] > 0]
            mixed = crossfade(self._fade_out[self._fade_at:self._fade_at + take], pcm, self._fade_at, n)
            self._fade_at += take
            if self._fade_at >= n:
                self._fade_out = None
            self._append_live(mixed, events, session.dj)
            return True
        self._fade_out = None  # (a DJ who left during the take-over: the hand-back below)
        closed = session.closed
        if session.silent or (closed and session.buffered <= n):
            at = self.position + self.buffered
            pcm, _ = session.read(n)  # the DJ's last audio (silence when silent or gone)
            self.live_session = None
            session.on_air = False
            if closed:
                self.live.release(session)
            log.info("live: %s hands back to the rotation (%s)", session.dj,
                     "silent" if session.silent else "disconnected")
            rotation, rest = self._rotation_pcm(n, keep_rest=True)  # a fresh track: its start is at `at`
            self._append(crossfade(pcm, rotation))
            for chunk in rest:
                self._append(chunk)
            return True
        take = self.LIVE_BLOCK if not closed else min(self.LIVE_BLOCK, session.buffered - n)
        pcm, events = session.read(take)
        self._append_live(pcm, events, session.dj)
        return True

    def _append_live(self, pcm: np.ndarray, events: list[tuple[int, Track]], dj: str) -> None:
        """Append live PCM, with a TrackStart for each metadata change in it (at its offset)."""
        at = self.position + self.buffered
        for offset, track in events:
            self.starts.append(TrackStart(at + offset, track, placeholder_cover(), None, dj=dj))
            self.spans.append(_Span(at + offset, track, 0, None))
        self._append(pcm)

    def _rotation_pcm(self, n: int, keep_rest: bool = False,
                      start: int | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """The rotation's next `n` samples, pulled but not appended (a crossfade's other
        side), and what was decoded beyond them: dropped, with the track starts in it, or
        (`keep_rest`) returned, to be appended after the crossfade. `start`: the run-local
        sample they begin at, within what is buffered (its rotation audio from there on is
        taken out of the buffer into them); by default where the buffer ends."""
        at, count = self.position + self.buffered, len(self.chunks)
        if start is not None and start < at:
            buffered = np.concatenate(list(self.chunks))
            self.chunks.clear()
            self.buffered = 0
            kept = start - self.position
            if kept:
                self._append(buffered[:kept])
            at, count = start, len(self.chunks)
            self._append(buffered[kept:])
        while self.buffered - (at - self.position) < n:
            self._pull_rotation()
        new = [self.chunks.pop() for _ in range(len(self.chunks) - count)][::-1]
        self.buffered -= sum(map(len, new))
        pcm = np.concatenate(new)
        if not keep_rest:
            while self.starts and self.starts[-1].sample >= at + n:
                self.starts.pop()
            while self.spans and self.spans[-1].sample >= at + n:
                self.spans.pop()
            return pcm[:n], []
        return pcm[:n], [pcm[n:]] if len(pcm) > n else []

    def _pull_rotation(self) -> None:
        if self.decoder is None:
            if self.failures and self.failures >= max(1, len(self.rotation.tracks)):
                # Every track failed in a row: keep the stream alive with silence, retry later.
                log.error("no track could be decoded; streaming %.0f s of silence", self.MAX_SILENCE_SECONDS)
                self._append(np.zeros((int(self.MAX_SILENCE_SECONDS * STREAM_RATE), 2), dtype=np.int32))
                self.failures = 0
                return
            self._open_next()
        track = self.track
        try:
            chunk = next(self.decoder)
        except StopIteration:
            self.decoder = None
            if not self.track_started and not self.track_offset:  # (resumed at its very end: done)
                log.warning("skipping %s: no audio decoded", track.path)
                self.failures += 1
            return
        except Exception as exc:  # FFmpeg, I/O, a file changed under us
            self.decoder = None
            log.warning("decode error in %s (%s: %s); skipping to the next track",
                        track.path, exc.__class__.__name__, exc)
            if not self.track_started:
                self.failures += 1
            elif self.chunks:  # the track's last audio, not yet taken, ends with a fade, not a click
                self.chunks[-1] = fade(self.chunks[-1], int(FADE_SECONDS * STREAM_RATE), out=True)
            return
        if not self.track_started:
            self.track_started = True
            self.failures = 0
            sample = self.position + self.buffered
            self.spans.append(_Span(sample, track, self.track_offset, _identity(track.path), self.gain))
            if not self.track_offset:  # a resumed track is not a new start
                self.starts.append(TrackStart(sample, track, _rendered_cover(track), self.level_info))
        if len(chunk):
            self._append(chunk)

    def _open_next(self) -> None:
        """Open the interrupted track where it was (once, first), else the rotation's next."""
        resume, self._resume = self._resume, None
        track = self._resumable(resume) if resume else None
        self.gain, self.level_info = 0.0, None
        if track is not None:
            self.track, self.track_offset = track, int(resume["position"])
            log.info("resuming %s at %.3f s", track.path, self.track_offset / STREAM_RATE)
            if self.leveller is not None:
                self.gain = float(resume.get("gain_db", 0.0))
        else:
            self.track, self.track_offset = self.rotation.next(), 0
            if self.leveller is not None:
                self.gain, self.level_info = self.leveller.level(self.track.path)
        self.track_started = False
        self.decoder = _gained(decode_track(self.track.path, start=self.track_offset), self.gain)

    def _resumable(self, saved: dict) -> Track | None:
        """The saved track, if it is still in the library, unchanged, and not at its start."""
        path = str(saved.get("path", ""))
        track = self.rotation.track(path)
        if track is None:
            log.info("not resuming %s: no longer in the library", path)
            return None
        if _identity(path) != (saved.get("size"), saved.get("mtime_ns")):
            log.info("not resuming %s: the file changed", path)
            return None
        return track if int(saved.get("position", 0)) > 0 else None

    def close(self) -> None:
        if self.decoder is not None:
            self.decoder.close()
            self.decoder = None


def _gained(decoder, gain: float):
    """The decoder's chunks at `gain` dB (untouched at 0 dB)."""
    if gain == 0.0:
        return decoder
    return (apply_gain(chunk, gain) for chunk in decoder)
