"""The listener token: a signed cookie that makes an anonymous listener countable.

An anonymous vote used to be keyed on the fingerprint the page sends, which a script can
change with every request. A vote now also needs this cookie: a random id plus its issue
time, signed with the server secret (itsdangerous), issued with the player page or by
`GET /api/listener`, at most `RATELIMIT_LISTENER_TOKENS` per client address (api/listener.py).
It counts only once it is `LISTENER_TOKEN_MIN_AGE` seconds old: a listener has been
listening a while before voting, a script must wait for every token it collects.

This module only signs and reads tokens; it knows nothing of requests or limits.
"""

from __future__ import annotations

import functools
import secrets
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "radiocalico_listener"
# A listener keeps its token (and so its anonymous votes) for a year.
MAX_AGE_SECONDS = 365 * 24 * 3600
_SALT = "radiocalico-listener-token"


@dataclass(frozen=True)
class ListenerToken:
    id: str
    issued_at: float

    def age(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.issued_at


@functools.lru_cache(maxsize=4)
def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    # Built once per key: constructing one costs more than verifying a token (a vote
    # verifies one), and it holds no per-call state.
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def new_token(secret_key: str) -> tuple[ListenerToken, str]:
    """A fresh token and its cookie value."""
    token_id = secrets.token_hex(16)
    value = _serializer(secret_key).dumps(token_id)
    token = read_token(secret_key, value)
    assert token is not None
    return token, value


def read_token(secret_key: str, value: str | None) -> ListenerToken | None:
    """The token in a cookie value; None if absent, forged, expired or malformed."""
    if not value:
        return None
    try:
        token_id, issued = _serializer(secret_key).loads(
            value, max_age=MAX_AGE_SECONDS, return_timestamp=True
        )
    except BadSignature:
        return None
    if not isinstance(token_id, str):
        return None
    return ListenerToken(token_id, issued.timestamp())
