"""What every public read-only answer shares: caching, open CORS, cover URLs, counts.

Public answers carry no personal data (no voter, no own vote), so they may be cached by
browsers and shared caches for a few seconds (`Cache-Control: public, max-age=N`), are
revalidated with an `ETag` of their body (304 when unchanged), and may be read by any site
(`Access-Control-Allow-Origin: *`, never with credentials).
"""

from __future__ import annotations

from flask import Response, jsonify, request, url_for
from pydantic import BaseModel
from sqlalchemy import Connection

from radiocalico.db import ratings as rating_queries
from radiocalico.services import services


def cacheable(model: BaseModel, max_age: int, stale_while_revalidate: int = 0) -> Response:
    response = jsonify(model.model_dump(mode="json"))
    return public(response, max_age, stale_while_revalidate)


def public(response: Response, max_age: int, stale_while_revalidate: int = 0) -> Response:
    """`stale_while_revalidate`: seconds a cache may keep answering with the expired copy
    while it fetches a fresh one (RFC 5861), so a crowd asking at once waits for nobody."""
    stale = f", stale-while-revalidate={stale_while_revalidate}" if stale_while_revalidate else ""
    response.headers["Cache-Control"] = f"public, max-age={max_age}{stale}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    return response.make_conditional(request)


def cover_url(song_id: str, has_cover: bool) -> str | None:
    if not has_cover:
        return None
    # The configured origin, or a relative URL: never one built from the request's Host.
    return services().config.public_url + url_for("history.song_cover", song_id=song_id)


def counts(connection: Connection, song_ids: list[str]) -> dict[str, tuple[int, int]]:
    """(up, down) of each song, all time."""
    found = rating_queries.ratings_for(connection, list(dict.fromkeys(song_ids)), None)
    return {r.song_id: (r.up, r.down) for r in found}
