"""Who is calling: the signed-in account, the anonymous listener, and the client address.

- A signed-in listener is identified by the signed session cookie, which names a session
  row on the server (db/users.py): signing out deletes the row, so a kept copy of the
  cookie stops working at once. The cookie also carries a token derived from the
  account's password hash, and changing the password ends every other session.
- Signing in (or up) on a device folds that device's anonymous votes into the account
  (`merge_votes`): one person, one vote.
- An anonymous listener is its listener token (api/listener_token.py, a signed cookie
  issued a limited number of times per address); only an HMAC of the token id is stored.
  The page also sends its fingerprint in `X-Listener-Fingerprint` (hex), as before: it is
  still validated, and a vote without a token is refused (`require_countable_listener`).
- The client address is only used as a rate-limit key, and then only as an HMAC. It is the
  socket's peer unless `TRUSTED_PROXY_HOPS` says a proxy of ours sets X-Forwarded-For
  AND the connection comes from one of `TRUSTED_PROXIES` (werkzeug's ProxyFix, applied
  by the app factory to those connections only).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app, g, request, session

from radiocalico.api.header import Header
from radiocalico.api.listener_token import COOKIE as TOKEN_COOKIE
from radiocalico.api.listener_token import ListenerToken, read_token
from radiocalico.db import users as user_queries
from radiocalico.db.ratings import merge_votes
from radiocalico.errors import APIError, FieldError
from radiocalico.listeners import address_group
from radiocalico.services import services

FINGERPRINT_HEADER = "X-Listener-Fingerprint"
FINGERPRINT_PATTERN = r"^[0-9a-f]{32,128}$"
CSRF_HEADER = "X-CSRF-Token"
_FINGERPRINT = re.compile(FINGERPRINT_PATTERN)

FINGERPRINT = Header(
    FINGERPRINT_HEADER,
    "The anonymous listener's fingerprint (hex digest computed by the page). "
    "Ignored when signed in.",
    {"type": "string", "pattern": FINGERPRINT_PATTERN},
)
CSRF = Header(
    CSRF_HEADER,
    "The csrf_token from sign-in; required on state changes of a signed-in session.",
    {"type": "string"},
)


def _keyed_digest(purpose: str, value: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def session_token(user: user_queries.User) -> str:
    return _keyed_digest("session", user.password_hash)[:32]


def sign_in(user: user_queries.User) -> str:
    """Start a fresh session for `user`, folding this device's anonymous votes into the
    account in the same transaction; returns the session's CSRF token."""
    device = None if session.get("uid") else _anonymous_voter()
    lifetime = current_app.permanent_session_lifetime
    with services().store.writing() as connection:
        if device is not None:
            merge_votes(connection, device.key, f"u:{user.id}", user.id)
        session_id = user_queries.start_session(connection, user.id, lifetime)
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["sid"] = session_id
    session["auth"] = session_token(user)
    session["csrf"] = secrets.token_urlsafe(32)
    g.user = user
    g.pop("voter", None)
    return session["csrf"]


def sign_out(everywhere: bool = False) -> None:
    """End this session on the server (every session of the account with `everywhere`)
    and forget the cookie."""
    uid, sid = session.get("uid"), session.get("sid")
    if isinstance(uid, int) and isinstance(sid, str):
        with services().store.writing() as connection:
            if everywhere:
                user_queries.end_all_sessions(connection, uid)
            else:
                user_queries.end_session(connection, sid)
    session.clear()
    g.user = None
    g.pop("voter", None)


def current_user() -> user_queries.User | None:
    if "user" not in g:
        g.user = _load_session_user()
    return g.user


def _load_session_user() -> user_queries.User | None:
    uid, sid = session.get("uid"), session.get("sid")
    if not isinstance(uid, int) or not isinstance(sid, str):
        if session:  # clearing an empty session would still send a cookie deletion
            session.clear()
        return None
    with services().store.reading() as connection:
        user = user_queries.session_user(connection, uid, sid)
    if user is None or not hmac.compare_digest(session.get("auth", ""), session_token(user)):
        session.clear()
        return None
    return user


def require_user() -> user_queries.User:
    user = current_user()
    if user is None:
        raise APIError(401, "Sign in first.")
    return user


