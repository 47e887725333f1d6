"""/api/now-playing, /api/history and song covers: what played, for the player and anyone.

The plays are those the recorder stored (radiocalico.recorder); counts are all-time thumbs.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response
from pydantic import ValidationError

from radiocalico.api import public_schemas as s
from radiocalico.api.operation import operation
from radiocalico.api.public import cacheable, counts, cover_url, public
from radiocalico.db import plays as queries
from radiocalico.errors import APIError
from radiocalico.services import services

bp = Blueprint("history", __name__, url_prefix="/api")

_TAGS = ("public",)
PREVIOUS = 5


def plays_out(connection, found: list[queries.Play]) -> list[s.PlayOut]:
    tally = counts(connection, [p.song_id for p in found]) if found else {}
    return [
        s.PlayOut(
            id=p.id, song_id=p.song_id, started_at=p.started_at, artist=p.artist, title=p.title,
            album=p.album, year=p.year, bit_depth=p.bit_depth, sample_rate=p.sample_rate,
            cover_url=cover_url(p.song_id, p.has_cover),
            up=tally.get(p.song_id, (0, 0))[0], down=tally.get(p.song_id, (0, 0))[1],
            requested=p.requested,
        )
        for p in found
    ]


@bp.get("/now-playing")
@operation(
    summary="The current track (with its start) and the five before it",
    tags=_TAGS,
    responses={200: ("Now playing", s.NowPlayingOut)},
)
def now_playing():
    with services().store.reading() as connection:
        latest = plays_out(connection, queries.history(connection, limit=PREVIOUS + 1))
    listeners = services().stream_listeners.count()
    body = s.NowPlayingOut(current=latest[0] if latest else None, previous=latest[1:],
                           listeners=listeners, next=upcoming())
    return cacheable(body, max_age=5)


def upcoming() -> list[s.NextOut]:
    """The queue from the station's metadata as the recorder last read it (its `next`),
    covers under the stream's base URL; [] when the station publishes none."""
    config = services().config
    if not config.station_publish_next:
        return []
    entries = services().recorder.latest.get("next")
    base = config.resolved_stream_base_url
    out = []
    for entry in entries if isinstance(entries, list) else []:
        try:
            item = s.NextOut.model_validate(entry)
        except ValidationError:
            continue
        if item.cover_url:
            item.cover_url = f"{base}/{item.cover_url}"
        out.append(item)
    return out


@bp.get("/history")
@operation(
    summary="Plays, newest first: cursor paging, a time range, search by artist or title",
    tags=_TAGS,
    query=s.HistoryQuery,
    responses={200: ("A page of plays", s.HistoryOut)},
)
def history(query: s.HistoryQuery):
    store = services().store
    with store.reading() as connection:
        found = queries.history(
            connection, limit=query.limit + 1, since=query.since, until=query.until,
            search=query.q, matching_songs=store.matching_songs, before=query.before,
        )
        page = plays_out(connection, found[: query.limit])
    more = len(found) > query.limit
    last = page[-1] if page else None
    next_cursor = s.encode_cursor(last.started_at, last.id) if more and last else None
    return cacheable(s.HistoryOut(plays=page, next_cursor=next_cursor), max_age=10)


@bp.get("/songs/<songid:song_id>/cover.jpg")
@operation(
    summary="A song's small cover (128 px JPEG), kept when it was first played",
    tags=_TAGS,
    responses={200: ("image/jpeg", None)},
)
def song_cover(song_id: str):
    with services().store.reading() as connection:
        jpeg = queries.cover(connection, song_id)
    if jpeg is None:
        raise APIError(404, "No cover is kept for this song.")
    response = Response(bytes(jpeg), mimetype="image/jpeg")
    response.set_etag(hashlib.sha256(jpeg).hexdigest()[:32])
    response = public(response, max_age=86400)
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
