"""The decider: what plays next, decided ahead, from sources asked in priority order.

The programme asks `next()` for the track to open (`Decider` stands where the rotation
stood: it answers the programme's questions about the library by asking the rotation). The
decider keeps a queue of at least `QUEUE` items, each projected onto the station clock (the
stream's program-date-time clock, which a test runs faster than real time), and fills it
by asking, for the moment each item would start, in order (docs/architecture.md):

1. a fixed-time item due now: the top-of-hour playlist (station IDs). It starts exactly on
   the hour: the station cuts the track playing then (`hard_start`, a 0.2 s fade ending on
   the hour), as a playout system's "hard start" does; a track that would end less than
   `EARLY` seconds before the hour is followed by the ID at once rather than by a few
   seconds of a song;
2. an every-N-songs item that is due (jingles);
3. the oldest fair request (round-robin by requester) that passes the rules;
4. the active time block's playlist (the station's time zone), through the rules;
5. the whole library (the rotation's shuffled bag), through the rules: never silent.

An empty playlist, or a source whose every track breaks the rules, falls through to the
next. The rules: no song (radiocalico.songs.song_id: one song in two folders is one song)
within `Rules.song_minutes` and no artist within `Rules.artist_minutes` of its last play,
read from the play history (the `plays` table through `programming.ProgrammingSync`, so
they hold across restarts and replicas), the decider's own log of what it aired (saved in
the station's state: it holds before the recorder has caught up) and the queue itself.
When no track of the library passes them (a small library), the one that breaks them least
plays and the item says so (`relaxed`, published for the console).

An `Item` is a library `Track` with why it plays (`reason`: rotation, playlist:<name>,
request:<id>, station-id, jingle) and an `item_id` the console names it by to remove or move
it.
"""

from __future__ import annotations

import logging
import math
import random
import secrets
import time
from collections import deque
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone, tzinfo
from typing import Callable

from radiocalico.db.programming import Programming, Request, track_id
from radiocalico.songs import song_id

from .library import Track, display_name
from .rotation import Rotation

log = logging.getLogger("radiocalico.station")

HOUR = 3600.0


@dataclass(frozen=True)
class Rules:
    song_minutes: float = 120.0
    artist_minutes: float = 30.0


@dataclass(frozen=True, slots=True)
class Item(Track):
    """A track to play, and why."""

    reason: str = "rotation"
    item_id: str = ""
    relaxed: bool = False  # the rules were relaxed to choose it (the library is too small)
    request_id: int | None = None
    hour: float | None = None  # the hour mark (station clock) a station ID airs on


_TRACK_FIELDS = tuple(f.name for f in fields(Track))


def as_item(track: Track, reason: str, **why) -> Item:
    why.setdefault("item_id", secrets.token_hex(6))
    return Item(**{name: getattr(track, name) for name in _TRACK_FIELDS}, reason=reason, **why)


def _artist_key(artist: str) -> str:
    return " ".join(artist.lower().split())


def _song_key(track: Track) -> str:
    return song_id(track.artist, track.title)


@dataclass
class Snapshot:
    """What the station last read from the database (programming.ProgrammingSync)."""

    programming: Programming = field(default_factory=lambda: Programming({}, [], []))
    plays: list[tuple[str, str, datetime]] = field(default_factory=list)  # song_id, artist, started_at
    requests: list[Request] = field(default_factory=list)


