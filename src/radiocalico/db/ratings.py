"""Queries on votes: counts, the caller's own vote, casting, retracting and the chart.

Counts are always aggregated from `votes`, never cached, so a read is never stale and
never counts a listener twice.

On PostgreSQL, casting and retracting a vote are each ONE statement (data-modifying
CTEs): atomic by itself, so it runs in autocommit with a single round trip instead of
BEGIN, upserts, count and COMMIT. The counts it returns are the other listeners' votes in
the statement's snapshot plus the caller's own new vote. On SQLite the same happens as
several statements inside one IMMEDIATE transaction. Which of the two runs is chosen once,
by the store (db/store.py), as the `Votes` subclass it hands out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Connection, bindparam, case, delete, exists, func, select, text, update
from sqlalchemy.dialects import sqlite

from radiocalico.db.schema import songs, votes

_up = func.coalesce(func.sum(case((votes.c.value == 1, 1), else_=0)), 0)
_down = func.coalesce(func.sum(case((votes.c.value == -1, 1), else_=0)), 0)


@dataclass(frozen=True)
class Rating:
    song_id: str
    up: int
    down: int
    my_vote: int | None  # 1, -1 or None


# SQLite's vote: a song insert and a vote upsert (PostgreSQL's is _PG_CAST, one statement).
_SQLITE_INSERT_SONG = sqlite.insert(songs).on_conflict_do_nothing(index_elements=[songs.c.id])
_sqlite_vote = sqlite.insert(votes)
_SQLITE_UPSERT_VOTE = _sqlite_vote.on_conflict_do_update(
    index_elements=[votes.c.song_id, votes.c.voter],
    set_={"value": _sqlite_vote.excluded.value, "updated_at": _sqlite_vote.excluded.updated_at},
)


# Built once: this is the hottest query, and building the expression costs more than
# running it.
_RATINGS = (
    select(
        votes.c.song_id,
        _up,
        _down,
        func.max(case((votes.c.voter == bindparam("voter"), votes.c.value), else_=None)),
    )
    .where(votes.c.song_id.in_(bindparam("song_ids", expanding=True)))
    .group_by(votes.c.song_id)
)


def ratings_for(connection: Connection, song_ids: list[str], voter: str | None) -> list[Rating]:
    """Counts and the voter's own vote for each id, in the order asked (unknown ids: 0/0)."""
    rows = connection.execute(_RATINGS, {"voter": voter, "song_ids": song_ids})
    found = {row[0]: row for row in rows}
    return [
        Rating(sid, int(found[sid][1]), int(found[sid][2]), found[sid][3])
        if sid in found
        else Rating(sid, 0, 0, None)
        for sid in song_ids
    ]


_OTHERS = """
    others AS (
        SELECT coalesce(sum(CASE WHEN value = 1 THEN 1 ELSE 0 END), 0) AS up,
               coalesce(sum(CASE WHEN value = -1 THEN 1 ELSE 0 END), 0) AS down
        FROM votes WHERE song_id = :song_id AND voter <> :voter
    )"""

_PG_CAST = text(f"""
    WITH new_song AS (
        INSERT INTO songs (id, artist, title, album, first_seen)
        VALUES (:song_id, :artist, :title, :album, :now)
        ON CONFLICT (id) DO NOTHING
    ),
    new_vote AS (
        INSERT INTO votes (song_id, voter, user_id, value, created_at, updated_at)
        VALUES (:song_id, :voter, :user_id, :value, :now, :now)
        ON CONFLICT (song_id, voter)
        DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
        RETURNING value
    ),{_OTHERS}
    SELECT others.up + (new_vote.value = 1)::int, others.down + (new_vote.value = -1)::int,
           new_vote.value
    FROM others, new_vote
""")

_PG_RETRACT = text(f"""
    WITH gone AS (
        DELETE FROM votes WHERE song_id = :song_id AND voter = :voter RETURNING 1
    ),{_OTHERS}
    SELECT others.up, others.down FROM others
""")  # PostgreSQL runs a data-modifying CTE to completion even when nothing reads it.


class Votes(ABC):
    """Casting and retracting votes on one connection, the way one database does it best.

    `Store.voting()` picks the subclass for its database and opens the connection that
    subclass needs (see db/store.py): callers never choose between them."""

    def __init__(self, connection: Connection):
        self.connection = connection

    @abstractmethod
    def cast(
        self,
        *,
        song_id: str,
        artist: str,
        title: str,
        album: str,
        voter: str,
        user_id: int | None,
        value: int,
    ) -> Rating:
        """Record the voter's vote, replacing any earlier one (idempotent); the new counts."""

    @abstractmethod
    def retract(self, *, song_id: str, voter: str) -> Rating:
        """Remove the voter's vote if there is one (idempotent); the new counts."""


class PostgresVotes(Votes):
    """One atomic statement each (data-modifying CTEs): runs in autocommit."""

    def cast(self, *, song_id, artist, title, album, voter, user_id, value) -> Rating:
        now = datetime.now(timezone.utc)
        row = self.connection.execute(
            _PG_CAST,
            {"song_id": song_id, "artist": artist, "title": title, "album": album,
             "voter": voter, "user_id": user_id, "value": value, "now": now},
        ).one()
        return Rating(song_id, int(row[0]), int(row[1]), row[2])

    def retract(self, *, song_id, voter) -> Rating:
        row = self.connection.execute(_PG_RETRACT, {"song_id": song_id, "voter": voter}).one()
        return Rating(song_id, int(row[0]), int(row[1]), None)


class SqliteVotes(Votes):
    """Several statements: runs inside one IMMEDIATE write transaction."""

    def cast(self, *, song_id, artist, title, album, voter, user_id, value) -> Rating:
        now = datetime.now(timezone.utc)
        self.connection.execute(
            _SQLITE_INSERT_SONG,
            {"id": song_id, "artist": artist, "title": title, "album": album, "first_seen": now},
        )
        self.connection.execute(
            _SQLITE_UPSERT_VOTE,
            {"song_id": song_id, "voter": voter, "user_id": user_id, "value": value,
             "created_at": now, "updated_at": now},
        )
        return ratings_for(self.connection, [song_id], voter)[0]

    def retract(self, *, song_id, voter) -> Rating:
        self.connection.execute(
            delete(votes).where(votes.c.song_id == song_id, votes.c.voter == voter)
        )
        return ratings_for(self.connection, [song_id], voter)[0]


@dataclass(frozen=True)
class ChartEntry:
    song_id: str
    artist: str
    title: str
    album: str
    up: int
    down: int


def top_rated(connection: Connection, limit: int) -> list[ChartEntry]:
    """Songs with the most net thumbs up; ties go to the one with more up votes."""
    tally = (
        select(votes.c.song_id, _up.label("up"), _down.label("down"))
        .group_by(votes.c.song_id)
        .subquery()
    )
    query = (
        select(songs.c.id, songs.c.artist, songs.c.title, songs.c.album, tally.c.up, tally.c.down)
        .join(tally, tally.c.song_id == songs.c.id)
        .where(tally.c.up > 0)
        .order_by((tally.c.up - tally.c.down).desc(), tally.c.up.desc(), songs.c.id)
        .limit(limit)
    )
    return [ChartEntry(*row) for row in connection.execute(query)]


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