def require_csrf() -> None:
    """State changes by a signed-in session must echo the session's CSRF token."""
    if session.get("uid") is None:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent, session.get("csrf", "")):
        raise APIError(403, "Missing or wrong CSRF token.", code="csrf_failed")


@dataclass(frozen=True)
class Voter:
    key: str
    user_id: int | None


def current_voter(required: bool) -> Voter | None:
    """The caller as a voter (computed once per request: limits, view and metrics ask)."""
    if "voter" not in g:
        g.voter = _identify_voter()
    if g.voter is None and required:
        raise APIError(
            400,
            f"Sign in or send {FINGERPRINT_HEADER} to vote.",
            code="listener_required",
            fields=[FieldError(FINGERPRINT_HEADER, "required")],
        )
    return g.voter


def _identify_voter() -> Voter | None:
    user = current_user()
    if user is not None:
        return Voter(f"u:{user.id}", user.id)
    return _anonymous_voter()


def _anonymous_voter() -> Voter | None:
    """This device as an anonymous voter, whether or not it is signed in: its listener
    token, if it holds one; else (for reads only, see `require_countable_listener`) its
    fingerprint."""
    token = _listener_token()
    fingerprint_voter = _fingerprint_voter()
    if token is not None:
        return Voter("t:" + _token_key(token), None)
    return fingerprint_voter


def require_countable_listener() -> None:
    """A vote counts only from a listener who has listened a while: an account older than
    ACCOUNT_TRUST_SECONDS, or else a listener token old enough to count (403 without one,
    429 with Retry-After while it is younger than LISTENER_TOKEN_MIN_AGE). A young account's
    token must be its own: the first account to vote with a token keeps it (403 for any
    other), so one address counts no more identities an hour than it is issued tokens."""
    config = services().config
    user = current_user()
    if user is not None and _age_seconds(user) >= config.account_trust_seconds:
        return
    token = _listener_token()
    if token is None:
        raise APIError(
            403,
            "Load the player page (or GET /api/listener) before voting"
            + ("." if user is not None else ", or sign in."),
            code="listener_token_required",
        )
    wait = config.listener_token_min_age - token.age()
    if wait > 0:
        raise APIError(
            429,
            "Listen a little longer before voting.",
            code="listening_too_briefly",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    if user is not None:
        with services().store.writing() as connection:
            mine = user_queries.token_backs_account(connection, _token_key(token), user.id)
        if not mine:
            raise APIError(
                403,
                "This device's listener token already votes for another new account.",
                code="listener_token_taken",
            )


def _age_seconds(user: user_queries.User) -> float:
    created = user.created_at
    if created.tzinfo is None:  # SQLite hands back the stored UTC time without its zone
        created = created.replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - created).total_seconds()


def _token_key(token: ListenerToken) -> str:
    return _keyed_digest("listener-token", token.id)[:40]


def _listener_token() -> ListenerToken | None:
    """The request's listener token, verified once per request (the voter and the vote's
    countability both ask)."""
    if "listener_token" not in g:
        g.listener_token = read_token(
            current_app.config["SECRET_KEY"], request.cookies.get(TOKEN_COOKIE)
        )
    return g.listener_token


def _fingerprint_voter() -> Voter | None:
    fingerprint = request.headers.get(FINGERPRINT_HEADER)
    if fingerprint is None:
        return None
    if not _FINGERPRINT.fullmatch(fingerprint):
        raise APIError(
            422,
            "The listener fingerprint is not valid.",
            fields=[FieldError(FINGERPRINT_HEADER, "must be 32 to 128 lower-case hex digits")],
        )
    return Voter("f:" + _keyed_digest("listener", fingerprint)[:40], None)


def client_address_key() -> str:
    """Rate-limit key for the client address, an IPv6 address by its network
    (CLIENT_IPV6_PREFIX, listeners.address_group); never the raw address."""
    group = address_group(request.remote_addr or "unknown", services().config.client_ipv6_prefix)
    return "ip:" + _keyed_digest("address", group)[:24]


def account_key(account: str) -> str:
    """Rate-limit key for an account (by login or id); never the login itself."""
    return "acct:" + _keyed_digest("account", account)[:24]


def voter_key() -> str:
    """Rate-limit key for the listener casting a vote (falls back to the address)."""
    voter = current_voter(required=False)
    return voter.key if voter else client_address_key()
