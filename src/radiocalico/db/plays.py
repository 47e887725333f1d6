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
    literal_column,
    or_,
    select,
    text,
    tuple_,
)

from radiocalico.db.schema import SONG_TEXT, plays, song_covers, songs

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

# The songs are the station's: a row is made by the first recorded start of a song, and the
# newest start gives it its artist and title (the spelling the charts show) and
# `last_played`. An empty album (the metadata of a previous track carries none) never
# overwrites one. Time columns compare correctly on both databases (SQLite stores them as
# text of one fixed format).
_UPSERT_SONG = text("""
    INSERT INTO songs (id, artist, title, album, first_seen, last_played)
    VALUES (:song_id, :artist, :title, :album, :now, :started_at)
    ON CONFLICT (id) DO UPDATE SET
        artist = CASE WHEN songs.last_played IS NULL OR excluded.last_played >= songs.last_played
                      THEN excluded.artist ELSE songs.artist END,
        title = CASE WHEN songs.last_played IS NULL OR excluded.last_played >= songs.last_played
                     THEN excluded.title ELSE songs.title END,
        last_played = CASE WHEN songs.last_played IS NULL
                                OR excluded.last_played > songs.last_played
                           THEN excluded.last_played ELSE songs.last_played END,
        album = CASE WHEN excluded.album <> '' THEN excluded.album ELSE songs.album END
    WHERE songs.last_played IS NULL OR excluded.last_played > songs.last_played
       OR (excluded.album <> '' AND songs.album <> excluded.album)
""").bindparams(bindparam("now", type_=_TIME), bindparam("started_at", type_=_TIME))

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


def search_words(search: str) -> list[str]:
    return search.lower().split()[:SEARCH_WORDS]


# A word this long or longer is looked up in the substring index (trigrams); a shorter one
# only filters the songs the index gives. A search of short words alone has no index to
# use: it looks among the SHORT_SEARCH_SONGS most recently played songs only, so that its
# cost stays bounded however large the catalogue grows.
INDEXED_WORD = 3
SHORT_SEARCH_SONGS = 5000


def _contains(expression, word: str):
    return expression.contains(word, autoescape=True)


def _long(words: list[str]) -> list[str]:
    return [w for w in words if len(w) >= INDEXED_WORD]


def _in_artist_or_title(table, words: list[str]):
    artist, title = func.lower(table.c.artist), func.lower(table.c.title)
    return [or_(_contains(artist, w), _contains(title, w)) for w in words]


def postgres_matching_songs(words: list[str], since: datetime | None):
    """Songs whose artist or title contains every word, most recently played first, on
    PostgreSQL: the long words on the expression `ix_songs_search` (pg_trgm GIN) indexes,
    the short ones (for which a trigram index would read all of itself) on the columns."""
    long = _long(words)
    if not long:
        return _among_the_latest(words, since)
    song_text = literal_column(SONG_TEXT)
    query = select(songs.c.id).where(
        *(_contains(song_text, w) for w in long),
        *_in_artist_or_title(songs, [w for w in words if w not in long]),
    )
    return _recent(query, since)


def sqlite_matching_songs(words: list[str], since: datetime | None):
    """The same on SQLite: the long words are looked up in the FTS5 trigram table
    `song_search` (each a quoted phrase, which trigram matches as a substring of artist or
    title), the short ones filter what it finds."""
    long = _long(words)
    if not long:
        return _among_the_latest(words, since)
    phrase = " AND ".join('"' + w.replace('"', '""') + '"' for w in long)
    found = text("SELECT song_id FROM song_search WHERE song_search MATCH :phrase")
    query = select(songs.c.id).where(
        songs.c.id.in_(found.bindparams(phrase=phrase)),
        *_in_artist_or_title(songs, [w for w in words if w not in long]),
    )
    return _recent(query, since)


def _recent(query, since: datetime | None):
    """The SEARCH_SONGS most recently played of the songs `query` selects: the newest plays
    of matching songs are theirs, and an unplayed song is never among them."""
    query = query.where(songs.c.last_played.is_not(None))
    if since is not None:  # a song last played before the range has no play in it
        query = query.where(songs.c.last_played >= since)
    return query.order_by(songs.c.last_played.desc()).limit(SEARCH_SONGS)


def _among_the_latest(words: list[str], since: datetime | None):
    """Short words alone: the matching songs among the SHORT_SEARCH_SONGS most recently
    played (read by `ix_songs_last_played`, then filtered: a derived table, so that the
    filter is never planned as a scan of every song)."""
    latest = select(songs.c.id, songs.c.artist, songs.c.title, songs.c.last_played).where(
        songs.c.last_played.is_not(None))
    if since is not None:
        latest = latest.where(songs.c.last_played >= since)
    latest = latest.order_by(songs.c.last_played.desc()).limit(SHORT_SEARCH_SONGS).subquery()
    return (select(latest.c.id).where(*_in_artist_or_title(latest, words))
            .order_by(latest.c.last_played.desc()).limit(SEARCH_SONGS))


def history(
    connection: Connection,
    *,
    limit: int,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str = "",
    matching_songs=postgres_matching_songs,
    before: tuple[datetime, int] | None = None,
) -> list[Play]:
    """Plays newest first, started in [since, until), matching `search` (every word in the
    artist or title, case-insensitive substring; among the SEARCH_SONGS most recently played
    matching songs), strictly older than the keyset `before` = (started_at, id).
    `matching_songs` is the database's search (the store's `matching_songs`)."""
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
    if words := search_words(search):
        query = query.where(plays.c.song_id.in_(matching_songs(words, since)))
    if before is not None:
        # A row-value comparison: one range on the (started_at, id) index.
        query = query.where(tuple_(plays.c.started_at, plays.c.id) < before)
    query = query.order_by(plays.c.started_at.desc(), plays.c.id.desc()).limit(limit)
    return [
        Play(row[0], row[1], as_utc(row[2]), *row[3:9], bool(row[9]), bool(row[10]))
        for row in connection.execute(query)
    ]
