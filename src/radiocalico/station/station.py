"""The station: wires the playout pipeline, runs it in real time, and restarts it on errors.

The pipeline, one way::

    Rotation -> Programme -> one Encoder per Rendition -> HlsWriter -> Publisher
    (rotation)  (programme)   (encoders)                  (hls)        (publisher)

the rotation picks the library's next track (from the library index, `library_index`, which
reads the folder in the background: the station starts on the first tracks it finds); the
programme decodes the tracks (once) into gapless 48 kHz PCM and notes where each starts; each rendition's encoder (lossless FLAC, AAC
high, AAC saver: `encoders`) turns a segment of PCM, plus a peek at the PCM after it for
the AAC lookahead, into frames; the HLS writer publishes them as segments on one timeline
and writes the playlists; the publisher writes
metadatav2.json and cover.jpg (its docstring documents the fields) once the segment holding
a new track's first sample is in the playlists, never before.

Loudness (`loudness_target`, STATION_LOUDNESS_TARGET): a `loudness.Leveller` measures the
rotation's upcoming tracks, then the rest of the library, in a background thread, caching
the results under the instance folder (`LOUDNESS_CACHE`); the programme applies each
track's gain to its PCM, before every encoder. None (the constructor's default, and "off")
airs every file at its own level, 48 kHz sources bit-exact.

Live (`live`, STATION_LIVE_PORT): a DJ's software connects to the live input, whose audio
preempts the rotation in the programme while they are on air (`live` says how).

Programming (`decider`, `programming`): the programme asks the decider, not the rotation,
for its next track; the decider keeps the next items decided ahead on the station clock.
With a database (`database_url`) a background thread (`programming.ProgrammingSync`)
mirrors the library for requests and reads the playlists, schedule, history, requests and
station commands; the loop applies the commands at the start of each segment it makes,
read afresh just before it cuts it (a skip: what plays fades out over `CUT_FADE_SECONDS`
and the next item starts, in the first segment made after the command) and cuts the
track playing for a top-of-hour item so that it starts on the hour. `publish_next` puts the
queue in metadatav2.json (`next`).

Pacing: segment k of a run holds stream samples [k*S, (k+1)*S) and is published when the
wall clock reaches its end, so the stream runs in real time; the first few segments
(`preroll_segments`) are published at once so a player can start immediately. With
Low-Latency HLS parts (`part_seconds`, STATION_PART_SECONDS) the pipeline runs in part-sized
steps: each part's PCM is taken, encoded and published (`HlsWriter.publish_part`) when the
wall clock reaches the part's end (taken then, not a step ahead, so a live DJ's audio airs as
soon as it can), and the segment is whole with its last part; the
programming (commands, the top of the hour, a jump after falling behind) still happens at
segment edges. A track's metadata follows the part holding its first sample.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from datetime import timezone, tzinfo
from pathlib import Path
from typing import Callable, Sequence

from radiocalico import stream_layout

from .audio import STREAM_RATE
from .clock import iso_utc
from .decider import Decider, Item, Rules
from .encoders import LADDER, EncodedSegment, choose_frame_size, choose_part_size, ladder
from .errors import StationError
from .live import RECORDINGS_DIR, LiveInput, LiveSettings, LoginBusy
from .hls import HlsWriter
from .library import display_name
from .library_index import LibraryIndex
from .loudness import Leveller
from .programme import Programme
from .programming import ProgrammingSync
from .publisher import Publisher
from .rotation import Rotation
from .epoch import Epoch
from .standby import Coordinator, Shared

log = logging.getLogger("radiocalico.station")

PROGRAMME_STATE = "programme"  # the programme's key in the HLS writer's `extra` blob
DECIDER_STATE = "decider"
CUT_FADE_SECONDS = 0.2  # a skipped track's fade, and the fade before a station ID on the hour
LOUDNESS_CACHE = "loudness.sqlite3"  # in the instance folder (not the published output)
UPCOMING_FIRST = 20  # tracks of the rotation's bag measured before the rest of the library


class _Outputs:
    """One run's encoders, HLS writer and publisher: built afresh (from the saved state) on
    every (re)start of the loop, so a failed run leaves nothing half-done behind."""

    def __init__(self, station: "Station"):
        self.renditions = station.renditions
        self.encoders = [rendition.make_encoder() for rendition in self.renditions]
        self.lookahead = max(encoder.lookahead for encoder in self.encoders)
        self.hls = HlsWriter(station.out, list(zip(self.renditions, self.encoders)), window=station.window,
                             sample_rate=STREAM_RATE, part_samples=station.part_samples, origins=station.origins)
        self.publisher = Publisher(station.out, self.hls.extra, [r.describe() for r in self.renditions])

    def lock_to(self, epoch: Epoch, sequence: int, run_local: int) -> None:
        """Epoch locking: the next segment is `sequence`, at this run's sample `run_local`."""
        self.hls.lock_to(sequence, epoch.decode_time(sequence), run_local, epoch.stream_id)
        for encoder in self.encoders:
            if hasattr(encoder, "sample_base"):
                encoder.sample_base = self.hls.run_start

    def encode(self, pcm, ahead) -> list[EncodedSegment]:
        return [encoder.encode(pcm, ahead) for encoder in self.encoders]


