"""/api/charts: top rated and most played, this week (7 days), this month (30) and ever.

Public: no own vote here (the player asks /api/ratings for that), so charts are cacheable.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint

from radiocalico.api import public_schemas as s
from radiocalico.api.operation import operation
from radiocalico.api.public import cacheable, counts, cover_url
from radiocalico.db import charts as queries
from radiocalico.db import plays as play_queries
from radiocalico.db import ratings as rating_queries
from radiocalico.services import services

bp = Blueprint("charts", __name__, url_prefix="/api/charts")

_TAGS = ("public",)


def _since(period: str) -> datetime | None:
    span = s.PERIODS[period]
    return datetime.now(timezone.utc) - span if span else None


def _songs(connection, entries: list[queries.SongCount], rated: bool) -> list[s.ChartSongOut]:
    ids = [e.song_id for e in entries]
    played = queries.plays_of(connection, ids)
    tally = {} if rated else counts(connection, ids)
    covered = play_queries.with_cover(connection, ids)
    out = []
    for rank, e in enumerate(entries, start=1):
        up, down = (e.up, e.down) if rated else tally.get(e.song_id, (0, 0))
        plays, last = (played.get(e.song_id, (0, None)) if rated else (e.plays, e.last_played))
        out.append(s.ChartSongOut(
            rank=rank, song_id=e.song_id, artist=e.artist, title=e.title, album=e.album,
            up=up, down=down, net=up - down, plays=plays, last_played=last,
            cover_url=cover_url(e.song_id, e.song_id in covered),
        ))
    return out


@bp.get("/top-rated")
@operation(
    summary="Top rated: net thumbs up (ties: more up votes) this week, month or ever",
    tags=_TAGS,
    query=s.ChartQuery,
    responses={200: ("The chart", s.ChartOut)},
)
def top_rated(query: s.ChartQuery):
    since = _since(query.period)
    with services().store.reading() as connection:
        if since is None:
            entries = [
                queries.SongCount(e.song_id, e.artist, e.title, e.album, e.up, e.down, 0, None)
                for e in rating_queries.top_rated(connection, query.limit)
            ]
        else:
            entries = queries.top_rated_since(connection, since, query.limit)
        songs = _songs(connection, entries, rated=True)
    return cacheable(s.ChartOut(chart="top-rated", period=query.period, songs=songs), max_age=30)


@bp.get("/most-played")
@operation(
    summary="Most played this week, month or ever (ties: the most recently played)",
    tags=_TAGS,
    query=s.ChartQuery,
    responses={200: ("The chart", s.ChartOut)},
)
def most_played(query: s.ChartQuery):
    with services().store.reading() as connection:
        entries = queries.most_played(connection, _since(query.period), query.limit)
        songs = _songs(connection, entries, rated=False)
    return cacheable(s.ChartOut(chart="most-played", period=query.period, songs=songs), max_age=30)
