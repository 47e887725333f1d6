"""/api/users: sign up, sign in and out, my profile, my liked songs, delete my account.

There is deliberately no endpoint that lists accounts or reads someone else's: every
read and change is of the signed-in caller's own account.

Signing up does not say whether an e-mail address is registered (OWASP's authentication
guidance; what services that confirm addresses by mail do, minus the mail: the station
sends none). For a new address the account is created and signed in; for a registered
one nothing is created and nobody is signed in. Both get the same 201 and the same body,
a neutral message, after the same work: the password is hashed either way, so the answer
takes as long. The page then asks GET /api/users/me whether it is signed in, and tells a
listener whose address already had an account to sign in with it. What remains is
inherent to any sign-up without a confirmation mail: a prober who signs up with an address
and then tries the session learns the answer, at the cost of creating the account when the
address was free, and at the sign-up rate limit per client address. Usernames are public
handles (shown beside votes one day, chosen to be recognised), so a taken username is
still said plainly (409 `username_taken`): a listener must be able to pick another.
Changing the e-mail address of an account to one that belongs to another account still
answers 409: it needs the current password, and is limited per account.

The two sign-up answers still differ by the new account's session cookie (and its known
device cookie, api/known_devices.py): a trade-off, pinned by tests/api/test_users.py (it
tells what the session would, at the same cost).
"""

from __future__ import annotations

from flask import Blueprint, request, session

from radiocalico.api import known_devices
from radiocalico.api import schemas as s
from radiocalico.api.identity import (
    CSRF,
    account_key,
    client_address_key,
    require_csrf,
    require_user,
    sign_in,
    sign_out,
)
from radiocalico.api.passwords import Busy, password_problem
from radiocalico.api.operation import Limit, json_object_or_none, operation
from radiocalico.db import users as queries
from radiocalico.errors import APIError, FieldError
from radiocalico.services import services

bp = Blueprint("users", __name__, url_prefix="/api/users")

_TAGS = ("users",)
_BAD_LOGIN = "Wrong username/e-mail or password."


def _login_key() -> str:
    """Rate-limit key for the account a sign-in names (its keyed digest); on a browser
    that account signed in on before, the account on that device, so that the guesses of
    others never lock the owner out there (api/known_devices.py)."""
    body = json_object_or_none() or {}
    login = body.get("login")
    account = account_key(login.strip().lower() if isinstance(login, str) else "")
    device = known_devices.device_for(account)
    return account if device is None else f"{account}:device:{device}"


def _remember_device(user: queries.User) -> None:
    known_devices.remember(account_key(user.username.lower()), account_key(user.email.lower()))


def _signed_in_key() -> str:
    return account_key(f"id:{session.get('uid')}")


# Signing up and in, per client address: password guessing and account spraying.
_AUTH_LIMITS = (Limit("ratelimit_auth", key=client_address_key),)
_SIGN_UP_LIMITS = (*_AUTH_LIMITS, Limit("ratelimit_signups", key=client_address_key))
# Every password check, per account and per address, so guessing is slow from anywhere;
# a sign-in on a browser the account used before counts per account and device.
_SIGN_IN_LIMITS = _AUTH_LIMITS + (
    Limit("ratelimit_password", key=_login_key, shared="password-login"),
    Limit("ratelimit_password", key=client_address_key, shared="password-address"),
)
_PASSWORD_LIMITS = (
    Limit("ratelimit_password", key=_signed_in_key, shared="password-account"),
    Limit("ratelimit_password", key=client_address_key, shared="password-address"),
)


def _check_password(password: str, username: str, email: str, field: str = "password") -> None:
    problem = password_problem(password, username=username, email=email)
    if problem:
        raise APIError(422, "Choose a stronger password.", code="weak_password",
                       fields=[FieldError(field, problem)])


def _busy() -> APIError:
    return APIError(503, "Too many password checks at once; try again in a moment.",
                    code="busy", headers={"Retry-After": "1"})


def _password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return services().passwords.matches(password_hash, password)
    except Busy:
        raise _busy() from None


def _hash(password: str) -> str:
    try:
        return services().passwords.hash(password)
    except Busy:
        raise _busy() from None


def _profile(user: queries.User) -> s.ProfileOut:
    return s.ProfileOut(
        id=user.id,
        username=user.username,
        email=user.email,
        display_name=user.display_name,
        created_at=user.created_at,
    )


def _taken() -> APIError:
    return APIError(409, "That e-mail address belongs to another account.", code="taken",
                    fields=[FieldError("email", "taken")])


def _username_taken() -> APIError:
    return APIError(409, "That username is taken; choose another.", code="username_taken",
                    fields=[FieldError("username", "taken")])


_SIGNED_UP = ("If this e-mail address was new, your account is ready and you are signed in. "
              "If it already has an account, sign in with it instead.")