class Decider:
    QUEUE = 5  # items decided ahead (and published as `next`)
    LIBRARY_SECONDS = 1.0
    EARLY = 10.0  # seconds before the hour a track may end and the station ID follow at once
    LOGGED = 500  # aired items remembered (the rules look back hours)

    def __init__(self, rotation: Rotation, rules: Rules | None = None, zone: tzinfo = timezone.utc,
                 clock: Callable[[], float] = time.time, seed: int | None = None, ahead: int = QUEUE):
        """`rules` None: the rotation alone (no separation); `clock`: the station clock at the
        programme's decode head (when the track asked for will start); `ahead`: items decided
        ahead (0: each when asked, as the bare rotation did)."""
        self.rotation = rotation
        self.ahead = ahead
        self.rules = rules
        self.zone = zone
        self.clock = clock
        self.rng = random.Random(seed)
        self.snapshot = Snapshot()
        self.queue: list[Item] = []
        self.aired: deque[tuple[float, str, str]] = deque(maxlen=self.LOGGED)  # at, song key, artist key
        self.current: Item | None = None
        self.current_end: float | None = None
        self.aired_hour: float | None = None
        self.since_jingle = 0  # songs aired since the last jingle
        self.taken_requests: set[int] = set()
        self.events: list[tuple] = []  # for the database: ("queued", id) / ("played", id, at)
        self._held: Item | None = None  # decided, waiting behind a station ID
        self.pinned: set[str] = set()  # items an operator moved: played as placed, never re-decided
        # The library as last asked of the rotation (the index builds a new sorted list per
        # ask), with what is derived from it: asked again at most every LIBRARY_SECONDS.
        self._library: list[Track] = []
        self._library_at = -math.inf
        self._ids: dict[str, Track] = {}
        self._entries: dict[tuple[str, str], list[Track]] = {}
        self._relative: dict = {}  # path -> relative posix text (paths never change)
        self._keys: dict = {}  # Track -> (song key, artist key)


    # -- what the programme asks of a rotation ----------------------------------------------

    @property
    def tracks(self) -> list[Track]:
        return self.rotation.tracks

    @property
    def bag(self) -> list[Track]:
        """What is to play, in order: the queue, then the rotation's bag."""
        return list(self.queue) + self.rotation.bag

    def track(self, path: str) -> Track | None:
        return self.rotation.track(path)

    def restore(self, bag: list[str], last: str | None, ahead: int | None = None) -> None:
        """After `resume`: `bag` (the programme's, see `bag`) begins with the `ahead` tracks
        decoded ahead of the restart's segment, which had left the queue: they play first
        again. A state without `ahead` (older) counts them up to the first queued track,
        which a small library's repeats can cut short."""
        queued = {str(item.path) for item in self.queue}
        if ahead is None:
            ahead = 0
            while ahead < len(bag) and bag[ahead] not in queued:
                ahead += 1
        if self.queue:
            tracks = [self.rotation.track(path) for path in bag[:ahead]]
            self.queue[:0] = [as_item(t, "rotation") for t in tracks if t is not None]
            bag = bag[ahead:]
        self.rotation.restore([path for path in bag if path not in queued], last)

    def next(self) -> Item:
        now = self.clock()
        if not self.queue:
            self.current_end = now
            self._refill(1)
        if self.queue[0].hour is not None and self.queue[0].hour - now > self.EARLY:
            item = self._decide(now)  # (a skip brought the hour's ID early: it waits for its hour)
        else:
            item = self.queue.pop(0)
            if item.relaxed and item.request_id is None and item.item_id not in self.pinned:
                # Decided when the rules could not be honoured (the index still scanning, a
                # busy hour): decided again now, if that breaks them less.
                last = self._last_seen()
                fresh = self._decide(now)
                if self._violation(fresh, now, last) < self._violation(item, now, last):
                    item = fresh
        self.current, self.current_end = item, now + max(item.duration, 1.0)
        self.aired.append((now, _song_key(item), _artist_key(item.artist)))
        if item.hour is not None:
            self.aired_hour = item.hour
        if item.reason == "jingle":
            self.since_jingle = 0
        elif item.reason != "station-id":
            self.since_jingle += 1
        self._refill()
        return item

    # -- the queue ---------------------------------------------------------------------------

    def upcoming(self) -> list[tuple[Item, float]]:
        """The queue with each item's projected start on the station clock."""
        out = []
        at = self.current_end if self.current_end is not None else self.clock()
        for item in self.queue:
            if item.hour is not None and at > item.hour:
                at = item.hour  # the track before is cut on the hour
            out.append((item, at))
            at += max(item.duration, 1.0)
        return out

    def remove(self, item_id: str) -> Item | None:
        for index, item in enumerate(self.queue):
            if item.item_id == item_id:
                del self.queue[index]
                if item.request_id is not None:
                    self.taken_requests.discard(item.request_id)
                    self.events.append(("dropped", item.request_id))
                self._refill()
                return item
        return None

    def move(self, item_id: str, position: int) -> Item | None:
        for index, item in enumerate(self.queue):
            if item.item_id == item_id:
                del self.queue[index]
                self.queue.insert(max(0, min(position, len(self.queue))), item)
                self.pinned = {i.item_id for i in self.queue} & (self.pinned | {item.item_id})
                return item
        return None

    def requeue(self, tracks: list[Track]) -> None:
        """Items decided but cut before they aired (a skip, the hour) go back to the front."""
        items = [t for t in tracks if isinstance(t, Item)]
        self.queue[:0] = items
        if items:
            self.current_end = self.clock()

    def hard_start(self, start: float, end: float) -> float | None:
        """The hour mark H with a top-of-hour item whose fade-in point (H - `fade`) lies in
        [start, end) and whose ID has not aired yet: the station cuts there."""
        if not self._timed_tracks("top_of_hour"):
            return None
        mark = math.ceil(start / HOUR) * HOUR
        if mark >= end or self.aired_hour == mark:
            return None
        return mark

    def on_the_hour(self, mark: float) -> None:
        """The track playing was cut for the hour: the hour's ID first."""
        for index, item in enumerate(self.queue):
            if item.hour == mark:
                self.queue.insert(0, self.queue.pop(index))
                break
        else:
            item = self._timed_item("top_of_hour", "station-id", hour=mark)
            if item is not None:
                self.queue.insert(0, item)
        self.current_end = mark

    def replan(self) -> None:
        """The playlists or the schedule changed: the queued items they chose are chosen again
        under the new ones (requests, the hour's station ID and items an operator moved keep
        their places), so "Up
        next" shows the change at once rather than after the queue has played out."""
        kept = [item for item in self.queue
                if item.request_id is not None or item.hour is not None or item.item_id in self.pinned]
        if len(kept) == len(self.queue):
            return
        self.queue = kept
        self._held = None
        self._refill()

    def adopt_requests(self) -> None:
        """A waiting request for a song the queue already holds: that item becomes the request
        (it keeps its place), rather than the request waiting for the song to be allowed again."""
        for request in self.snapshot.requests:
            if request.status != "waiting" or request.id in self.taken_requests:
                continue
            track = self.by_id(request.track_id)
            if track is None:
                continue
            for index, item in enumerate(self.queue):
                chosen = item.reason == "rotation" or item.reason.startswith("playlist:")
                if chosen and _song_key(item) == _song_key(track):
                    self.queue[index] = as_item(item, f"request:{request.id}", item_id=item.item_id,
                                                request_id=request.id)
                    self.taken_requests.add(request.id)
                    self.events.append(("queued", request.id))
                    break

    def _refill(self, least: int = 0) -> None:
        self.adopt_requests()
        while len(self.queue) < max(self.ahead, least):
            projected = self.upcoming()
            at = projected[-1][1] + max(projected[-1][0].duration, 1.0) if projected else (
                self.current_end if self.current_end is not None else self.clock())
            item = None
            if projected and self._timed("top_of_hour"):
                start = projected[-1][1]
                mark = math.ceil(start / HOUR) * HOUR
                if start < mark - self.EARLY and mark < at and not self._hour_taken(mark):
                    item = self._timed_item("top_of_hour", "station-id", hour=mark)  # cuts the last on the hour
            self.queue.append(item or self._decide(at))

    # -- deciding -------------------------------------------------------------------------

    def _decide(self, at: float) -> Item:
        if self._held is not None:
            item, self._held = self._held, None
            return item
        item = self._choose(at)
        mark = math.ceil(at / HOUR) * HOUR
        if (self._timed("top_of_hour") and not self._hour_taken(mark)
                and (at == mark or (at + item.duration > mark and mark - at <= self.EARLY))):
            # It would be cut on the hour after a few seconds: the hour's ID first, then it.
            station_id = self._timed_item("top_of_hour", "station-id", hour=mark)
            if station_id is not None:
                self._held = item
                return station_id
        return item

    def _choose(self, at: float) -> Item:
        every = [t.every for t in self.snapshot.programming.timed if t.kind == "every_n" and t.every]
        if every and self._songs_since_jingle() >= min(every):
            item = self._timed_item("every_n", "jingle")
            if item is not None:
                return item
        last = self._last_seen()
        request = self._request(at, last)
        if request is not None:
            return request
        block = self.active_block(at)
        if block is not None:
            tracks = self._playlist_tracks(block.playlist)
            if tracks:
                track, score = self._least(tracks, at, last)
                return as_item(track, f"playlist:{block.playlist}", relaxed=score > 0)
            log.info("playlist %s of block %s is empty: playing the whole library", block.playlist, block.name)
        return self._from_rotation(at, last)

    def _from_rotation(self, at: float, last) -> Item:
        if self.rules is None and not self._excluded():
            return as_item(self.rotation.next(), "rotation")
        excluded = self._excluded()

        def violation(track: Track) -> float:
            if str(track.path) in excluded:
                return math.inf
            return self._violation(track, at, last)

        track, score = self.rotation.pick(violation)
        if score > 0:
            log.info("rotation rules relaxed for %s: the library is too small to honour them",
                     display_name(track.path))
        return as_item(track, "rotation", relaxed=score > 0)

    def _least(self, tracks: list[Track], at: float, last) -> tuple[Track, float]:
        """A random track that honours the rules, else the one that breaks them least."""
        order = list(tracks)
        self.rng.shuffle(order)
        best: tuple[float, Track] | None = None
        for track in order:
            score = self._violation(track, at, last)
            if score == 0:
                return track, 0.0
            if best is None or score < best[0]:
                best = (score, track)
        return best[1], best[0]

    def _last_seen(self) -> tuple[dict[str, float], dict[str, float]]:
        """When each song and artist last played or is queued to (station clock)."""
        songs: dict[str, float] = {}
        artists: dict[str, float] = {}

        def seen(at: float, song: str, artist: str) -> None:
            songs[song] = max(songs.get(song, -math.inf), at)
            artists[artist] = max(artists.get(artist, -math.inf), at)

        for song, artist, started in self.snapshot.plays:
            seen(started.timestamp(), song, _artist_key(artist))
        for at, song, artist in self.aired:
            seen(at, song, artist)
        for item, at in self.upcoming():
            if item.reason not in ("station-id", "jingle"):
                seen(at, _song_key(item), _artist_key(item.artist))
        return songs, artists

    def _violation(self, track: Track, at: float, last) -> float:
        """0 when the track honours the rules at `at`; else how far it falls short (the song
        rule weighs twice the artist rule)."""
        if self.rules is None:
            return 0.0
        songs, artists = last
        score = 0.0
        keys = self._keys.get(track)
        if keys is None:
            keys = self._keys[track] = (_song_key(track), _artist_key(track.artist))
        song_gap = at - songs.get(keys[0], -math.inf)
        if self.rules.song_minutes > 0 and song_gap < self.rules.song_minutes * 60:
            score += 2 * (1 - max(song_gap, 0) / (self.rules.song_minutes * 60))
        artist_gap = at - artists.get(keys[1], -math.inf)
        if self.rules.artist_minutes > 0 and artist_gap < self.rules.artist_minutes * 60:
            score += 1 - max(artist_gap, 0) / (self.rules.artist_minutes * 60)
        return score

    # -- requests -------------------------------------------------------------------------

    def _request(self, at: float, last) -> Item | None:
        """The oldest request in fair order (each requester's first, then each one's second…)
        whose track passes the rules."""
        rank: dict[str, int] = {}
        ordered = []
        for request in self.snapshot.requests:
            n = rank.get(request.requester, 0)
            rank[request.requester] = n + 1
            if request.status == "waiting" and request.id not in self.taken_requests:
                ordered.append((n, request.id, request))
        for _, _, request in sorted(ordered, key=lambda r: r[:2]):
            track = self.by_id(request.track_id)
            if track is None:
                continue
            if self._violation(track, at, last) == 0:
                self.taken_requests.add(request.id)
                self.events.append(("queued", request.id))
                return as_item(track, f"request:{request.id}", request_id=request.id)
        return None

    def by_id(self, tid: str) -> Track | None:
        self._tracks()
        if not self._ids and self._library:
            self._ids = {track_id(self._rel(t.path)): t for t in self._library}
        return self._ids.get(tid)

    def _tracks(self) -> list[Track]:
        now = time.monotonic()
        if now - self._library_at >= self.LIBRARY_SECONDS:
            self._library, self._library_at = self.rotation.tracks, now
            self._ids, self._entries = {}, {}
        return self._library

    def _rel(self, path) -> str:
        text = self._relative.get(path)
        if text is None:
            text = self._relative[path] = _relative(path, self.rotation.library)
        return text

    # -- playlists, blocks, timed items ---------------------------------------------------

    def active_block(self, at: float):
        local = datetime.fromtimestamp(at, self.zone)
        minute = local.hour * 60 + local.minute
        day = local.weekday()
        for block in self.snapshot.programming.blocks:
            if block.start_minute < block.end_minute:
                if day in block.days and block.start_minute <= minute < block.end_minute:
                    return block
            elif (day in block.days and minute >= block.start_minute) or (
                    (day - 1) % 7 in block.days and minute < block.end_minute):
                return block
        return None

    def _playlist_tracks(self, name: str) -> list[Track]:
        entries = self.snapshot.programming.playlists.get(name) or []
        groups = []
        for entry in entries:
            tracks = self._entry_tracks(entry)
            if tracks and entry.weight > 0:
                groups.append((entry.weight, tracks))
        if not groups:
            return []
        weights = [w for w, _ in groups]
        return self.rng.choices([t for _, t in groups], weights=weights)[0]

    def _entry_tracks(self, entry) -> list[Track]:
        key = (entry.kind, entry.value)
        tracks = self._tracks()
        if key in self._entries:
            return self._entries[key]
        if entry.kind == "track":
            track = self.by_id(entry.value)
            found = [track] if track is not None else []
        elif entry.kind == "folder":
            prefix = entry.value.strip("/") + "/"
            found = [t for t in tracks if prefix == "/" or (self._rel(t.path) + "/").startswith(prefix)]
        else:
            wanted = entry.value.strip().lower()
            found = [t for t in tracks if wanted and wanted in t.genre.lower()]
        self._entries[key] = found
        return found

    def _timed(self, kind: str) -> bool:
        return any(t.kind == kind for t in self.snapshot.programming.timed)

    def _timed_tracks(self, kind: str) -> list[Track]:
        tracks: list[Track] = []
        for timed in self.snapshot.programming.timed:
            if timed.kind == kind:
                for entry in self.snapshot.programming.playlists.get(timed.playlist) or []:
                    tracks += self._entry_tracks(entry)
        return tracks

    def _timed_item(self, kind: str, reason: str, hour: float | None = None) -> Item | None:
        """One of the timed playlist's tracks, not the one aired last time when it has others;
        None (the next source answers) when the playlist is empty."""
        tracks = self._timed_tracks(kind)
        if not tracks:
            return None
        recent = {song for _, song, _ in list(self.aired)[-len(tracks) + 1:]} if len(tracks) > 1 else set()
        fresh = [t for t in tracks if _song_key(t) not in recent] or tracks
        return as_item(self.rng.choice(fresh), reason, hour=hour)

    def _hour_taken(self, mark: float) -> bool:
        return self.aired_hour == mark or any(item.hour == mark for item in self.queue)

    def _songs_since_jingle(self) -> int:
        count = self.since_jingle
        for item in self.queue:
            if item.reason == "jingle":
                count = 0
            elif item.reason != "station-id":
                count += 1
        return count

    def _excluded(self) -> set[str]:
        """Station IDs and jingles never play as songs."""
        paths: set[str] = set()
        for timed in self.snapshot.programming.timed:
            for entry in self.snapshot.programming.playlists.get(timed.playlist) or []:
                paths.update(str(t.path) for t in self._entry_tracks(entry))
        return paths

    # -- a restart ------------------------------------------------------------------------

    def state(self) -> dict:
        return {
            "aired": [list(entry) for entry in self.aired],
            "queue": [{"path": str(item.path), "reason": item.reason, "item_id": item.item_id,
                       "relaxed": item.relaxed, "request_id": item.request_id, "hour": item.hour,
                       "pinned": item.item_id in self.pinned}
                      for item in self.queue],
            "aired_hour": self.aired_hour,
            "since_jingle": self.since_jingle,
            "current_end": self.current_end,
        }

    def resume(self, saved: dict | None) -> None:
        saved = saved or {}
        for entry in saved.get("aired", []):
            try:
                at, song, artist = entry
                self.aired.append((float(at), str(song), str(artist)))
            except (TypeError, ValueError):
                continue
        self.aired_hour = saved.get("aired_hour")
        self.current_end = saved.get("current_end")
        self.since_jingle = int(saved.get("since_jingle", 0) or 0)
        for entry in saved.get("queue", []):
            track = self.rotation.track(str(entry.get("path", "")))
            if track is None:
                continue
            request_id = entry.get("request_id")
            self.queue.append(as_item(track, str(entry.get("reason", "rotation")),
                                      item_id=str(entry.get("item_id") or secrets.token_hex(6)),
                                      relaxed=bool(entry.get("relaxed")), request_id=request_id,
                                      hour=entry.get("hour")))
            if request_id is not None:
                self.taken_requests.add(int(request_id))
            if entry.get("pinned"):  # moved by an operator: a replan after the restart keeps it
                self.pinned.add(self.queue[-1].item_id)


def _relative(path, root) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
