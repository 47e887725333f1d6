"""/api/ratings: counts, the caller's own vote, casting/changing/retracting it, the chart."""

from __future__ import annotations

from flask import Blueprint

from radiocalico.api import schemas as s
from radiocalico.api.identity import (
    CSRF,
    FINGERPRINT,
    client_address_key,
    current_voter,
    require_countable_listener,
    require_csrf,
    voter_key,
)
from radiocalico.api.metrics import vote_counted
from radiocalico.api.operation import Limit, operation
from radiocalico.api.public import cacheable
from radiocalico.db import ratings as queries
from radiocalico.errors import APIError, FieldError
from radiocalico.services import services
from radiocalico.songs import song_id as derive_song_id

bp = Blueprint("ratings", __name__, url_prefix="/api/ratings")

_TAGS = ("ratings",)
_VOTE_VALUES = {"up": 1, "down": -1}
_VOTE_NAMES = {1: "up", -1: "down", None: None}
# Casting and retracting: per listener, and per client address (many listeners behind one
# address, or one client inventing fingerprints).
_VOTE_LIMITS = (
    Limit("ratelimit_votes", key=voter_key),
    Limit("ratelimit_votes_per_ip", key=client_address_key),
)


def _out(rating: queries.Rating) -> s.RatingOut:
    return s.RatingOut(
        song_id=rating.song_id, up=rating.up, down=rating.down, my_vote=_VOTE_NAMES[rating.my_vote]
    )


def _ratings(song_ids: list[str]) -> list[s.RatingOut]:
    voter = current_voter(required=False)
    with services().store.reading() as connection:
        found = queries.ratings_for(connection, song_ids, voter.key if voter else None)
    return [_out(r) for r in found]


@bp.get("")
@operation(
    summary="Counts and your own vote for up to 20 songs at once",
    tags=_TAGS,
    query=s.RatingsQuery,
    headers=(FINGERPRINT,),
    responses={200: ("Ratings in the order asked", s.RatingsOut)},
)
def batch(query: s.RatingsQuery):
    return s.RatingsOut(ratings=_ratings(query.song_ids))


# Every page asks the counts of the songs on show when the track changes, all at once:
# shared caches (nginx, a CDN) answer them for this long, and a little longer while one
# request fetches the next answer (deploy/nginx: proxy_cache_use_stale updating).
COUNTS_MAX_AGE = 1
COUNTS_STALE_SECONDS = 5
MY_VOTES_MAX = 5000


@bp.get("/counts")
@operation(
    summary="Up/down counts for up to 20 songs: the same for everyone, so cacheable",
    tags=_TAGS,
    query=s.RatingsQuery,
    responses={200: ("Counts in the order asked", s.CountsOut)},
)
def counts(query: s.RatingsQuery):
    with services().store.reading() as connection:
        found = queries.ratings_for(connection, query.song_ids, None)
    body = s.CountsOut(counts=[s.CountOut(song_id=r.song_id, up=r.up, down=r.down) for r in found])
    return cacheable(body, max_age=COUNTS_MAX_AGE, stale_while_revalidate=COUNTS_STALE_SECONDS)


@bp.get("/mine")
@operation(
    summary="Your own votes, newest first (the page asks once, not at every track change)",
    tags=_TAGS,
    headers=(FINGERPRINT,),
    responses={200: ("Your votes", s.MyVotesOut)},
)
def mine():
    voter = current_voter(required=False)
    if voter is None:
        return s.MyVotesOut(votes=[])
    with services().store.reading() as connection:
        found = queries.votes_of(connection, voter.key, MY_VOTES_MAX)
    return s.MyVotesOut(votes=[s.MyVoteOut(song_id=sid, value=_VOTE_NAMES[value]) for sid, value in found])


@bp.get("/top")
@operation(
    summary="The top-rated songs",
    tags=_TAGS,
    query=s.ChartQuery,
    responses={200: ("Songs by net thumbs up", s.ChartOut)},
)
def top(query: s.ChartQuery):
    with services().store.reading() as connection:
        chart = queries.top_rated(connection, query.limit)
    return s.ChartOut(songs=[s.ChartEntryOut(**vars(entry)) for entry in chart])


@bp.get("/<songid:song_id>")
@operation(
    summary="Counts and your own vote for one song",
    tags=_TAGS,
    headers=(FINGERPRINT,),
    responses={200: ("The song's rating", s.RatingOut)},
)
def one(song_id: str):
    return _ratings([song_id])[0]


@bp.put("/<songid:song_id>/vote")
@operation(
    summary="Cast or change your vote (idempotent)",
    tags=_TAGS,
    body=s.VoteIn,
    headers=(FINGERPRINT, CSRF),
    responses={
        200: ("The song's rating after the vote", s.RatingOut),
        404: ("The station has not played this song: only its songs can be voted on", None),
    },
    limits=_VOTE_LIMITS,
)
def put_vote(song_id: str, body: s.VoteIn):
    require_csrf()
    voter = current_voter(required=True)
    require_countable_listener()
    if derive_song_id(body.artist, body.title) != song_id:
        raise APIError(
            422,
            "The song id does not match the artist and title.",
            fields=[FieldError("title", "artist and title give another song id")],
        )
    rating = _cast(song_id, voter, _VOTE_VALUES[body.value])
    if rating is None:
        # The track may have started since the recorder last looked: look once more.
        services().recorder.poll()
        rating = _cast(song_id, voter, _VOTE_VALUES[body.value])
    if rating is None:
        raise APIError(404, "The station has not played this song.", code="song_not_played")
    vote_counted(body.value)
    return _out(rating)


def _cast(song_id: str, voter, value: int) -> queries.Rating | None:
    with services().store.voting() as votes:
        return votes.cast(song_id=song_id, voter=voter.key, user_id=voter.user_id, value=value)


@bp.delete("/<songid:song_id>/vote")
@operation(
    summary="Retract your vote (idempotent)",
    tags=_TAGS,
    headers=(FINGERPRINT, CSRF),
    responses={200: ("The song's rating after the retraction", s.RatingOut)},
    limits=_VOTE_LIMITS,
)
def delete_vote(song_id: str):
    require_csrf()
    voter = current_voter(required=True)
    require_countable_listener()
    with services().store.voting() as votes:
        rating = votes.retract(song_id=song_id, voter=voter.key)
    vote_counted("retract")
    return _out(rating)
