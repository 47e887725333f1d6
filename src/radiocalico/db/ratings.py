"""Queries on votes: counts, the caller's own vote, casting, retracting and the chart.

Counts are read from `songs.up` / `songs.down`, which triggers on `votes` keep in the
same statement as the vote (see db/schema.py): a read costs the same at ten votes and at
a million, never aggregates `votes`, and is never stale.

Casting or retracting a vote is one statement (the triggers firing at its end); a vote is
only for a song the station played (a row of `songs`, made by the play recorder). On
PostgreSQL it runs in autocommit, followed by a read of the counts it left; on SQLite it
and the read run inside one IMMEDIATE transaction. Which of the two
runs is chosen once, by the store (db/store.py), as the `Votes` subclass it hands out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import (
    Connection,
    DateTime,
    Integer,
    and_,
    bindparam,
    delete,
    exists,
    literal_column,
    select,
    text,
    update,
)

from radiocalico.db.schema import songs, votes


@dataclass(frozen=True)
class Rating:
    song_id: str
    up: int
    down: int
    my_vote: int | None  # 1, -1 or None


_TIME = DateTime(timezone=True)

# A vote: an upsert whose row is selected from `songs`, so a song the station never played
# (no row: songs are the recorder's, see db/schema.py) gets no vote, and no row either. One
# statement on both databases; the casts give PostgreSQL the parameters' types.
_CAST = text("""
    INSERT INTO votes (song_id, voter, user_id, value, created_at, updated_at)
    SELECT id, :voter, CAST(:user_id AS INTEGER), CAST(:value AS SMALLINT), :now, :now
    FROM songs WHERE id = :song_id
    ON CONFLICT (song_id, voter)
    DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
""").bindparams(bindparam("now", type_=_TIME))


# Built once: this is the hottest query, and building the expression costs more than
# running it. One primary-key lookup per song, plus one for the voter's own vote.
_RATINGS = (
    select(songs.c.id, songs.c.up, songs.c.down, votes.c.value)
    .outerjoin(votes, and_(votes.c.song_id == songs.c.id, votes.c.voter == bindparam("voter")))
    .where(songs.c.id.in_(bindparam("song_ids", expanding=True)))
)
_ONE_RATING = (
    select(songs.c.up, songs.c.down, votes.c.value)
    .outerjoin(votes, and_(votes.c.song_id == songs.c.id, votes.c.voter == bindparam("voter")))
    .where(songs.c.id == bindparam("song_id"))
)


def ratings_for(connection: Connection, song_ids: list[str], voter: str | None) -> list[Rating]:
    """Counts and the voter's own vote for each id, in the order asked (unknown ids: 0/0)."""
    if len(song_ids) == 1:
        return [rating_of(connection, song_ids[0], voter)]
    rows = connection.execute(_RATINGS, {"voter": voter, "song_ids": song_ids})
    found = {row[0]: row for row in rows}
    return [
        Rating(sid, found[sid][1], found[sid][2], found[sid][3])
        if sid in found
        else Rating(sid, 0, 0, None)
        for sid in song_ids
    ]


