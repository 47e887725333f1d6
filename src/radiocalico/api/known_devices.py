"""Known devices: a browser an account has signed in on keeps its own sign-in limit.

Sign-in guesses are limited per account (`RATELIMIT_PASSWORD`, api/users.py), so that
many addresses together guess no faster than one. Alone, that limit let anyone lock the
owner out: ten wrong sign-ins a minute from anywhere and the right password was refused
too. A successful sign-in (or sign-up) therefore leaves a long-lived signed cookie on the
browser (OWASP's "device cookies"): a random device id and the accounts signed in on it.
A sign-in naming one of those accounts from that browser counts against a limit of its
own, per account and device, which the guesses of others never fill.

The trade-off: while an account is being guessed at, its owner signs in on a browser it
has used before at once, but on a new browser (or one whose cookies were cleared) waits
for the per-account limit like everyone else. The guessing rate an attacker gets does not
change: a device cookie names only accounts already signed in on that browser, so it
gives a separate limit only to someone who knew the password.
tests/api/test_sign_in_lockout.py pins both sides.
"""

from __future__ import annotations

import secrets

from flask import Response, after_this_request, current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

from radiocalico.services import services

COOKIE = "radiocalico_device"
_PATH = "/api/users"  # sent only where a password is checked
_MAX_AGE = 400 * 86400  # the longest browsers keep a cookie
_MAX_ACCOUNTS = 8  # a family computer; the oldest is forgotten first


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="known-device")


def _read() -> tuple[str, list[str]] | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        value = _serializer().loads(raw)
        device, accounts = value["d"], value["a"]
    except (BadSignature, KeyError, TypeError):
        return None
    if not isinstance(device, str) or not isinstance(accounts, list):
        return None
    return device, [a for a in accounts if isinstance(a, str)]


def device_for(account: str) -> str | None:
    """This browser's device id when `account` (an `account_key`) has signed in on it."""
    known = _read()
    return known[0] if known is not None and account in known[1] else None


def remember(*accounts: str) -> None:
    """Mark this browser as one the accounts (`account_key`s: the account's username and
    e-mail address, either may be the login) signed in on; the cookie is set on the answer."""
    device, known = _read() or (secrets.token_urlsafe(16), [])
    known = [a for a in known if a not in accounts] + list(accounts)
    value = _serializer().dumps({"d": device, "a": known[-_MAX_ACCOUNTS * 2:]})
    secure = services().config.session_cookie_secure

    @after_this_request
    def _set(response: Response) -> Response:
        response.set_cookie(COOKIE, value, max_age=_MAX_AGE, path=_PATH, httponly=True,
                            samesite="Lax", secure=secure)
        return response
