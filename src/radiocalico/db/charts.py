"""Charts and likes, read from `votes` and `plays`.

- Top rated over a period: the votes cast or changed in that period, net thumbs up first,
  ties to more up votes, then the song id (stable). All time is `ratings.top_rated`.
- Most played over a period: plays in the period, ties to the most recently played.
- Likes: one voter's thumbs up, newest first, paged by keyset (liked_at, song_id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Connection, and_, case, func, or_, select

from radiocalico.db.plays import as_utc
from radiocalico.db.schema import plays, songs, votes


@dataclass(frozen=True)
class SongCount:
    song_id: str
    artist: str
    title: str
    album: str
    up: int
    down: int
    plays: int
    last_played: datetime | None


def top_rated_since(connection: Connection, since: datetime, limit: int) -> list[SongCount]:
    up = func.sum(case((votes.c.value == 1, 1), else_=0))
    down = func.sum(case((votes.c.value == -1, 1), else_=0))
    tally = (
        select(votes.c.song_id, up.label("up"), down.label("down"))
        .where(votes.c.updated_at >= since.astimezone(timezone.utc))
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
    return [SongCount(*row[:4], int(row[4]), int(row[5]), 0, None) for row in connection.execute(query)]


def most_played(connection: Connection, since: datetime | None, limit: int) -> list[SongCount]:
    """Songs by plays (since `since`, or ever); counts up/down are left 0 for the caller."""
    count = func.count(plays.c.id).label("plays")
    last = func.max(plays.c.started_at).label("last")
    tally = select(plays.c.song_id, count, last).group_by(plays.c.song_id)
    if since is not None:
        tally = tally.where(plays.c.started_at >= since.astimezone(timezone.utc))
    tally = tally.subquery()
    query = (
        select(songs.c.id, songs.c.artist, songs.c.title, songs.c.album, tally.c.plays, tally.c.last)
        .join(tally, tally.c.song_id == songs.c.id)
        .order_by(tally.c.plays.desc(), tally.c.last.desc(), songs.c.id)
        .limit(limit)
    )
    return [SongCount(*row[:4], 0, 0, int(row[4]), as_utc(row[5])) for row in connection.execute(query)]


def plays_of(connection: Connection, song_ids: list[str]) -> dict[str, tuple[int, datetime]]:
    """All-time plays and the last play of each song that was ever played."""
    if not song_ids:
        return {}
    query = (
        select(plays.c.song_id, func.count(plays.c.id), func.max(plays.c.started_at))
        .where(plays.c.song_id.in_(song_ids))
        .group_by(plays.c.song_id)
    )
    return {row[0]: (int(row[1]), as_utc(row[2])) for row in connection.execute(query)}


@dataclass(frozen=True)
class Like:
    song_id: str
    artist: str
    title: str
    album: str
    liked_at: datetime


def likes(
    connection: Connection, voter: str, limit: int, before: tuple[datetime, str] | None = None
) -> list[Like]:
    """The voter's thumbs up, newest first, strictly after the keyset `before`."""
    query = (
        select(songs.c.id, songs.c.artist, songs.c.title, songs.c.album, votes.c.updated_at)
        .join(votes, votes.c.song_id == songs.c.id)
        .where(votes.c.voter == voter, votes.c.value == 1)
    )
    if before is not None:
        at, song_id = before[0].astimezone(timezone.utc), before[1]
        query = query.where(or_(votes.c.updated_at < at,
                                and_(votes.c.updated_at == at, votes.c.song_id > song_id)))
    query = query.order_by(votes.c.updated_at.desc(), votes.c.song_id).limit(limit)
    return [Like(*row[:4], as_utc(row[4])) for row in connection.execute(query)]
