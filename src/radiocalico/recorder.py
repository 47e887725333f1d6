"""The play recorder: turns metadatav2.json into rows of `plays`, in every app process.

The station (a separate process in production, with no database access) publishes the
current track and the five before it. Each app process reads that file every
HISTORY_POLL_SECONDS, from the station's output folder when it has one, else over HTTP from
the stream's base URL (the public CDN in `upstream` mode), and records every start it
finds. Recording is idempotent (db/plays.py), so any number of processes and replicas
record each start exactly once, and the five previous starts fill a gap after a short outage
of the app or a restart of the station (whose metadata keeps its history across restarts).

The key of a start:
- our station publishes `started_at` on the program-date-time clock for the current and the
  previous tracks: the key is that time plus the song id;
- the public CDN publishes no times: the start is stamped with the time first seen, and the
  key is the song plus the four songs before it, which every process derives alike (when the
  track becomes `prev_1` its four predecessors are still known, but since its start time
  is not, only the current track is recorded from the CDN).

On a new current track the recorder also keeps a 128 px thumbnail of its cover per song
(`covers/<cover_version>.jpg`, or cover.jpg from a CDN that has only that), so the history
can show every play's cover from our own origin.

The same thread samples the stream listener count once a minute into `listener_hours` and
applies the retention (HISTORY_RETENTION_DAYS) once an hour.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from PIL import Image, ImageOps

from radiocalico import stream_layout
from radiocalico.config import Config
from radiocalico.db import listeners as listener_series
from radiocalico.db import plays as queries
from radiocalico.db.store import Store
from radiocalico.songs import song_id as derive_song_id
from radiocalico.songs import tag_text

log = logging.getLogger("radiocalico")

PREVIOUS = 5
THUMBNAIL = 128
_HTTP_TIMEOUT = 5.0


def _time(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _text(value) -> str:
    return tag_text(value) if isinstance(value, str) else ""


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 10_000_000 else None


def starts_in(meta: dict, seen_at: datetime) -> list[queries.PlayStart]:
    """The track starts metadatav2.json tells of, oldest first."""
    entries = [(_text(meta.get("artist")), _text(meta.get("title")), meta.get("started_at"))]
    requested = [meta.get("requested") is True]
    for i in range(1, PREVIOUS + 1):
        entries.append((_text(meta.get(f"prev_artist_{i}")), _text(meta.get(f"prev_title_{i}")),
                        meta.get(f"prev_started_at_{i}")))
        requested.append(meta.get(f"prev_requested_{i}") is True)
    ids = [derive_song_id(a, t) if (a or t) else "" for a, t, _ in entries]
    artist, title, _ = entries[0]
    if not (artist or title):
        return []
    current = dict(
        artist=artist, title=title, album=_text(meta.get("album")),
        year=_text(meta.get("date"))[:4], bit_depth=_int(meta.get("bit_depth")),
        sample_rate=_int(meta.get("sample_rate")),
    )
    started = _time(meta.get("started_at"))
    if started is None:  # the public CDN: no times, the key is the recent sequence of songs
        key = "seq:" + hashlib.sha256(":".join(ids[:PREVIOUS]).encode()).hexdigest()[:40]
        return [queries.PlayStart(key, ids[0], seen_at, **current)]
    starts = []
    for index, (artist, title, at) in enumerate(entries):
        at = _time(at)
        if index and (at is None or not (artist or title)):
            continue
        extra = current if index == 0 else dict(artist=artist, title=title)
        key = f"pdt:{at.strftime('%Y-%m-%dT%H:%M:%S.%f')}:{ids[index]}"
        starts.append(queries.PlayStart(key, ids[index], at, **extra, requested=requested[index]))
    return list(reversed(starts))


def thumbnail(jpeg: bytes) -> bytes | None:
    """A THUMBNAIL px square JPEG of a cover, or None when it is not an image."""
    try:
        with Image.open(io.BytesIO(jpeg)) as image:
            small = ImageOps.fit(image.convert("RGB"), (THUMBNAIL, THUMBNAIL))
    except Exception:
        return None
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=82, optimize=True)
    return out.getvalue()


# A cover_version as the publisher makes it (song id, start in ms); anything else, e.g. from
# an upstream's metadata, is never put into a path.
_COVER_VERSION = re.compile(r"[0-9A-Za-z_-]{1,80}")


class StreamFiles:
    """Reads metadatav2.json and the covers: from the station's folder or over HTTP."""

    def __init__(self, config: Config):
        self.folder: Path | None = None
        if config.station_mode != "upstream":
            self.folder = config.resolved_station_out
        base = config.resolved_stream_base_url
        self.base_url = base if base.startswith(("http://", "https://")) else None

    def read(self, name: str, version: str = "") -> bytes | None:
        if self.folder is not None and (self.folder / name).is_file():
            try:
                return (self.folder / name).read_bytes()
            except OSError:
                return None
        if self.base_url is None:
            return None
        url = f"{self.base_url}/{name}" + (f"?v={version}" if version else "")
        try:
            with urllib.request.urlopen(url, timeout=_HTTP_TIMEOUT) as response:
                return response.read(8 * 1024 * 1024)
        except Exception as exc:
            log.debug("recorder: %s unavailable (%s)", url, type(exc).__name__)
            return None


