"""/api/likes: the songs this listener thumbed up, newest first.

The listener is the caller's voter key (the account when signed in, else this device's
fingerprint), exactly as votes are cast, so a like shows here the moment it is cast and
goes when the vote is retracted (DELETE /api/ratings/{song_id}/vote). Personal: never
cached by shared caches.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from radiocalico.api import public_schemas as s
from radiocalico.api.identity import FINGERPRINT, current_voter
from radiocalico.api.operation import operation
from radiocalico.api.public import counts, cover_url
from radiocalico.db import charts as queries
from radiocalico.db import plays as play_queries
from radiocalico.services import services

bp = Blueprint("likes", __name__, url_prefix="/api/likes")


@bp.get("")
@operation(
    summary="My liked songs (thumbs up), newest first",
    tags=("ratings",),
    query=s.LikesQuery,
    headers=(FINGERPRINT,),
    responses={200: ("My likes", s.LikesOut)},
)
def my_likes(query: s.LikesQuery):
    voter = current_voter(required=True)
    with services().store.reading() as connection:
        found = queries.likes(connection, voter.key, query.limit + 1, query.before)
        page = found[: query.limit]
        ids = [like.song_id for like in page]
        tally = counts(connection, ids) if page else {}
        covered = play_queries.with_cover(connection, ids)
        songs = [
            s.LikeOut(
                song_id=like.song_id, artist=like.artist, title=like.title, album=like.album,
                liked_at=like.liked_at, up=tally.get(like.song_id, (0, 0))[0],
                down=tally.get(like.song_id, (0, 0))[1],
                cover_url=cover_url(like.song_id, like.song_id in covered),
            )
            for like in page
        ]
    last = page[-1] if page else None
    more = len(found) > query.limit
    body = s.LikesOut(songs=songs,
                      next_cursor=s.encode_cursor(last.liked_at, last.song_id) if more else None)
    response = jsonify(body.model_dump(mode="json"))
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Vary"] = "Cookie, X-Listener-Fingerprint"
    return response
