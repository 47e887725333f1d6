"""Programming queries: the library mirror, playlists, the schedule, requests, station
commands and the audit trail (tables in db/schema.py; the API writes them, the station reads
them and marks requests and commands done)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from radiocalico.db.plays import as_utc
from radiocalico.db.schema import (
    audit,
    library_tracks,
    playlist_entries,
    playlists,
    plays,
    schedule_blocks,
    station_commands,
    timed_items,
    track_requests,
)

SEARCH_WORDS = 8
ENTRY_KINDS = ("folder", "genre", "track")
TIMED_KINDS = ("top_of_hour", "every_n")
COMMAND_OPS = ("skip", "remove", "move")


def track_id(relative_path: str) -> str:
    """A library track's stable id: its path relative to the library, digested (the same in
    every process and across rescans and restarts)."""
    return hashlib.sha256(relative_path.encode("utf-8", "surrogateescape")).hexdigest()[:20]


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- the library mirror ---------------------------------------------------------------------

@dataclass(frozen=True)
class LibraryTrack:
    track_id: str
    song_id: str
    path: str
    artist: str
    title: str
    album: str
    genre: str
    duration: float


_LIBRARY_COLUMNS = (library_tracks.c.track_id, library_tracks.c.song_id, library_tracks.c.path,
                    library_tracks.c.artist, library_tracks.c.title, library_tracks.c.album,
                    library_tracks.c.genre, library_tracks.c.duration)


def mirror_library(connection: Connection, tracks: list[LibraryTrack]) -> None:
    """Make `library_tracks` exactly `tracks` (one transaction: readers see the old or the new)."""
    now = _now()
    connection.execute(delete(library_tracks))
    if tracks:
        connection.execute(insert(library_tracks), [vars(t) | {"updated_at": now} for t in tracks])


def put_library_track(connection: Connection, track: LibraryTrack) -> None:
    """One file's row, now (the console changed it; the station's next mirror agrees)."""
    connection.execute(delete(library_tracks).where(library_tracks.c.track_id == track.track_id))
    connection.execute(insert(library_tracks), [vars(track) | {"updated_at": _now()}])


def delete_library_track(connection: Connection, tid: str) -> None:
    connection.execute(delete(library_tracks).where(library_tracks.c.track_id == tid))


def search_library(connection: Connection, q: str, limit: int) -> list[LibraryTrack]:
    """Tracks whose artist, title or album contains every word of `q` (case-insensitive)."""
    query = select(*_LIBRARY_COLUMNS)
    fields = (func.lower(library_tracks.c.artist), func.lower(library_tracks.c.title),
              func.lower(library_tracks.c.album))
    for word in q.lower().split()[:SEARCH_WORDS]:
        query = query.where(or_(*(f.contains(word, autoescape=True) for f in fields)))
    query = query.order_by(library_tracks.c.artist, library_tracks.c.title, library_tracks.c.track_id)
    return [LibraryTrack(*row) for row in connection.execute(query.limit(limit))]


def library_track(connection: Connection, tid: str) -> LibraryTrack | None:
    row = connection.execute(select(*_LIBRARY_COLUMNS).where(library_tracks.c.track_id == tid)).first()
    return LibraryTrack(*row) if row else None


# --- playlists, the schedule -----------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    kind: str  # folder | genre | track
    value: str
    weight: int


@dataclass(frozen=True)
class Block:
    name: str
    playlist: str
    days: tuple[int, ...]  # weekdays it starts on, Monday = 0
    start_minute: int
    end_minute: int  # <= start_minute: runs past midnight


@dataclass(frozen=True)
class Timed:
    kind: str  # top_of_hour | every_n
    every: int | None
    playlist: str


@dataclass(frozen=True)
class Programming:
    playlists: dict[str, list[Entry]]
    blocks: list[Block]
    timed: list[Timed]


def load(connection: Connection) -> Programming:
    names = dict(connection.execute(select(playlists.c.id, playlists.c.name)).all())
    lists: dict[str, list[Entry]] = {name: [] for name in names.values()}
    for pid, kind, value, weight in connection.execute(
            select(playlist_entries.c.playlist_id, playlist_entries.c.kind, playlist_entries.c.value,
                   playlist_entries.c.weight).order_by(playlist_entries.c.id)):
        lists[names[pid]].append(Entry(kind, value, weight))
    blocks = [
        Block(name, names[pid], tuple(int(d) for d in days.split(",") if d), start, end)
        for name, pid, days, start, end in connection.execute(
            select(schedule_blocks.c.name, schedule_blocks.c.playlist_id, schedule_blocks.c.days,
                   schedule_blocks.c.start_minute, schedule_blocks.c.end_minute).order_by(schedule_blocks.c.id))
    ]
    timed = [Timed(kind, every, names[pid]) for kind, every, pid in connection.execute(
        select(timed_items.c.kind, timed_items.c.every, timed_items.c.playlist_id).order_by(timed_items.c.id))]
    return Programming(lists, blocks, timed)


def playlist_id(connection: Connection, name: str) -> int | None:
    return connection.execute(select(playlists.c.id).where(playlists.c.name == name)).scalar()


def put_playlist(connection: Connection, name: str, entries: list[Entry]) -> bool:
    """Create or replace the playlist `name`; True when it was created."""
    pid = playlist_id(connection, name)
    created = pid is None
    if created:
        pid = connection.execute(insert(playlists).values(name=name, created_at=_now())
                                 .returning(playlists.c.id)).scalar_one()
    else:
        connection.execute(delete(playlist_entries).where(playlist_entries.c.playlist_id == pid))
    if entries:
        connection.execute(insert(playlist_entries), [
            {"playlist_id": pid, "kind": e.kind, "value": e.value, "weight": e.weight} for e in entries])
    return created


def delete_playlist(connection: Connection, name: str) -> bool:
    """Delete the playlist (and the blocks and timed items naming it)."""
    pid = playlist_id(connection, name)
    if pid is None:
        return False
    for table in (schedule_blocks, timed_items, playlist_entries):
        connection.execute(delete(table).where(table.c.playlist_id == pid))
    connection.execute(delete(playlists).where(playlists.c.id == pid))
    return True


def put_schedule(connection: Connection, blocks: list[Block], timed: list[Timed]) -> None:
    """Replace the whole schedule (the playlists named must exist)."""
    connection.execute(delete(schedule_blocks))
    connection.execute(delete(timed_items))
    for b in blocks:
        connection.execute(insert(schedule_blocks).values(
            name=b.name, playlist_id=playlist_id(connection, b.playlist), days=",".join(map(str, b.days)),
            start_minute=b.start_minute, end_minute=b.end_minute))
    for t in timed:
        connection.execute(insert(timed_items).values(kind=t.kind, every=t.every,
                                                      playlist_id=playlist_id(connection, t.playlist)))


# --- the play history as the rules read it ---------------------------------------------------

def recent_plays(connection: Connection, since: datetime) -> list[tuple[str, str, datetime]]:
    """(song_id, artist, started_at) of the plays since `since`, oldest first."""
    query = (select(plays.c.song_id, plays.c.artist, plays.c.started_at)
             .where(plays.c.started_at >= since.astimezone(timezone.utc))
             .order_by(plays.c.started_at))
    return [(sid, artist, as_utc(at)) for sid, artist, at in connection.execute(query)]


def last_played(connection: Connection, song_id: str) -> datetime | None:
    at = connection.execute(select(func.max(plays.c.started_at)).where(plays.c.song_id == song_id)).scalar()
    return as_utc(at) if at is not None else None


# --- requests ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    id: int
    track_id: str
    song_id: str
    requester: str
    status: str
    created_at: datetime


_REQUEST_COLUMNS = (track_requests.c.id, track_requests.c.track_id, track_requests.c.song_id,
                    track_requests.c.requester, track_requests.c.status, track_requests.c.created_at)


def add_request(connection: Connection, track: LibraryTrack, requester: str) -> Request:
    now = _now()
    rid = connection.execute(insert(track_requests).values(
        track_id=track.track_id, song_id=track.song_id, requester=requester, status="waiting",
        created_at=now).returning(track_requests.c.id)).scalar_one()
    return Request(rid, track.track_id, track.song_id, requester, "waiting", now)


def last_requested(connection: Connection, song_id: str) -> datetime | None:
    at = connection.execute(select(func.max(track_requests.c.created_at))
                            .where(track_requests.c.song_id == song_id)).scalar()
    return as_utc(at) if at is not None else None


def open_requests(connection: Connection) -> list[Request]:
    """Requests not played yet (waiting, or queued by the station), oldest first."""
    query = (select(*_REQUEST_COLUMNS).where(track_requests.c.status.in_(("waiting", "queued")))
             .order_by(track_requests.c.id))
    return [Request(*row[:5], as_utc(row[5])) for row in connection.execute(query)]


def set_request_status(connection: Connection, rid: int, status: str, played_at: datetime | None = None) -> None:
    connection.execute(update(track_requests).where(track_requests.c.id == rid)
                       .values(status=status, played_at=played_at))


# --- station commands and the audit trail ----------------------------------------------------

@dataclass(frozen=True)
class Command:
    id: int
    op: str
    item: str | None
    position: int | None


def add_command(connection: Connection, op: str, item: str | None = None, position: int | None = None) -> int:
    return connection.execute(insert(station_commands).values(
        op=op, item=item, position=position, created_at=_now()).returning(station_commands.c.id)).scalar_one()


def pending_commands(connection: Connection) -> list[Command]:
    query = (select(station_commands.c.id, station_commands.c.op, station_commands.c.item,
                    station_commands.c.position)
             .where(station_commands.c.applied_at.is_(None)).order_by(station_commands.c.id))
    return [Command(*row) for row in connection.execute(query)]


def command_done(connection: Connection, cid: int, outcome: str) -> None:
    connection.execute(update(station_commands).where(station_commands.c.id == cid)
                       .values(applied_at=_now(), outcome=outcome[:256]))


def command(connection: Connection, cid: int) -> tuple[str, datetime | None, str | None] | None:
    """(op, applied_at, outcome) of a command; None when there is no such command."""
    row = connection.execute(select(station_commands.c.op, station_commands.c.applied_at,
                                    station_commands.c.outcome).where(station_commands.c.id == cid)).first()
    return (row[0], as_utc(row[1]) if row[1] else None, row[2]) if row else None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    username: str
    at: datetime
    action: str
    detail: dict


def record_audit(connection: Connection, user_id: int, username: str, action: str, detail: dict) -> None:
    connection.execute(insert(audit).values(user_id=user_id, username=username, at=_now(), action=action,
                                            detail=json.dumps(detail, sort_keys=True)[:2048]))


def audit_trail(connection: Connection, limit: int, before: int | None = None) -> list[AuditEntry]:
    query = select(audit.c.id, audit.c.username, audit.c.at, audit.c.action, audit.c.detail)
    if before is not None:
        query = query.where(audit.c.id < before)
    rows = connection.execute(query.order_by(audit.c.id.desc()).limit(limit))
    return [AuditEntry(i, user, as_utc(at), action, _json(detail)) for i, user, at, action, detail in rows]


def _json(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