@bp.post("")
@operation(
    summary="Sign up; a new account is signed in",
    tags=_TAGS,
    body=s.RegisterIn,
    responses={201: ("Sign-up done, or the e-mail address already had an account: the "
                     "answer is the same (see the message); a new account is signed in "
                     "(GET /api/users/me)", s.SignUpOut)},
    limits=_SIGN_UP_LIMITS,
)
def register(body: s.RegisterIn):
    _check_password(body.password, body.username, body.email)
    with services().store.reading() as connection:
        if queries.username_taken(connection, body.username):
            raise _username_taken()
    password_hash = _hash(body.password)  # before knowing whether it is kept: same timing
    with services().store.writing() as connection:
        try:
            user = queries.create_user(
                connection,
                username=body.username,
                email=body.email.lower(),
                display_name=body.display_name or body.username,
                password_hash=password_hash,
            )
        except queries.AccountTaken:
            user = None
            if queries.username_taken(connection, body.username):  # taken since the check
                raise _username_taken() from None
    if user is not None:
        sign_in(user)
        _remember_device(user)
    return s.SignUpOut(message=_SIGNED_UP), 201


@bp.post("/session")
@operation(
    summary="Sign in with username or e-mail and password",
    tags=_TAGS,
    body=s.SignInIn,
    responses={200: ("The account and its session", s.SessionOut)},
    limits=_SIGN_IN_LIMITS,
)
def create_session(body: s.SignInIn):
    with services().store.reading() as connection:
        user = queries.find_by_login(connection, body.login.lower())
    matches = _password_matches(user.password_hash if user else None, body.password)
    if user is None or not matches:
        raise APIError(401, _BAD_LOGIN, code="bad_credentials")
    csrf = sign_in(user)
    _remember_device(user)
    return s.SessionOut(user=_profile(user), csrf_token=csrf)


@bp.delete("/session")
@operation(
    summary="Sign out",
    tags=_TAGS,
    headers=(CSRF,),
    responses={204: ("Signed out", None)},
)
def delete_session():
    require_csrf()
    sign_out()
    return None


@bp.get("/me")
@operation(
    summary="My account (and a CSRF token for this session)",
    signed_in=True,
    tags=_TAGS,
    responses={200: ("The signed-in account", s.SessionOut)},
)
def me():
    user = require_user()
    return s.SessionOut(user=_profile(user), csrf_token=session["csrf"])


@bp.patch("/me")
@operation(
    summary="Change my display name, e-mail address or password",
    signed_in=True,
    tags=_TAGS,
    body=s.ProfileUpdateIn,
    headers=(CSRF,),
    responses={200: ("The updated account", s.SessionOut)},
    limits=_PASSWORD_LIMITS,
)
def update_me(body: s.ProfileUpdateIn):
    require_csrf()
    user = require_user()
    changes: dict[str, str] = {}
    if body.display_name is not None:
        changes["display_name"] = body.display_name or user.username
    if body.email is not None or body.new_password is not None:
        if not _password_matches(user.password_hash, body.current_password or ""):
            raise APIError(
                403,
                "Confirm the change with your current password.",
                code="password_required",
                fields=[FieldError("current_password", "wrong or missing")],
            )
    if body.email is not None:
        changes["email"] = body.email.lower()
    if body.new_password is not None:
        _check_password(body.new_password, user.username, body.email or user.email,
                        field="new_password")
        changes["password_hash"] = _hash(body.new_password)
    with services().store.writing() as connection:
        try:
            queries.update_user(connection, user.id, **changes)
        except queries.AccountTaken:
            raise _taken() from None
        if "password_hash" in changes:  # a new password ends every other session
            queries.end_all_sessions(connection, user.id)
        updated = queries.get_user(connection, user.id)
    csrf = sign_in(updated) if "password_hash" in changes else session["csrf"]
    return s.SessionOut(user=_profile(updated), csrf_token=csrf)


@bp.delete("/me")
@operation(
    summary="Delete my account and every vote it cast",
    signed_in=True,
    tags=_TAGS,
    body=s.DeleteAccountIn,
    headers=(CSRF,),
    responses={204: ("Deleted", None)},
    limits=_PASSWORD_LIMITS,
)
def delete_me(body: s.DeleteAccountIn):
    require_csrf()
    user = require_user()
    if not _password_matches(user.password_hash, body.password):
        raise APIError(
            403,
            "Confirm with your password.",
            code="password_required",
            fields=[FieldError("password", "wrong")],
        )
    with services().store.writing() as connection:
        queries.delete_user(connection, user.id)
    session.clear()
    return None


@bp.get("/me/likes")
@operation(
    summary="Songs I gave a thumbs up, newest first",
    signed_in=True,
    tags=_TAGS,
    responses={200: ("My liked songs", s.LikedSongsOut)},
)
def my_likes():
    user = require_user()
    with services().store.reading() as connection:
        liked = queries.liked_songs(connection, user.id)
    return s.LikedSongsOut(songs=[s.LikedSongOut(**vars(song)) for song in liked])
