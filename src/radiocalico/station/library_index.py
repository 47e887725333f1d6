"""The library index: the station's persistent, incremental view of its music folder.

One background thread (`LibraryIndex.start`) walks the folder (`library.audio_files`:
symbolic links to folders followed, each real folder once; a folder's cover image found
from the one listing of it) and reads only what it does not know yet:

* Every file's result is kept in an SQLite database under the station's output folder
  (`stream_layout.LIBRARY_INDEX_DIR`, hidden, so never served), keyed by the file's path
  (its bytes: any name the file system allows) with its (size, mtime) and its folder
  cover's. A rescan, and a restart, stat()s each file and reads only the new and changed
  ones; a file that cannot be played is logged once and tried again only when it changes.
* Covers are rendered there too, never on the playout thread: the best valid art
  (embedded picture, then the folder's cover image) to the published 600x600 JPEG, saved
  under the index's ``covers/`` by the digest of the art, so an album's tracks share one;
  a pass that removed or read files deletes the covers no file names any more.
  The track then names that file (`Track.cover`); playout only reads it.
* Tracks count as they are found: the station starts on the first ones while the scan goes
  on (play while scanning), and a restart starts at once on the tracks of the database.
* Of files with the same song id (`radiocalico.songs.song_id`) one, the first by path, is
  playable: duplicates are one song.
* After the first pass the folder is walked again every `rescan_seconds` (30 s; never more
  often than ten times a quiet pass's own duration, so rescans take at most a tenth of a core):
  new files play within a minute; removed ones leave the index (and a file gone before
  then is skipped by the rotation, which checks before playing).

Memory grows with the number of files (one small `Track` each), not with their size: files
are read one at a time and pictures are never kept. The rotation learns of playable tracks
added and removed through `changes()`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections import deque
from pathlib import Path

from radiocalico.songs import song_id

from . import fsutil
from .cover import render_art
from .library import LibraryFileError, Track, audio_files, cover_sources, display_name, read_track_and_art

log = logging.getLogger("radiocalico.station")

DATABASE_NAME = "index.sqlite3"
COVERS_DIR = "covers"
_SCHEMA = 1  # bump when what a row holds changes: every file is read again
_COMMIT_EVERY = 500  # rows per transaction while scanning


def _stat_key(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def _cover_key(cover: Path | None) -> str:
    """The folder cover's identity: a changed cover.jpg reads its folder's tracks again."""
    if cover is None:
        return ""
    key = _stat_key(cover)
    return f"{key[0]}:{key[1]}" if key else ""


def _to_row(track: Track) -> str:
    fields = {f.name: getattr(track, f.name) for f in dataclasses.fields(track)}
    for name in ("path", "cover_file", "cover"):
        value = fields[name]
        fields[name] = os.fsencode(value).hex() if value is not None else None
    return json.dumps(fields)


def _from_row(text: str, shared: dict[str, Path]) -> Track:
    """The track of a row; `shared`: one Path object per folder cover and rendered cover
    (an album's tracks name the same ones: memory)."""
    fields = json.loads(text)
    for name in ("path", "cover_file", "cover"):
        value = fields.get(name)
        if value is None:
            fields[name] = None
        elif name == "path":
            fields[name] = Path(os.fsdecode(bytes.fromhex(value)))
        else:
            fields[name] = shared.get(value) or shared.setdefault(value, Path(os.fsdecode(bytes.fromhex(value))))
    return Track(**fields)


class LibraryIndex:
    """The playable tracks of a library folder, kept up to date in the background."""

    def __init__(self, root: Path, cache: Path, rescan_seconds: float = 30.0):
        self.root = Path(root)
        self.cache = Path(cache)
        self.rescan_seconds = rescan_seconds
        self._lock = threading.Lock()
        # path bytes -> (size, mtime_ns, cover key, Track or None when unplayable)
        self._files: dict[bytes, tuple[int, int, str, Track | None]] = {}
        self._by_song: dict[str, set[bytes]] = {}
        self._playable: dict[bytes, Track] = {}
        self._changes: deque[tuple[bool, Track]] = deque()  # (added?, track), for the rotation
        self._stop = threading.Event()
        self._soon = threading.Event()  # rescan now, not at the next period
        self._thread: threading.Thread | None = None
        self.scanned = threading.Event()  # the first full pass is done
        self.passes = 0
        self.files_read = 0  # by the last pass: what a rescan cost
        self._rendered: dict[str, Path] = {}  # one Path per rendered cover (memory)
        self._refused: set[str] = set()  # art that is no image: an album's tracks log it once
        self._db: sqlite3.Connection | None = None

    # -- what the station asks -------------------------------------------------------------

    @property
    def tracks(self) -> list[Track]:
        """The playable tracks (one per song id), by path."""
        with self._lock:
            return [self._playable[key] for key in sorted(self._playable)]

    def __len__(self) -> int:
        return len(self._playable)

    def track(self, path) -> Track | None:
        return self._playable.get(os.fsencode(path))

    def changes(self) -> list[tuple[bool, Track]]:
        """The playable tracks added (True) and removed (False) since the last call."""
        with self._lock:
            out = list(self._changes)
            self._changes.clear()
        return out

    def wait_for_tracks(self, timeout: float) -> bool:
        """Wait until a track is playable (True) or the first pass found none (False)."""
        deadline = time.monotonic() + timeout
        while not self._playable:
            if self.scanned.is_set() or (self._thread is not None and not self._thread.is_alive()):
                return bool(self._playable)
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def rescan_soon(self) -> None:
        """The folder changed (the console uploaded, edited or removed a file): scan now."""
        self._soon.set()

    def forget(self, path) -> None:
        """`path` is gone (seen by the rotation before the next rescan)."""
        with self._lock:  # (its row goes with the next pass's: one writer to the database)
            self._remove(os.fsencode(path))

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self.cache.mkdir(parents=True, exist_ok=True)
        (self.cache / COVERS_DIR).mkdir(exist_ok=True)
        fsutil.remove_stale_temp_files(self.cache / COVERS_DIR)
        self._load()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="radiocalico-library-index", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._soon.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.cache / DATABASE_NAME, check_same_thread=False)
        db.execute("CREATE TABLE IF NOT EXISTS files (path BLOB PRIMARY KEY, size INTEGER, mtime_ns INTEGER,"
                   " cover_key TEXT, schema INTEGER, track TEXT)")
        return db

    def _load(self) -> None:
        """The files the last run knew: playable at once, checked by the first pass."""
        try:
            db = self._connect()
            rows = db.execute("SELECT path, size, mtime_ns, cover_key, track FROM files WHERE schema = ?",
                              (_SCHEMA,)).fetchall()
        except sqlite3.Error as exc:
            log.warning("library index %s unreadable (%s); reading the library afresh", self.cache, exc)
            (self.cache / DATABASE_NAME).unlink(missing_ok=True)
            db, rows = self._connect(), []
        self._db = db
        rendered = {entry.name for entry in os.scandir(self.cache / COVERS_DIR)}
        shared: dict[str, Path] = {}
        with self._lock:
            for path, size, mtime_ns, cover_key, text in rows:
                try:
                    track = _from_row(text, shared) if text else None
                except (ValueError, TypeError, KeyError):
                    continue
                if track is not None and track.cover is not None and track.cover.name not in rendered:
                    continue  # its rendered cover was deleted: read it again
                self._put(bytes(path), (size, mtime_ns, cover_key, track))
            self._changes.clear()  # the rotation starts from `tracks`
        if rows:
            log.info("library index: %d files known from the last run", len(rows))

    # -- scanning --------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    self.scan(self._stop)
                except Exception:
                    log.exception("library scan of %s failed", display_name(self.root))
                self.scanned.set()
                # A pass that only stat()ed (no reads) is what every rescan costs.
                cost = time.monotonic() - started if not self.files_read else 0.0
                self._soon.wait(max(self.rescan_seconds, 10 * cost))
                self._soon.clear()
                if self._stop.is_set():
                    break
        finally:
            if self._db is not None:
                self._db.close()
                self._db = None

    def scan(self, stop: threading.Event | None = None) -> None:
        """One pass: read new and changed files, drop the ones that are gone (the index's
        thread does it every `rescan_seconds`; `stop` ends a pass early)."""
        started = time.monotonic()
        seen: set[bytes] = set()
        read = failed = 0
        pending: list[tuple] = []
        folder_cover: tuple[Path | None, str] = (None, "")  # a folder's files come together
        if not self.root.is_dir():
            log.warning("the music library %s is not a folder now", display_name(self.root))
            return
        for path, cover in audio_files(self.root):
            if stop is not None and stop.is_set():
                self._save_rows(pending)  # what was read stays read (a restart skips it)
                return
            key = os.fsencode(path)
            seen.add(key)
            stat = _stat_key(path)
            if stat is None:
                continue
            if cover != folder_cover[0]:
                folder_cover = (cover, _cover_key(cover))
            cover_key = folder_cover[1]
            known = self._files.get(key)
            if known is not None and known[:3] == (*stat, cover_key):
                continue
            track = self._read(path, cover)
            read += 1
            failed += track is None
            entry = (*stat, cover_key, track)
            with self._lock:
                self._put(key, entry)
            pending.append((key, *stat, cover_key, _SCHEMA, _to_row(track) if track else None))
            if len(pending) >= _COMMIT_EVERY:
                self._save_rows(pending)
                pending = []
        self._save_rows(pending)
        gone = [key for key in list(self._files) if key not in seen]
        with self._lock:
            for key in gone:
                self._remove(key)
        self._delete_rows(gone)
        if gone or read:
            self._delete_unused_covers()
        self.passes += 1
        self.files_read = read
        if read or gone or self.passes == 1:
            log.info("library %s: %d tracks (%d files read, %d unplayable, %d gone) in %.1f s",
                     display_name(self.root), len(self._playable), read, failed, len(gone),
                     time.monotonic() - started)

    def _read(self, path: Path, cover: Path | None) -> Track | None:
        try:
            track, picture = read_track_and_art(path, cover)
        except LibraryFileError as exc:
            log.warning("skipping %s: %s", display_name(path), exc)
            return None
        except Exception as exc:  # a reader's bug must not stop the scan
            log.warning("skipping %s: %s: %s", display_name(path), exc.__class__.__name__, exc)
            return None
        return dataclasses.replace(track, cover=self._render_cover(track, picture))

    def _render_cover(self, track: Track, picture: bytes | None) -> Path | None:
        """The rendered JPEG of the track's best valid art, made once per image."""
        for where, data in cover_sources(track, picture):
            name = f"{hashlib.sha256(data).hexdigest()[:32]}.jpg"
            if name in self._refused:
                continue
            target = self._rendered.get(name) or self.cache / COVERS_DIR / name
            if not target.exists():
                jpeg = render_art(data, where)
                if jpeg is None:
                    self._refused.add(name)
                    continue
                fsutil.atomic_write(target, jpeg)
            return self._rendered.setdefault(name, target)
        return None

    def _delete_unused_covers(self) -> None:
        """Rendered covers no file names any more (its files removed or retagged)."""
        used = {entry[3].cover.name for entry in list(self._files.values())
                if entry[3] is not None and entry[3].cover is not None}
        for entry in os.scandir(self.cache / COVERS_DIR):
            if entry.name not in used and not entry.name.startswith("."):
                self._rendered.pop(entry.name, None)
                try:
                    os.unlink(entry.path)
                except OSError as exc:
                    log.warning("cannot delete the unused cover %s: %s", entry.path, exc)

    # -- bookkeeping (under the lock) ------------------------------------------------------

    def _put(self, key: bytes, entry: tuple) -> None:
        if key in self._files:
            self._remove(key)
        self._files[key] = entry
        track = entry[3]
        if track is None:
            return
        sid = song_id(track.artist, track.title)
        paths = self._by_song.setdefault(sid, set())
        paths.add(key)
        self._elect(sid)

    def _remove(self, key: bytes) -> None:
        entry = self._files.pop(key, None)
        if entry is None or entry[3] is None:
            return
        track = entry[3]
        sid = song_id(track.artist, track.title)
        paths = self._by_song.get(sid, set())
        paths.discard(key)
        if key in self._playable:
            self._changes.append((False, self._playable.pop(key)))
        if not paths:
            self._by_song.pop(sid, None)
        else:
            self._elect(sid)

    def _elect(self, sid: str) -> None:
        """Of the files of one song, the first by path is the playable one."""
        paths = self._by_song[sid]
        chosen = min(paths)
        for key in paths:
            if key != chosen and key in self._playable:
                self._changes.append((False, self._playable.pop(key)))
        track = self._files[chosen][3]
        if self._playable.get(chosen) is not track:
            if chosen in self._playable:
                self._changes.append((False, self._playable[chosen]))
            self._playable[chosen] = track
            self._changes.append((True, track))

    # -- the database ----------------------------------------------------------------------

    def _save_rows(self, rows: list[tuple]) -> None:
        if not rows or self._db is None:
            return
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            log.warning("cannot save the library index: %s", exc)

    def _delete_rows(self, keys: list[bytes]) -> None:
        if not keys or self._db is None:
            return
        try:
            with self._db:
                self._db.executemany("DELETE FROM files WHERE path = ?", [(key,) for key in keys])
        except sqlite3.Error as exc:
            log.warning("cannot save the library index: %s", exc)