class Station:
    def __init__(self, library: Path | None, out: Path, *, segment_seconds: float = 2.0,
                 instance_path: Path | None = None, window: int = 8, preroll_segments: int = 3,
                 speed: float = 1.0, seed: int | None = None, compression_level: int = 5,
                 renditions: Sequence[str] = LADDER, rescan_seconds: float = 30.0,
                 loudness_target: float | None = None, live: LiveInput | None = None,
                 rules: Rules | None = None, zone: tzinfo = timezone.utc, database_url: str = "",
                 publish_next: bool = False, clock: Callable[[], float] = time.time,
                 part_seconds: float = 0.0, epoch: float | None = None, coordinator: Coordinator | None = None,
                 origins: Sequence[str] = ()):
        """`library` None means the demo library under `instance_path`. `speed` > 1 runs the
        clock faster than real time (tests; `math.inf`, as fast as the machine can, for the
        benchmark). `renditions`: names from
        `encoders.LADDER` (STATION_RENDITIONS); an unknown one raises StationError.
        `rescan_seconds`: how often the library index looks for new, changed and removed
        files (`library_index`). `loudness_target`: LUFS every track is levelled to
        (STATION_LOUDNESS_TARGET); None airs files at their own level. `live`: the live
        input DJs connect to (None: none); the station starts and stops it. `rules`: song and
        artist separation (ROTATION_*_SEPARATION_MINUTES), None for the bare rotation;
        `zone`: the station's time zone (STATION_TIMEZONE), for time blocks; `database_url`:
        where playlists, the schedule, requests and commands are ("" for none);
        `publish_next`: the queue in metadatav2.json (STATION_PUBLISH_NEXT); `clock`: the
        wall clock the stream's program-date-time starts from (tests start near an hour);
        `part_seconds`: Low-Latency HLS part length (STATION_PART_SECONDS), 0 for none.
        `epoch`: unix seconds where segment 0 begins (STATION_EPOCH): segments numbered, timed
        and named from the clock (`epoch`), None for a station counting on from its state;
        `coordinator`: this station's seat among redundant stations (`standby`, STATION_NODE_ID),
        which needs an epoch; `origins`: every redundant station's output folder URL, listed
        in the master playlists (STATION_ORIGINS)."""
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
        self.part_samples = choose_part_size(segment_samples, self.frame_size, part_seconds)
        self.window = window
        self.preroll_segments = preroll_segments
        self.speed = float(speed)
        self.seed = seed
        self.compression_level = compression_level
        self.rescan_seconds = rescan_seconds
        self.index: LibraryIndex | None = None
        # What the master playlist offers, best first (the writer orders the master).
        self.renditions = ladder(tuple(renditions), self.frame_size, compression_level)
        self.loudness_target = loudness_target
        self.live = live
        self.rules = rules
        self.zone = zone
        self.database_url = database_url
        self.publish_next = publish_next
        self.clock = clock
        self.decider: Decider | None = None
        self._sync: ProgrammingSync | None = None
        self._origin = 0.0  # program-date-time of run-local sample 0
        self._programme: Programme | None = None
        self._applied: set[int] = set()
        self._leveller: Leveller | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._first = threading.Event()
        self._error: BaseException | None = None
        self.segments_published = 0
        self.origins = tuple(origins)
        self.coordinator = coordinator
        self.epoch = Epoch(float(epoch), segment_samples, STREAM_RATE) if epoch is not None else None
        if coordinator is not None and self.epoch is None:
            raise StationError("a redundant station (STATION_NODE_ID) needs an epoch (STATION_EPOCH)")
        self.rebuilds = 0  # a standby's programme rebuilt from the active station's state
        self._led = False  # (to log the moment a station starts leading)
        self._adopted_at: int | None = None  # the run-local sample of the last rebuild

    @classmethod
    def from_config(cls, config) -> "Station":
        library = Path(config.station_library) if config.station_library else None
        return cls(library, config.resolved_station_out, segment_seconds=config.station_segment_seconds,
                   instance_path=config.instance_path, renditions=config.station_renditions,
                   loudness_target=config.station_loudness_lufs, live=live_input(config),
                   rules=Rules(config.rotation_song_separation_minutes, config.rotation_artist_separation_minutes),
                   zone=config.station_zone, database_url=_programming_database(config),
                   publish_next=config.station_publish_next, part_seconds=config.station_part_seconds,
                   epoch=config.station_epoch_seconds, coordinator=_coordinator(config),
                   origins=config.station_origins)

    @property
    def segment_seconds(self) -> float:
        return self.segment_samples / STREAM_RATE

    @property
    def step_samples(self) -> int:
        """What the loop takes, encodes and publishes at once: a part, else a segment."""
        return self.part_samples or self.segment_samples

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
            raise StationError(f"the music library {display_name(library)} is not a folder")
        self.out.mkdir(parents=True, exist_ok=True)
        # Play while scanning: start on the first tracks the index finds (or knew).
        index = LibraryIndex(library, self.out / stream_layout.LIBRARY_INDEX_DIR, self.rescan_seconds)
        index.start()
        if not index.wait_for_tracks(timeout):
            index.stop()
            raise StationError(
                f"the music library {display_name(library)} has no playable audio files "
                "(FLAC, WAV, AIFF, ALAC/M4A, MP3, AAC, Ogg or Opus); add some or leave the library unset "
                "to play the demo library")
        self.index = index
        outputs = _Outputs(self)
        rotation = Rotation(library, [], self.seed, index=index)
        # The bare station (no rules, no database, no queue published) decides each track
        # when the programme asks, as the rotation alone did.
        programmed = self.rules is not None or bool(self.database_url) or self.publish_next
        decider = Decider(rotation, self.rules, self.zone, clock=self._head_time, seed=self.seed,
                          ahead=Decider.QUEUE if programmed else 0)
        decider.resume(outputs.hls.extra.get(DECIDER_STATE))
        self.decider = decider
        self._sync = self._make_sync(library, index)
        if self._sync is not None and self._sync.snapshot is not None:
            decider.snapshot = self._sync.snapshot
        self._leveller = self._make_leveller(decider)
        if self.live is not None:
            self.live.start(self.step_samples + outputs.lookahead)
        programme = Programme(decider, outputs.hls.extra.get(PROGRAMME_STATE), self._leveller, self.live)
        self._programme = programme
        self._stop.clear()
        self._first.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(programme, outputs),
                                        name="radiocalico-station", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._first.wait(0.05):
            if self._error is not None or not self._thread.is_alive():
                self._thread.join(1)
                error = self._error
                self.stop()  # (the library index and the loudness measurer too)
                raise StationError(f"the station stopped before its first segment: {error}")
            if time.monotonic() > deadline:
                self.stop()
                raise StationError("the station did not publish its first segment in time")

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._thread = None
        if self.index is not None:
            self.index.stop()
            self.index = None
        if self.live is not None:
            self.live.stop()
        if self._leveller is not None:
            self._leveller.stop()
            self._leveller = None
        if self._sync is not None:
            self._sync.stop()
            self._sync = None
        if self.coordinator is not None:
            self.coordinator.close()  # (the lock, if held, is free for a standby)

    def _head_time(self) -> float:
        """The station clock where the programme's decoded audio ends: when the track it
        asks the decider for will start."""
        programme = self._programme
        head = programme.position + programme.buffered if programme is not None else 0
        return self._origin + head / STREAM_RATE

    def _make_sync(self, library: Path, index: LibraryIndex) -> ProgrammingSync | None:
        if not self.database_url:
            return None
        from radiocalico.db.store import Store

        rules = self.rules or Rules(0, 0)
        look_back = 60 * max(rules.song_minutes, rules.artist_minutes, 60)
        # Read once a segment of station time; commands also on demand (`fresh_commands`).
        interval = max(0.02, self.segment_seconds / self.speed) if math.isfinite(self.speed) else 0.02
        sync = ProgrammingSync(Store(self.database_url), library, lambda: index.tracks,
                               lambda: self._head_time(), look_back, interval)
        sync.refresh()  # the first track is decided with the schedule already read
        sync.start()
        return sync

    def _make_leveller(self, decider: Decider) -> Leveller | None:
        if self.loudness_target is None:
            return None

        def wanted():
            """The next tracks to air first (the queue, then the bag), then the whole library."""
            for track in list(decider.bag[:UPCOMING_FIRST]) + list(decider.tracks):
                yield track.path

        cache = self.instance_path / LOUDNESS_CACHE if self.instance_path is not None else None
        # Measuring a track as it opens may take a quarter of a segment: never a late segment.
        leveller = Leveller(self.loudness_target, cache, wanted, open_budget=self.segment_seconds / 4)
        leveller.start()
        return leveller

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

    def _run(self, programme: Programme, outputs: _Outputs) -> None:
        """Run the loop; after an unexpected error, log it and carry on (with a discontinuity)."""
        try:
            while not self._stop.is_set():
                try:
                    self._loop(programme, outputs)
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
                        outputs = _Outputs(self)
                        programme = Programme(programme.rotation, leveller=self._leveller, live=self.live)
                        self._programme = programme
                    except Exception:
                        log.exception("cannot restart playout")
        except BaseException as exc:
            self._error = exc
            log.exception("the station stopped on an error")
        finally:
            programme.close()
            if self._programme is not None and self._programme is not programme:
                self._programme.close()  # (a standby's, rebuilt from the active station's state)

    def _loop(self, programme: Programme, outputs: _Outputs) -> None:
        hls, publisher = outputs.hls, outputs.publisher
        seg = self.segment_samples
        seg_seconds = seg / STREAM_RATE
        step = self.step_samples  # a part (Low-Latency HLS), else the segment
        steps = seg // step  # per segment
        step_seconds = step / STREAM_RATE
        now = self.clock()
        epoch = self.epoch
        if epoch is None:
            # PDT of sample 0 of this run: a few segments in the past (pre-roll), never before
            # the end of what a previous run published.
            origin = max(now - self.preroll_segments * seg_seconds, hls.clock_end)
        else:
            first = max(epoch.sequence_at(now) - self.preroll_segments, hls.next_sequence)
            coordinator = self.coordinator
            if coordinator is not None and not coordinator.try_lead():
                # A standby starts where the active station is: at its next segment.
                shared = coordinator.load()
                if shared is not None and shared.sequence >= first:
                    first = shared.sequence
                    programme = self._adopt(programme, shared, 0)
            origin = epoch.edge(first)
            outputs.lock_to(epoch, first, 0)
        self._origin = origin
        lead = now - origin
        mono0 = time.monotonic()
        max_lag = max(10.0, 3 * seg_seconds)
        k = 0
        while not self._stop.is_set():
            start = k * step
            edge = k % steps == 0  # the step begins a segment
            # The step's PCM is taken when the clock reaches its end, not a step ahead: live
            # audio then airs as soon as it can (see live.py).
            due = mono0 + ((k + 1) * step_seconds - lead) / self.speed
            delay = due - time.monotonic()
            if self._stop.wait(max(delay, 0.0)):  # stopped: publish nothing more, even when late
                break
            if edge and -delay > max_lag and math.isfinite(self.speed):
                # Far behind (machine suspended, disk stalled): jump the clock forward rather
                # than bursting out stale audio; players see a discontinuity.
                log.warning("playout fell %.1f s behind; skipping ahead", -delay)
                jump = -delay * self.speed
                if epoch is not None:  # whole segments: the clock names them
                    skipped = math.ceil(jump / seg_seconds)
                    jump = skipped * seg_seconds
                    outputs.lock_to(epoch, hls.next_sequence + skipped, start)
                origin += jump
                lead -= jump
                self._origin = origin
                hls.mark_discontinuity()
            if edge:
                if self.coordinator is not None:
                    # (the active station shared this edge a step ago; waiting delays this step)
                    poll_until = time.monotonic() + step_seconds / 4 / self.speed
                    programme = self._follow(programme, hls.next_sequence, start, poll_until)
                self._program(programme, start, publisher)
            # All the step needs, pulled at once: a DJ taking the air is taken over as the step is due
            programme.peek(step + outputs.lookahead)
            pcm = programme.take(step)
            encoded = outputs.encode(pcm, programme.peek(outputs.lookahead))
            if self._stop.is_set():  # stopped while encoding: publish nothing more
                break
            last = (k + 1) % steps == 0  # the step ends a segment
            if last and self.coordinator is not None:
                self._share(programme, hls.next_sequence + 1, start + step, seg + outputs.lookahead)
            pdt = origin + start / STREAM_RATE
            for begin in programme.starts_before(start + step):
                started_at = origin + begin.sample / STREAM_RATE
                publisher.track_started(begin, started_at)
                request_id = getattr(begin.track, "request_id", None)
                if request_id is not None and self._sync is not None:
                    self._sync.report("played", request_id, started_at)
            # The segments and playlists first, then the state (with the publisher's), and
            # only then the cover and metadata: they never announce audio not yet published.
            extra = None
            if last:
                decider_state = self.decider.state() if self.decider is not None else {}
                extra = {**publisher.state(), PROGRAMME_STATE: programme.state(start + step),
                         DECIDER_STATE: decider_state}
            if self.part_samples:
                hls.publish_part(encoded, step, pdt, last=last, extra=extra)
            else:
                hls.publish(encoded, seg, pdt, extra)
            publisher.publish()
            if last:
                self.segments_published += 1
                self._first.set()
            k += 1

    # -- redundant stations (standby) --------------------------------------------------------

    def _share(self, programme: Programme, sequence: int, end: int, ahead: int) -> None:
        """Once a segment is made (before it is due): the programme decoded `ahead` past its
        end, so a track starting in the next segment is in the state as decided (a standby
        deciding it again could choose otherwise), and, when active, the state at the edge
        of segment `sequence` (run-local sample `end`) shared."""
        programme.peek(ahead)
        if self.coordinator.leading:
            decider_state = self.decider.state() if self.decider is not None else {}
            self.coordinator.save(sequence, {PROGRAMME_STATE: programme.state(end), DECIDER_STATE: decider_state})

    def _follow(self, programme: Programme, sequence: int, start: int, poll_until: float) -> Programme:
        """Before segment `sequence` (run-local sample `start`) of a redundant station: lead
        if the lock is free; else wait (until `poll_until`, monotonic) for the active
        station's state for this edge and, if this programme is elsewhere, rebuild it there."""
        coordinator = self.coordinator
        shared = None
        while not coordinator.try_lead():
            shared = coordinator.load(sequence)
            if shared is not None:
                break
            if time.monotonic() >= poll_until or self._stop.wait(0.02):
                log.warning("standby %s: no state from the active station for segment %d; carrying on",
                            coordinator.node, sequence)
                return programme
        if coordinator.leading:
            if shared is not None or not self._led:
                log.info("station %s leads from segment %d", coordinator.node, sequence)
            self._led = True
            return programme
        self._led = False
        if self._adopted_at == start:
            return programme  # (just rebuilt from this very state: nothing decoded to compare yet)
        theirs = shared.state.get(PROGRAMME_STATE) or {}
        mine = programme.state(start)
        if mine.get("track") == theirs.get("track") and mine.get("bag", [])[:5] == theirs.get("bag", [])[:5]:
            return programme
        return self._adopt(programme, shared, start)

    def _adopt(self, programme: Programme, shared: Shared, start: int) -> Programme:
        """A programme (and decider) where the active station's are, at run-local `start`."""
        decider = self.decider
        decider.queue.clear()
        decider.aired.clear()
        decider.resume(shared.state.get(DECIDER_STATE))
        programme.close()
        adopted = Programme(decider, shared.state.get(PROGRAMME_STATE), self._leveller, self.live)
        adopted.position = start
        self._adopted_at = start
        self._programme = adopted
        self.rebuilds += 1
        log.info("standby %s: programme rebuilt at segment %d from the active station's state (%d so far)",
                 self.coordinator.node, shared.sequence, self.rebuilds)
        return adopted

    # -- programming ----------------------------------------------------------------------

    def _program(self, programme: Programme, start: int, publisher: Publisher) -> None:
        """Before segment [start, start + segment) is made: the database's news into the
        decider, the operators' commands applied, the track playing cut for an item due on
        the hour, the queue to the publisher."""
        decider = self.decider
        if decider is None or programme.rotation is not decider:
            return
        if self.coordinator is not None and not self.coordinator.leading:
            # A standby decides nothing: the active station's decisions reach it in its state.
            decider.events.clear()  # (the active station reports its own)
            if self.publish_next:
                publisher.set_next([_next_entry(item, at) for item, at in decider.upcoming()])
            return
        fade = int(round(CUT_FADE_SECONDS * STREAM_RATE))
        sync = self._sync
        if sync is not None and sync.snapshot is not None:
            if decider.snapshot is not sync.snapshot:
                changed = decider.snapshot.programming != sync.snapshot.programming
                decider.snapshot = sync.snapshot
                if changed:
                    decider.replan()
                decider.adopt_requests()
            for command in sync.fresh_commands(self._command_wait()):
                if command.id not in self._applied:
                    self._applied.add(command.id)
                    sync.report("command", command.id, self._apply(command, programme, start, fade))
        for event in decider.events:
            if sync is not None:
                sync.report(*event)
        decider.events.clear()
        begin = self._origin + (start + fade) / STREAM_RATE
        end = self._origin + (start + self.segment_samples + fade) / STREAM_RATE
        mark = decider.hard_start(begin, end)
        if mark is not None:
            at = int(round((mark - self._origin) * STREAM_RATE)) - fade
            decider.requeue(programme.cut(at, fade))
            decider.on_the_hour(mark)
            log.info("top of the hour %s: the station ID starts on it", iso_utc(mark))
        if self.publish_next:
            publisher.set_next([_next_entry(item, at) for item, at in decider.upcoming()])

    def _command_wait(self) -> float:
        """How long the loop waits for the commands posted up to now before cutting a segment:
        a quarter of its time at most, so a slow database delays a skip, never a segment."""
        return min(0.25, self.segment_seconds / 4) / self.speed

    def _apply(self, command, programme: Programme, start: int, fade: int) -> str:
        decider = self.decider
        if command.op == "skip":
            self.decider.requeue(programme.cut(start, fade))
            return "skipped"
        if command.op == "remove":
            item = decider.remove(command.item or "")
            return f"removed {item.artist} - {item.title}" if item else "not in the queue"
        if command.op == "move":
            item = decider.move(command.item or "", int(command.position or 0))
            return f"moved {item.artist} - {item.title} to {command.position}" if item else "not in the queue"
        if command.op == "rescan":  # the console changed the library folder
            if self.index is not None:
                self.index.rescan_soon()
            return "rescanning"
        if command.op == "disconnect":
            dj = self.live.disconnect() if self.live is not None else None
            return f"disconnected {dj}" if dj else "no DJ connected"
        return f"unknown command {command.op}"


