"""Playout: rotation, gapless decoding, real-time pacing, HLS publishing, metadata and cover.

metadatav2.json
---------------
The public CDN's fields, exactly: ``artist``, ``title``, ``album``, ``date`` (the year, str),
``bit_depth`` and ``sample_rate`` (the *source's*, int), ``prev_artist_1..5`` and
``prev_title_1..5`` (most recent first, "" when none), ``is_new``, ``is_summer``,
``is_vidgames`` (bool). Added for the player to stay in step with the audio:

* ``started_at`` / ``prev_started_at_1..5``: when each of those tracks' first sample is on
  the stream's program-date-time clock (the clock of ``#EXT-X-PROGRAM-DATE-TIME``), ISO-8601
  UTC with milliseconds, e.g. ``"2025-01-31T12:00:04.217Z"`` ("" when none). A player knows
  the PDT of what it is playing and shows a track from its ``started_at`` on.
* ``song_id`` / ``prev_song_id_1..5``: ``radiocalico.songs.song_id(artist, title)`` ("" when none).
* ``cover_version``: a token that changes when (and only when) a new track starts;
  append it to cover.jpg's URL to defeat caches.
* ``stream_codec`` ("flac"), ``stream_sample_rate`` (48000), ``stream_bit_depth`` (24),
  ``stream_channels`` (2): the format of the stream itself.

The flags: ``is_new`` is true when the track's year is this year or last year, or a
grouping/comment tag says "new"; ``is_summer`` and ``is_vidgames`` when the genre, grouping
or comment tag mentions "summer", resp. "video game"/"vidgames"/"game".

Timing: the file (with cover.jpg, written just before it) is replaced right after the
segment that holds the new track's first sample is published in the playlist, never before.

Pacing: segment k of a run holds stream samples [k*S, (k+1)*S) and is published when the
wall clock reaches its end, so the stream runs in real time; the first few segments
(`preroll_segments`) are published at once so a player can start immediately.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import fsutil
from .audio import STREAM_BITS, STREAM_CHANNELS, STREAM_RATE, FlacEncoder, choose_frame_size, decode_track
from .cover import render_cover
from .errors import StationError
from .hls import HlsWriter, iso_utc
from .library import Track, load_cover, scan_library
from radiocalico.songs import song_id

log = logging.getLogger("radiocalico.station")

METADATA_NAME = "metadatav2.json"
COVER_NAME = "cover.jpg"
HISTORY = 5


class Rotation:
    """Shuffle without repeating a track until every track has played. Each new bag starts
    a background rescan of the library, so added and removed files count from the next bag."""

    def __init__(self, library: Path, tracks: list[Track], seed: int | None = None):
        self.library = library
        self.tracks = tracks
        self.rng = random.Random(seed)
        self.bag: list[Track] = []
        self.last: Track | None = None
        self._scanner: threading.Thread | None = None

    def next(self) -> Track:
        if not self.bag:
            self._refill()
        track = self.bag.pop(0)
        self.last = track
        return track

    def _refill(self) -> None:
        bag = list(self.tracks)
        self.rng.shuffle(bag)
        if len(bag) > 1 and self.last is not None and bag[0].path == self.last.path:
            bag[0], bag[1] = bag[1], bag[0]  # never the same track twice in a row
        self.bag = bag
        self._rescan()

    def _rescan(self) -> None:
        """Rescan the library in the background; the next bag uses the result."""
        if self._scanner is not None and self._scanner.is_alive():
            return

        def scan() -> None:
            try:
                tracks = scan_library(self.library)
            except Exception:
                log.exception("library rescan failed")
                return
            if tracks:
                self.tracks = tracks
            else:
                log.warning("library %s is empty now; playing the tracks scanned before", self.library)

        self._scanner = threading.Thread(target=scan, name="radiocalico-library-scan", daemon=True)
        self._scanner.start()


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
        while self.buffered < samples:
            self._pull()
        out = np.empty((samples, STREAM_CHANNELS), dtype=np.int32)
        filled = 0
        while filled < samples:
            chunk = self.chunks[0]
            n = min(len(chunk), samples - filled)
            out[filled:filled + n] = chunk[:n]
            filled += n
            if n == len(chunk):
                self.chunks.popleft()
            else:
                self.chunks[0] = chunk[n:]
        self.buffered -= samples
        self.position += samples
        return out

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


def _flags(track: Track, now_year: int) -> dict[str, bool]:
    words = " ".join((track.genre, track.comment)).lower()
    year = track.year
    return {
        "is_new": (year is not None and year >= now_year - 1) or "new" in words.split(),
        "is_summer": "summer" in words,
        "is_vidgames": "vidgames" in words or "video game" in words or "game" in words,
    }


def build_metadata(history: list[dict]) -> dict:
    """metadatav2.json from the track history (oldest first, current last)."""
    current = history[-1]
    previous = list(reversed(history[:-1]))[:HISTORY]
    meta: dict = {
        "artist": current["artist"],
        "title": current["title"],
        "album": current["album"],
        "date": current["date"],
        "bit_depth": int(current["bit_depth"]),
        "sample_rate": int(current["sample_rate"]),
    }
    for i in range(HISTORY):
        prev = previous[i] if i < len(previous) else None
        meta[f"prev_artist_{i + 1}"] = prev["artist"] if prev else ""
        meta[f"prev_title_{i + 1}"] = prev["title"] if prev else ""
    meta.update(is_new=bool(current["is_new"]), is_summer=bool(current["is_summer"]),
                is_vidgames=bool(current["is_vidgames"]))
    meta["started_at"] = iso_utc(current["started_at"])
    meta["song_id"] = current["song_id"]
    for i in range(HISTORY):
        prev = previous[i] if i < len(previous) else None
        meta[f"prev_started_at_{i + 1}"] = iso_utc(prev["started_at"]) if prev else ""
        meta[f"prev_song_id_{i + 1}"] = prev["song_id"] if prev else ""
    meta["cover_version"] = current["cover_version"]
    meta["stream_codec"] = "flac"
    meta["stream_sample_rate"] = STREAM_RATE
    meta["stream_bit_depth"] = STREAM_BITS
    meta["stream_channels"] = STREAM_CHANNELS
    return meta


class Station:
    def __init__(self, library: Path | None, out: Path, *, segment_seconds: float = 2.0,
                 instance_path: Path | None = None, window: int = 8, preroll_segments: int = 3,
                 speed: float = 1.0, seed: int | None = None, compression_level: int = 5):
        """`library` None means the demo library under `instance_path`. `speed` > 1 runs the
        clock faster than real time (for tests only)."""
        if library is None and instance_path is None:
            raise StationError("either a library folder or an instance folder is needed")
        self.library = Path(library) if library is not None else None
        self.instance_path = Path(instance_path) if instance_path is not None else None
        self.out = Path(out)
        segment_samples = int(round(segment_seconds * STREAM_RATE))
        try:
            self.frame_size = choose_frame_size(segment_samples)
        except ValueError:
            self.frame_size = 4000
            segment_samples = max(1, round(segment_samples / 4000)) * 4000
            log.warning("segment length rounded to %.3f s", segment_samples / STREAM_RATE)
        self.segment_samples = segment_samples
        self.window = window
        self.preroll_segments = preroll_segments
        self.speed = float(speed)
        self.seed = seed
        self.compression_level = compression_level
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._first = threading.Event()
        self._error: BaseException | None = None
        self.segments_published = 0

    @classmethod
    def from_config(cls, config) -> "Station":
        library = Path(config.station_library) if config.station_library else None
        return cls(library, config.resolved_station_out, segment_seconds=config.station_segment_seconds,
                   instance_path=config.instance_path)

    @property
    def segment_seconds(self) -> float:
        return self.segment_samples / STREAM_RATE

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        """Start playout in a daemon thread; return once the first segment and metadata are out."""
        if self._thread is not None and self._thread.is_alive():
            return
        library = self.library
        if library is None:
            from .demo import ensure_demo_library

            library = ensure_demo_library(self.instance_path / "demo-library")
        if not library.is_dir():
            raise StationError(f"the music library {library} is not a folder")
        tracks = scan_library(library)
        if not tracks:
            raise StationError(
                f"the music library {library} has no playable audio files "
                "(FLAC, WAV, AIFF, ALAC/M4A, MP3 or Ogg); add some or leave the library unset "
                "to play the demo library")
        log.info("library %s: %d tracks", library, len(tracks))
        encoder = FlacEncoder(self.frame_size, self.compression_level)
        self.out.mkdir(parents=True, exist_ok=True)
        hls = HlsWriter(self.out, window=self.window, frame_size=self.frame_size,
                        streaminfo=encoder.streaminfo)
        programme = Programme(Rotation(library, tracks, self.seed))
        self._stop.clear()
        self._first.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(programme, encoder, hls),
                                        name="radiocalico-station", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._first.wait(0.05):
            if self._error is not None or not self._thread.is_alive():
                self._thread.join(1)
                raise StationError(f"the station stopped before its first segment: {self._error}")
            if time.monotonic() > deadline:
                self.stop()
                raise StationError("the station did not publish its first segment in time")

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._thread = None

    def run_forever(self) -> None:
        """Run until SIGTERM or SIGINT (must be called from the main thread)."""
        stopping = threading.Event()

        def handler(signum, _frame):
            log.info("signal %d: stopping the station", signum)
            stopping.set()

        previous = {}
        if threading.current_thread() is threading.main_thread():  # signals go to the main thread only
            previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            while not stopping.wait(0.5):
                if self._thread is None or not self._thread.is_alive():
                    raise StationError(f"the station stopped: {self._error}")
        finally:
            self.stop()
            for sig, old in previous.items():
                signal.signal(sig, old)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the loop ------------------------------------------------------------------------

    RESTART_DELAY = 2.0

    def _run(self, programme: Programme, encoder: FlacEncoder, hls: HlsWriter) -> None:
        """Run the loop; after an unexpected error, log it and carry on (with a discontinuity)."""
        try:
            while not self._stop.is_set():
                try:
                    self._loop(programme, encoder, hls)
                    return
                except Exception as exc:
                    log.exception("playout error; restarting playout in %.0f s", self.RESTART_DELAY)
                    if not self._first.is_set():
                        self._error = exc  # start() reports it
                        return
                    programme.close()
                    if self._stop.wait(self.RESTART_DELAY):
                        return
                    try:
                        encoder = FlacEncoder(self.frame_size, self.compression_level)
                        hls = HlsWriter(self.out, window=self.window, frame_size=self.frame_size,
                                        streaminfo=encoder.streaminfo)
                        programme = Programme(programme.rotation)
                    except Exception:
                        log.exception("cannot restart playout")
        except BaseException as exc:
            self._error = exc
            log.exception("the station stopped on an error")
        finally:
            programme.close()

    def _loop(self, programme: Programme, encoder: FlacEncoder, hls: HlsWriter) -> None:
        seg = self.segment_samples
        seg_seconds = seg / STREAM_RATE
        now = time.time()
        # PDT of sample 0 of this run: a few segments in the past (pre-roll), never before
        # the end of what a previous run published.
        origin = max(now - self.preroll_segments * seg_seconds, hls.clock_end)
        lead = now - origin
        mono0 = time.monotonic()
        max_lag = max(10.0, 3 * seg_seconds)
        k = 0
        while not self._stop.is_set():
            start = k * seg
            pcm = programme.take(seg)
            frames = encoder.encode(pcm)
            due = mono0 + ((k + 1) * seg_seconds - lead) / self.speed
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            if -delay > max_lag:
                # Far behind (machine suspended, disk stalled): jump the clock forward rather
                # than bursting out stale audio; players see a discontinuity.
                log.warning("playout fell %.1f s behind; skipping ahead", -delay)
                origin -= delay * self.speed
                lead += delay * self.speed
                hls.pending_discontinuity = True
            pdt = origin + start / STREAM_RATE
            new_cover = None
            while programme.starts and programme.starts[0].sample < start + seg:
                begin = programme.starts.popleft()
                hls.remember_track(self._record(begin, origin))
                new_cover = begin.cover_jpeg
            # The segment and playlists first, then the state (with the history), and only
            # then the cover and metadata: they never announce audio not yet published.
            hls.publish(frames, seg, pdt)
            if new_cover is not None:
                fsutil.atomic_write(self.out / COVER_NAME, new_cover)
                metadata = build_metadata(hls.history)
                fsutil.atomic_write(self.out / METADATA_NAME, json.dumps(metadata, indent=1))
            self.segments_published += 1
            self._first.set()
            k += 1

    def _record(self, begin: TrackStart, origin: float) -> dict:
        track = begin.track
        started_at = origin + begin.sample / STREAM_RATE
        sid = song_id(track.artist, track.title)
        token = hashlib.sha256(f"{sid}:{started_at:.6f}:{track.path}".encode()).hexdigest()[:16]
        record = {
            "artist": track.artist, "title": track.title, "album": track.album, "date": track.date,
            "bit_depth": track.bit_depth, "sample_rate": track.sample_rate,
            "started_at": started_at, "song_id": sid, "cover_version": token,
            "path": str(track.path),
        }
        record.update(_flags(track, datetime.now(timezone.utc).year))
        log.info("now playing: %s - %s (%s)", track.artist, track.title, iso_utc(started_at))
        return record