def votes_of(connection: Connection, voter: str, limit: int) -> list[tuple[str, int]]:
    """(song id, value) of the voter's votes, newest first, at most `limit`."""
    rows = connection.execute(
        select(votes.c.song_id, votes.c.value)
        .where(votes.c.voter == voter)
        .order_by(votes.c.updated_at.desc(), votes.c.song_id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


def rating_of(connection: Connection, song_id: str, voter: str | None) -> Rating:
    """One song's counts and the voter's own vote (an unknown song: 0/0)."""
    row = connection.execute(_ONE_RATING, {"voter": voter, "song_id": song_id}).first()
    return Rating(song_id, row[0], row[1], row[2]) if row else Rating(song_id, 0, 0, None)


_DELETE_VOTE = delete(votes).where(
    votes.c.song_id == bindparam("song_id"), votes.c.voter == bindparam("voter")
)


_PG_COUNTS = select(songs.c.up, songs.c.down).where(songs.c.id == bindparam("song_id"))


class Votes(ABC):
    """Casting and retracting votes on one connection, the way one database does it best.

    `Store.voting()` picks the subclass for its database and opens the connection that
    subclass needs (see db/store.py): callers never choose between them."""

    def __init__(self, connection: Connection):
        self.connection = connection

    @abstractmethod
    def cast(self, *, song_id: str, voter: str, user_id: int | None, value: int) -> Rating | None:
        """Record the voter's vote, replacing any earlier one (idempotent); the new counts,
        or None when the station never played the song (nothing is written)."""

    def _cast(self, song_id: str, voter: str, user_id: int | None, value: int) -> bool:
        values = {"song_id": song_id, "voter": voter, "user_id": user_id, "value": value,
                  "now": datetime.now(timezone.utc)}
        return self.connection.execute(_CAST, values).rowcount > 0

    @abstractmethod
    def retract(self, *, song_id: str, voter: str) -> Rating:
        """Remove the voter's vote if there is one (idempotent); the new counts."""


class PostgresVotes(Votes):
    """One atomic statement each in autocommit, then the counts.

    The counts are read after the vote committed: they include it, and any vote another
    listener committed meanwhile, which is the song's rating as it now stands."""

    def cast(self, *, song_id, voter, user_id, value) -> Rating | None:
        if not self._cast(song_id, voter, user_id, value):
            return None
        up, down = self.connection.execute(_PG_COUNTS, {"song_id": song_id}).one()
        return Rating(song_id, up, down, value)

    def retract(self, *, song_id, voter) -> Rating:
        self.connection.execute(_DELETE_VOTE, {"song_id": song_id, "voter": voter})
        row = self.connection.execute(_PG_COUNTS, {"song_id": song_id}).first()
        return Rating(song_id, row[0], row[1], None) if row else Rating(song_id, 0, 0, None)


class SqliteVotes(Votes):
    """Several statements: runs inside one IMMEDIATE write transaction."""

    def cast(self, *, song_id, voter, user_id, value) -> Rating | None:
        if not self._cast(song_id, voter, user_id, value):
            return None
        return rating_of(self.connection, song_id, voter)

    def retract(self, *, song_id, voter) -> Rating:
        self.connection.execute(_DELETE_VOTE, {"song_id": song_id, "voter": voter})
        return rating_of(self.connection, song_id, voter)


@dataclass(frozen=True)
class ChartEntry:
    song_id: str
    artist: str
    title: str
    album: str
    up: int
    down: int


# The order and the filter are `ix_songs_chart`'s: the chart reads its first rows.
_CHART = (
    select(songs.c.id, songs.c.artist, songs.c.title, songs.c.album, songs.c.up, songs.c.down)
    .where(songs.c.up > literal_column("0"))  # literal: the partial index's own condition
    .order_by((songs.c.up - songs.c.down).desc(), songs.c.up.desc(), songs.c.id)
    # A literal: with a bound LIMIT, a generic plan (prepared after five runs) guesses
    # the limit and may sort every song instead of reading the index.
    .limit(bindparam("limit", type_=Integer, literal_execute=True))
)


def top_rated(connection: Connection, limit: int) -> list[ChartEntry]:
    """Songs with the most net thumbs up; ties go to the one with more up votes."""
    return [ChartEntry(*row) for row in connection.execute(_CHART, {"limit": limit})]


def merge_votes(connection: Connection, device: str, account: str, user_id: int) -> None:
    """Fold an anonymous device's votes into an account it signs in to: one person, one
    vote. Where both voted on a song, the account's vote stays and the device's row is
    deleted; every other device vote is handed to the account (voter and user_id
    rewritten, value kept). Nothing is left under the device's key. Run it inside the
    caller's write transaction.

    Effect on per-song counts: each song both voted on loses the device's vote (-1 up or
    -1 down); a handed-over vote changes no count."""
    mine = votes.alias("mine")
    both = exists().where(mine.c.song_id == votes.c.song_id, mine.c.voter == account)
    connection.execute(delete(votes).where(votes.c.voter == device, both))
    connection.execute(
        update(votes).where(votes.c.voter == device).values(voter=account, user_id=user_id)
    )
