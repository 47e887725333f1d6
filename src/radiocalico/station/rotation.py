"""Rotation: which library track plays next (the first stage of the playout pipeline).

The bag (the tracks still to play before the next shuffle) survives a restart: the
programme saves it with the stream's state (`Programme.state`) and a restarted station
hands it back (`restore`), so a restart neither replays nor skips part of the bag.
"""

from __future__ import annotations

import logging
import random
import threading
from pathlib import Path

from .library import Track, scan_library

log = logging.getLogger("radiocalico.station")


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

    def restore(self, bag: list[str], last: str | None) -> None:
        """Continue a saved bag (paths, next first) after `last` (the path of the track
        played before it); tracks no longer in the library are left out."""
        by_path = {str(track.path): track for track in self.tracks}
        self.bag = [by_path[path] for path in bag if path in by_path]
        self.last = by_path.get(last) if last else None

    def track(self, path: str) -> Track | None:
        """The library's track at `path`, if it has one."""
        return next((track for track in self.tracks if str(track.path) == path), None)

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
