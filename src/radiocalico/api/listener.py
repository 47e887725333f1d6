"""`GET /api/listener`: the anonymous listener's token (api/listener_token.py).

The player page sets the cookie when it is served (web/player.py calls
`ensure_listener_token`); this endpoint does the same for other clients and tells when
the token's votes start to count. Issuing is limited per client address
(`RATELIMIT_LISTENER_TOKENS`); a request that already holds a valid token is never
counted against it.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from radiocalico.api import schemas as s
from radiocalico.api.identity import client_address_key
from radiocalico.api.limits import take
from radiocalico.api.listener_token import COOKIE, MAX_AGE_SECONDS, new_token, read_token
from radiocalico.api.operation import operation
from radiocalico.errors import APIError
from radiocalico.services import services

bp = Blueprint("listener", __name__, url_prefix="/api/listener")


def ensure_listener_token(response: Response) -> float | None:
    """Give the caller a listener token unless it holds a valid one; the seconds until
    its votes count, or None when the address has had its share of tokens."""
    shared = services()
    secret = current_app.config["SECRET_KEY"]
    token = read_token(secret, request.cookies.get(COOKIE))
    if token is None:
        if not take(shared.limiter, shared.config.ratelimit_listener_tokens,
                    "listener-token", client_address_key()):
            return None
        token, value = new_token(secret)
        response.set_cookie(
            COOKIE, value, max_age=MAX_AGE_SECONDS, httponly=True, samesite="Lax",
            secure=shared.config.session_cookie_secure, path="/",
        )
    return max(0.0, shared.config.listener_token_min_age - token.age())


@bp.get("")
@operation(
    summary="Get a listener token (a cookie) for voting anonymously",
    tags=("ratings",),
    responses={200: ("The token is set; when its votes start to count", s.ListenerOut)},
)
def listener():
    response = Response(mimetype="application/json")
    wait = ensure_listener_token(response)
    if wait is None:
        raise APIError(429, "Too many new listeners from this address; try again later.",
                       code="rate_limited", headers={"Retry-After": "600"})
    response.set_data(s.ListenerOut(votes_count_in_seconds=round(wait, 1)).model_dump_json())
    response.headers["Cache-Control"] = "no-store"
    return response
