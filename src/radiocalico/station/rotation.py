"""Rotation: which library track plays next (the first stage of the playout pipeline)."""

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
