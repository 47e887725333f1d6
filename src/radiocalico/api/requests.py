"""/api/library and /api/requests: listeners search the station's library and request a track.

The library is the station's own index, mirrored into `library_tracks` on each index pass
(station/programming.py). A request is refused, with the reason, for a song played or
requested within REQUEST_MIN_MINUTES_SINCE_PLAY (409), and is limited per listener (the
voter identity of api/identity.py: the account, else the listener token or fingerprint)
and per client address. The station takes requests in fair order, each requester's first
before anyone's second (station/decider.py), when they pass the rotation rules; a request
that airs is marked `requested` in metadatav2.json and in the play history.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from flask import Blueprint

from radiocalico.api import programming_schemas as s
from radiocalico.api.identity import CSRF, FINGERPRINT, client_address_key, current_voter, require_csrf, voter_key
from radiocalico.api.operation import Limit, operation
from radiocalico.db import programming as queries
from radiocalico.errors import APIError
from radiocalico.services import services

bp = Blueprint("requests", __name__, url_prefix="/api")

_TAGS = ("requests",)
_REQUEST_LIMITS = (
    Limit("ratelimit_requests", key=voter_key),
    Limit("ratelimit_requests_per_ip", key=client_address_key),
)


def track_out(track: queries.LibraryTrack) -> s.LibraryTrackOut:
    return s.LibraryTrackOut(track_id=track.track_id, song_id=track.song_id, artist=track.artist,
                             title=track.title, album=track.album, duration=track.duration)


@bp.get("/library")
@operation(
    summary="Search the station's library (artist, title, album) for a track to request",
    tags=_TAGS,
    query=s.LibraryQuery,
    responses={200: ("Tracks, by artist and title", s.LibraryOut)},
)
def library(query: s.LibraryQuery):
    with services().store.reading() as connection:
        found = queries.search_library(connection, query.q, query.limit)
    return s.LibraryOut(tracks=[track_out(t) for t in found])


@bp.post("/requests")
@operation(
    summary="Request a track: it plays when its turn comes and the rotation rules allow",
    tags=_TAGS,
    body=s.RequestIn,
    headers=(FINGERPRINT, CSRF),
    limits=_REQUEST_LIMITS,
    responses={201: ("Requested", s.RequestOut),
               404: ("No such track in the library", None),
               409: ("Played or requested too recently (code played_recently / requested_recently)", None)},
)
def request_track(body: s.RequestIn):
    require_csrf()
    voter = current_voter(required=True)
    minutes = services().config.request_min_minutes_since_play
    now = datetime.now(timezone.utc)
    with services().store.writing() as connection:
        track = queries.library_track(connection, body.track_id)
        if track is None:
            raise APIError(404, "That track is not in the station's library (any more).", code="unknown_track")
        for code, what, last in (
            ("played_recently", "played", queries.last_played(connection, track.song_id)),
            ("requested_recently", "requested", queries.last_requested(connection, track.song_id)),
        ):
            if last is not None and now - last < timedelta(minutes=minutes):
                wait = math.ceil((last + timedelta(minutes=minutes) - now).total_seconds() / 60)
                raise APIError(409, f"“{track.title}” was {what} less than {minutes:g} minutes ago: "
                                    f"request it again in {wait} minute{'s' if wait != 1 else ''}.", code=code)
        request = queries.add_request(connection, track, voter.key)
        waiting = _ahead_of(queries.open_requests(connection), request)
    return s.RequestOut(request_id=request.id, track=track_out(track), waiting=waiting), 201


def _ahead_of(requests: list[queries.Request], mine: queries.Request) -> int:
    """How many waiting requests come before `mine` in the fair order."""
    rank: dict[str, int] = {}
    order = []
    for request in requests:
        n = rank.get(request.requester, 0)
        rank[request.requester] = n + 1
        if request.status == "waiting":
            order.append((n, request.id))
    order.sort()
    return next((i for i, (_, rid) in enumerate(order) if rid == mine.id), 0)
