"""The play history: recording track starts, reading them back a page at a time, covers.

Recording is idempotent: a start is an INSERT ... ON CONFLICT (play_key) DO NOTHING, so
every app process may record what it sees and a start is still stored exactly once. The
same statement text runs on SQLite and PostgreSQL (both have ON CONFLICT), with typed
parameters so that times are stored the way the `DateTime` columns read them back.

Paging is by keyset (started_at, id), newest first: a page never repeats or skips a play,
however many plays are recorded while a listener scrolls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import (
    Connection,
    DateTime,
    LargeBinary,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
    tuple_,
)

from radiocalico.db.schema import plays, song_covers, songs

# How many songs a search may match before the plays are looked up: bounds its cost by the
# size of the catalogue, never by the length of the history.
SEARCH_SONGS = 500
SEARCH_WORDS = 8


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class PlayStart:
    """A track start as the recorder read it from metadatav2.json."""

    play_key: str
    song_id: str
    started_at: datetime
    artist: str
    title: str
    album: str = ""
    year: str = ""
    bit_depth: int | None = None
    sample_rate: int | None = None
    requested: bool = False  # a listener's request (metadatav2.json `requested`)


@dataclass(frozen=True)
class Play:
    id: int
    song_id: str
    started_at: datetime
    artist: str
    title: str
    album: str
    year: str
    bit_depth: int | None
    sample_rate: int | None
    has_cover: bool
    requested: bool = False


_TIME = DateTime(timezone=True)

# The station's album text wins over whatever a voter sent first; an empty album (the
# metadata of a previous track carries none) never overwrites one.
_UPSERT_SONG = text("""
    INSERT INTO songs (id, artist, title, album, first_seen)
    VALUES (:song_id, :artist, :title, :album, :now)
    ON CONFLICT (id) DO UPDATE SET album = excluded.album
    WHERE excluded.album <> '' AND songs.album <> excluded.album
""").bindparams(bindparam("now", type_=_TIME))

_INSERT_PLAY = text("""
    INSERT INTO plays (play_key, song_id, started_at, artist, title, album, year,
                       bit_depth, sample_rate, requested)
    VALUES (:play_key, :song_id, :started_at, :artist, :title, :album, :year,
            :bit_depth, :sample_rate, :requested)
    ON CONFLICT (play_key) DO NOTHING
""").bindparams(bindparam("started_at", type_=_TIME))

_INSERT_COVER = text("""
    INSERT INTO song_covers (song_id, jpeg, created_at) VALUES (:song_id, :jpeg, :now)
    ON CONFLICT (song_id) DO NOTHING
""").bindparams(bindparam("now", type_=_TIME), bindparam("jpeg", type_=LargeBinary))


def record(connection: Connection, starts: list[PlayStart]) -> list[PlayStart]:
    """Store the starts not stored yet (by any process); returns those this call stored."""
    now = datetime.now(timezone.utc)
    stored = []
    for start in starts:
        values = vars(start) | {"now": now}
        connection.execute(_UPSERT_SONG, values)
        if connection.execute(_INSERT_PLAY, values).rowcount:
            stored.append(start)
    return stored


def has_cover(connection: Connection, song_id: str) -> bool:
    query = select(song_covers.c.song_id).where(song_covers.c.song_id == song_id)
    return connection.execute(query).first() is not None


def with_cover(connection: Connection, song_ids: list[str]) -> set[str]:
    """Those of `song_ids` that have a kept cover (one query for a whole list)."""
    if not song_ids:
        return set()
    query = select(song_covers.c.song_id).where(song_covers.c.song_id.in_(song_ids))
    return set(connection.execute(query).scalars())


def store_cover(connection: Connection, song_id: str, jpeg: bytes) -> None:
    connection.execute(
        _INSERT_COVER, {"song_id": song_id, "jpeg": jpeg, "now": datetime.now(timezone.utc)}
    )


def cover(connection: Connection, song_id: str) -> bytes | None:
    query = select(song_covers.c.jpeg).where(song_covers.c.song_id == song_id)
    return connection.execute(query).scalar()


def forget_before(connection: Connection, cutoff: datetime) -> int:
    """Retention: delete the plays that started before `cutoff`; how many went."""
    return connection.execute(delete(plays).where(plays.c.started_at < cutoff)).rowcount


def _utc(value: datetime | None) -> datetime | None:
    # SQLite stores times as text without an offset: every bound time must be UTC.
    return value.astimezone(timezone.utc) if value is not None else None


def _matching_songs(search: str):
    """Songs whose artist or title contains every word of `search` (case-insensitive; each
    word a bound, escaped LIKE parameter)."""
    words = search.lower().split()[:SEARCH_WORDS]
    artist, title = func.lower(songs.c.artist), func.lower(songs.c.title)
    return (
        select(songs.c.id)
        .where(and_(*(or_(artist.contains(w, autoescape=True), title.contains(w, autoescape=True))
                      for w in words)))
        .limit(SEARCH_SONGS)
    )


def history(
    connection: Connection,
    *,
    limit: int,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str = "",
    before: tuple[datetime, int] | None = None,
) -> list[Play]:
    """Plays newest first, started in [since, until), matching `search` (artist or title,
    case-insensitive substring), strictly older than the keyset `before` = (started_at, id)."""
    since, until = _utc(since), _utc(until)
    before = (_utc(before[0]), before[1]) if before else None
    has = select(song_covers.c.song_id).where(song_covers.c.song_id == plays.c.song_id).exists()
    query = select(
        plays.c.id, plays.c.song_id, plays.c.started_at, plays.c.artist, plays.c.title,
        plays.c.album, plays.c.year, plays.c.bit_depth, plays.c.sample_rate, has, plays.c.requested,
    )
    if since is not None:
        query = query.where(plays.c.started_at >= since)
    if until is not None:
        query = query.where(plays.c.started_at < until)
    if search.strip():
        query = query.where(plays.c.song_id.in_(_matching_songs(search)))
    if before is not None:
        # A row-value comparison: one range on the (started_at, id) index.
        query = query.where(tuple_(plays.c.started_at, plays.c.id) < before)
    query = query.order_by(plays.c.started_at.desc(), plays.c.id.desc()).limit(limit)
    return [
        Play(row[0], row[1], as_utc(row[2]), *row[3:9], bool(row[9]), bool(row[10]))
        for row in connection.execute(query)
    ]