class Recorder:
    """Records track starts (`poll`), samples listeners, applies the retention; a thread
    calls all three (`ensure_running`, started by the first request of a process)."""

    SAMPLE_EVERY = 60.0
    RETENTION_EVERY = 3600.0

    def __init__(self, config: Config, store: Store, listeners: Callable[[], int | None]):
        self.config = config
        self.store = store
        self.files = StreamFiles(config)
        self.listeners = listeners
        self._last_meta: bytes | None = None
        # The station's metadata as last read: /api/now-playing's `next` and the console's queue.
        self.latest: dict = {}
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def poll(self, now: datetime | None = None) -> list[queries.PlayStart]:
        """Read the metadata once and record what is new; the starts this call stored."""
        raw = self.files.read(stream_layout.METADATA_PATH)
        if raw is None or raw == self._last_meta:
            return []
        try:
            meta = json.loads(raw)
        except ValueError:
            return []
        if not isinstance(meta, dict):
            return []
        self.latest = meta
        starts = starts_in(meta, now or datetime.now(timezone.utc))
        with self.store.writing() as connection:
            stored = queries.record(connection, starts)
        self._last_meta = raw
        if starts:
            self._keep_cover(starts[-1].song_id, _text(meta.get("cover_version")))
        return stored

    def _keep_cover(self, song_id: str, version: str) -> None:
        with self.store.reading() as connection:
            if queries.has_cover(connection, song_id):
                return
        jpeg = None
        if _COVER_VERSION.fullmatch(version):
            # That very track's cover: cover.jpg may already be the next track's by now.
            jpeg = self.files.read(stream_layout.versioned_cover_path(version))
        if jpeg is None:  # the public CDN publishes only cover.jpg
            jpeg = self.files.read(stream_layout.COVER_PATH, version)
        small = thumbnail(jpeg) if jpeg else None
        if small is not None:
            with self.store.writing() as connection:
                queries.store_cover(connection, song_id, small)

    def sample_listeners(self, now: datetime | None = None) -> None:
        count = self.listeners()
        if count is not None:
            with self.store.writing() as connection:
                listener_series.add_sample(connection, now or datetime.now(timezone.utc), count)

    def apply_retention(self, now: datetime | None = None) -> int:
        days = self.config.history_retention_days
        if days <= 0:
            return 0
        cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=days)
        with self.store.writing() as connection:
            return queries.forget_before(connection, cutoff)

    def ensure_running(self) -> None:
        """Start the thread once per process (after a fork: never in the app server's
        master), unless the recorder was stopped."""
        if self._thread is not None or self.config.history_poll_seconds <= 0:
            return
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="radiocalico-recorder",
                                                daemon=True)
                self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and wait for the job it is running, so that it opens no
        database connection after this returns (the app's `Services.close()`)."""
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        jobs = [(self.poll, 0.0), (self.sample_listeners, self.SAMPLE_EVERY),
                (self.apply_retention, self.RETENTION_EVERY)]
        due = [0.0] * len(jobs)
        failing = [False] * len(jobs)
        while not self._stop.is_set():
            for index, (job, every) in enumerate(jobs):
                if time.monotonic() < due[index]:
                    continue
                due[index] = time.monotonic() + every
                try:
                    job()
                    failing[index] = False
                except Exception as exc:  # the database may be away a while: try again later
                    # One warning per job and outage, not one per poll.
                    log.log(logging.DEBUG if failing[index] else logging.WARNING,
                            "recorder: %s failed (%s)", job.__name__, type(exc).__name__)
                    failing[index] = True
            self._stop.wait(self.config.history_poll_seconds)
