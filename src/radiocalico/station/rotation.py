"""Rotation: which library track plays next (the first stage of the playout pipeline).

A shuffled bag: no track repeats until every track has played, and a new bag does not
start with the last few tracks of the one before (no repeat within `RECENT` tracks, or
half the library when it is small). With a `LibraryIndex`, tracks found or removed in the
meantime change the current bag at once: a new track goes in at a random place ahead, a
removed one leaves it; a file gone before the index saw it is skipped when its turn comes.

The bag (the tracks still to play before the next shuffle) survives a restart: the
programme saves it with the stream's state (`Programme.state`) and a restarted station
hands it back (`restore`), so a restart neither replays nor skips part of the bag.
"""

from __future__ import annotations

import logging
import os
import random
from collections import deque
from pathlib import Path
from typing import Callable

from .library import Track, display_name
from .library_index import LibraryIndex

log = logging.getLogger("radiocalico.station")


class Rotation:
    """Shuffle without repeating a track until every track has played."""

    RECENT = 5  # a new bag's first tracks are none of the last this many played

    def __init__(self, library: Path, tracks: list[Track], seed: int | None = None,
                 index: LibraryIndex | None = None):
        """`tracks`: the library's (ignored with an `index`, which has them)."""
        self.library = library
        self.index = index
        if index is not None:
            index.changes()  # what happened before now is in `tracks` already
        self._tracks = list(tracks)
        self.rng = random.Random(seed)
        self.bag: list[Track] = []
        self.last: Track | None = None
        self.recent: deque[str] = deque(maxlen=self.RECENT)  # paths, last played last
        self.played: set = set()  # paths played from this bag: news of them waits for the next

    @property
    def tracks(self) -> list[Track]:
        if self.index is not None:
            tracks = self.index.tracks
            if tracks:
                self._tracks = tracks
            # An emptied library (a drive unmounted): keep playing what it had.
        return self._tracks

    def next(self) -> Track:
        self._follow_index()
        for _ in range(len(self.bag) + len(self._tracks) + 1):
            if not self.bag:
                self._refill()
            track = self.bag.pop(0)
            if os.path.exists(track.path) or not self.bag:
                break
            log.info("skipping %s: the file is gone", display_name(track.path))
            if self.index is not None:
                self.index.forget(track.path)
        self.last = track
        self.recent.append(str(track.path))
        self.played.add(track.path)
        return track

    def pick(self, violation: Callable[[Track], float]) -> tuple[Track, float]:
        """The bag's first track that `violation` scores 0 (the others keep their order); when
        none of the bag does, the library's lowest-scored track (one played from this bag
        too, if that is what honours the rules best). Returns it with its score."""
        self._follow_index()
        if not self.bag:
            self._refill()
        for index, track in enumerate(self.bag):
            if violation(track) == 0 and os.path.exists(track.path):
                return self._take(self.bag.pop(index)), 0.0
        in_bag = {track.path: index for index, track in enumerate(self.bag)}
        scored = sorted(((violation(t), in_bag.get(t.path, len(in_bag)), self.rng.random(), t)
                         for t in self.tracks if os.path.exists(t.path)), key=lambda s: s[:3])
        if not scored:
            return self.next(), 0.0
        score, index, _, track = scored[0]
        if track.path in in_bag:
            self.bag.pop(index)
        return self._take(track), score

    def _take(self, track: Track) -> Track:
        self.last = track
        self.recent.append(str(track.path))
        self.played.add(track.path)
        return track

    def restore(self, bag: list[str], last: str | None, ahead: int | None = None) -> None:
        """Continue a saved bag (paths, next first) after `last` (the path of the track
        played before it); tracks no longer in the library are left out. (`ahead`, how
        many of the bag's first tracks had been decoded, matters to the decider only.)"""
        by_path = {str(track.path): track for track in self.tracks}
        self.bag = [by_path[path] for path in bag if path in by_path]
        self.last = by_path.get(last) if last else None
        if last:
            self.recent.append(last)
        if self.bag:  # the rest of the library played from this bag before the restart
            waiting = {t.path for t in self.bag}
            self.played = {t.path for t in by_path.values() if t.path not in waiting}

    def track(self, path: str) -> Track | None:
        """The library's track at `path`, if it has one."""
        if self.index is not None:
            return self.index.track(path)
        return next((track for track in self._tracks if str(track.path) == path), None)

    def _follow_index(self) -> None:
        """The index's news into the current bag: removed tracks out, new ones in at random
        places (the bag's own order kept), unless they played from this bag already. Linear
        in the bag, however many came (a first scan adds thousands while the station plays)."""
        if self.index is None:
            return
        news = self.index.changes()
        if not news:
            return
        latest: dict = {}  # path -> the track now there, or None when it went
        for added, track in news:
            if added:
                latest[track.path] = track
            elif latest.get(track.path) is None or latest[track.path] is track:
                latest[track.path] = None
        kept = [t for t in self.bag if t.path not in latest]
        if not self.bag:
            self.bag = kept  # the next refill takes the new tracks from the index
            return
        new = [track for track in latest.values() if track is not None and track.path not in self.played]
        self.rng.shuffle(new)
        slots = set(self.rng.sample(range(len(kept) + len(new)), len(new)))
        old, fresh = iter(kept), iter(new)
        self.bag = [next(fresh) if i in slots else next(old) for i in range(len(kept) + len(new))]

    def _refill(self) -> None:
        bag = list(self.tracks)
        self.rng.shuffle(bag)
        # The head of the new bag avoids the tail of the last one.
        head = min(len(bag) // 2, self.RECENT)
        recent = set(list(self.recent)[-head:]) if head else set()
        fresh = [t for t in bag if str(t.path) not in recent]
        again = [t for t in bag if str(t.path) in recent]
        rest = fresh[head:] + again
        self.rng.shuffle(rest)
        self.bag = fresh[:head] + rest
        self.played = set()
        if len(self.bag) > 1 and self.last is not None and self.bag[0].path == self.last.path:
            self.bag[0], self.bag[1] = self.bag[1], self.bag[0]  # never the same track twice in a row
