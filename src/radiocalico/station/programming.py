"""The station's side of the database: what the decider reads and what it reports back.

A background thread (never the playout loop: a slow or down database must not make a
segment late) every `interval` seconds

- mirrors the library index into `library_tracks` when the index changed (the API searches
  it and names tracks by `track_id`);
- reads the playlists, the schedule, the play history the rules need, the open requests and
  the pending station commands into a `Snapshot` the playout loop swaps in whole;
- writes back what the loop reports: requests queued and played, commands applied.

Commands are also read on demand: just before the loop cuts each segment it asks
(`fresh_commands`) and waits a bounded moment for the answer, so a skip posted up to that
moment is heard in that segment, not one segment later; a slow database only delays the
command to the next segment, never the segment.

Commands travel through the database (`station_commands`), not a file in the output folder:
the API and the station may be separate processes on separate hosts that share only the
database (the output folder is served to the public, and in production the app may not
write it), and the operator's change and its audit entry commit in one transaction.

A database that is down, or not migrated, is logged once; the station keeps playing on its
last snapshot (or the rotation alone) and tries again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from sqlalchemy.exc import SQLAlchemyError

from radiocalico.db import programming as queries
from radiocalico.db.store import Store
from radiocalico.songs import song_id

from .decider import Snapshot
from .library import Track, display_name

log = logging.getLogger("radiocalico.station")


class ProgrammingSync:
    MIRROR_SECONDS = 5.0  # how often the library's mirror is compared with the index

    def __init__(self, store: Store, library: Path, tracks: Callable[[], list[Track]],
                 clock: Callable[[], float], look_back: float, interval: float):
        """`tracks`: the library index's; `clock`: the station clock; `look_back`: seconds of
        play history the rules need."""
        self.store = store
        self.library = library
        self.tracks = tracks
        self.clock = clock
        self.look_back = look_back
        self.interval = interval
        self.snapshot: Snapshot | None = None  # None until the first read
        self.commands: list[queries.Command] = []
        self.reports: queue.SimpleQueue = queue.SimpleQueue()
        self._mirrored: object = None
        self._mirror_due = 0.0
        self._ids: dict[str, str] = {}
        self._failing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._asks: queue.SimpleQueue[threading.Event] = queue.SimpleQueue()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="radiocalico-programming", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
        self._sync()  # what the loop reported last
        self.store.dispose()

    def report(self, *event) -> None:
        """From the playout loop: ("queued", request id), ("played", request id, time),
        ("dropped", request id), ("command", command id, outcome)."""
        self.reports.put(event)
        self._wake.set()

    def refresh(self) -> None:
        """One round now (before the thread starts)."""
        self._sync()

    def fresh_commands(self, timeout: float) -> list[queries.Command]:
        """From the playout loop, right before it cuts a segment: the pending commands as the
        database holds them now, waiting at most `timeout` seconds (then the last read's)."""
        answered = threading.Event()
        self._asks.put(answered)
        self._wake.set()
        answered.wait(timeout)
        return self.commands

    def _run(self) -> None:
        due = 0.0
        while not self._stop.is_set():
            asks = []
            while not self._asks.empty():
                asks.append(self._asks.get())
            if asks:
                self._guarded(self._read_commands)
                for answered in asks:
                    answered.set()
            if time.monotonic() >= due:
                self._sync()
                due = time.monotonic() + self.interval
            self._wake.wait(max(0.0, due - time.monotonic()))
            self._wake.clear()

    def _sync(self) -> None:
        self._guarded(self._round)

    def _round(self) -> None:
        self._write_reports()
        if time.monotonic() >= self._mirror_due:
            self._mirror()
            self._mirror_due = time.monotonic() + self.MIRROR_SECONDS
        self._read()

    def _guarded(self, work: Callable[[], None]) -> None:
        try:
            work()
        except SQLAlchemyError as exc:
            if not self._failing:
                reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                log.warning("programming: the database is unavailable (%s); playing on without it. "
                            "Is DATABASE_URL at the newest revision (radiocalico db upgrade)?", reason)
                self._failing = True
            return
        if self._failing:
            log.info("programming: the database answers again")
            self._failing = False

    def _write_reports(self) -> None:
        events = []
        while not self.reports.empty():
            events.append(self.reports.get())
        if not events:
            return
        try:
            with self.store.writing() as connection:
                for event in events:
                    if event[0] == "queued":
                        queries.set_request_status(connection, event[1], "queued")
                    elif event[0] == "dropped":
                        queries.set_request_status(connection, event[1], "waiting")
                    elif event[0] == "played":
                        queries.set_request_status(connection, event[1], "played",
                                                   datetime.fromtimestamp(event[2], timezone.utc))
                    elif event[0] == "command":
                        queries.command_done(connection, event[1], event[2])
        except SQLAlchemyError:
            for event in events:  # written at the next try
                self.reports.put(event)
            raise

    def _mirror(self) -> None:
        tracks = self.tracks()
        key = hash(tuple((str(t.path), t.artist, t.title, t.album, t.genre, t.duration) for t in tracks))
        if key == self._mirrored:
            return
        rows = []
        seen = set()
        for track in tracks:
            relative = _relative(track.path, self.library)
            tid = self._ids.get(relative) or self._ids.setdefault(relative, queries.track_id(relative))
            if tid in seen:
                continue
            seen.add(tid)
            # The id keeps the file name's bytes; the text stored must encode (a name that
            # is not UTF-8 is shown as library.display_name shows it).
            rows.append(queries.LibraryTrack(tid, song_id(track.artist, track.title), display_name(relative)[:1024],
                                             track.artist, track.title, track.album, track.genre[:256],
                                             float(track.duration or 0.0)))
        with self.store.writing() as connection:
            queries.mirror_library(connection, rows)
        self._mirrored = key
        log.info("programming: %d library tracks mirrored for requests", len(rows))

    def _read(self) -> None:
        since = datetime.fromtimestamp(self.clock() - self.look_back, timezone.utc)
        with self.store.reading() as connection:
            programming = queries.load(connection)
            plays = queries.recent_plays(connection, since)
            requests = queries.open_requests(connection)
            commands = queries.pending_commands(connection)
        self.snapshot = Snapshot(programming, plays, requests)
        self.commands = commands

    def _read_commands(self) -> None:
        self._write_reports()  # the commands applied since are not read as pending again
        with self.store.reading() as connection:
            self.commands = queries.pending_commands(connection)


def _relative(path: Path, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)