def _programming_database(config) -> str:
    """DATABASE_URL when set; the development server's own SQLite file (embedded: the app in
    the same process migrates it); else none: a station process given no database plays the
    rotation under its rules, from its own log of what it aired."""
    if config.database_url:
        return config.database_url
    return config.resolved_database_url if config.station_mode == "embedded" else ""


def _coordinator(config) -> Coordinator | None:
    """This station's seat among redundant stations (STATION_NODE_ID), None for a single one."""
    if not config.station_node_id:
        return None
    if not config.database_url:
        raise StationError("STATION_NODE_ID needs DATABASE_URL (a PostgreSQL database the stations share)")
    return Coordinator(config.database_url, config.station_node_id, config.station_group)


def _next_entry(item: Item, at: float) -> dict:
    return {"item_id": item.item_id, "artist": item.artist, "title": item.title, "album": item.album,
            "reason": item.reason, "requested": item.request_id is not None, "relaxed": item.relaxed,
            "starts_at": iso_utc(at), "cover": item.cover}


def live_input(config) -> LiveInput | None:
    """The live input STATION_LIVE_PORT and the LIVE_* settings ask for, checking DJs against
    DATABASE_URL; None when the port is 0."""
    if not config.station_live_port:
        return None
    from radiocalico.db.djs import CheckBusy, DjStore

    settings = LiveSettings(host=config.station_live_host, port=config.station_live_port,
                            crossfade_seconds=config.live_crossfade_seconds,
                            buffer_seconds=config.live_buffer_seconds, no_data_seconds=config.live_no_data_seconds,
                            silence_seconds=config.live_silence_seconds, record=config.live_record)
    store = DjStore(config.resolved_database_url)

    def authenticate(name: str, password: str) -> str | None:
        try:
            return store.check(name, password)
        except CheckBusy:
            raise LoginBusy from None

    return LiveInput(settings, authenticate, Path(config.instance_path) / RECORDINGS_DIR)
