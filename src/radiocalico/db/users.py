"""Queries on accounts. Nothing here lists users: every read is by the caller's own id."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from radiocalico.db.schema import account_tokens, sessions, songs, users, votes


class AccountTaken(Exception):
    """The username or e-mail belongs to another account."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    email: str
    display_name: str
    password_hash: str
    created_at: datetime
    role: str = "listener"  # or "operator": the console API


_columns = (
    users.c.id,
    users.c.username,
    users.c.email,
    users.c.display_name,
    users.c.password_hash,
    users.c.created_at,
    users.c.role,
)


def create_user(
    connection: Connection, *, username: str, email: str, display_name: str, password_hash: str
) -> User:
    now = datetime.now(timezone.utc)
    try:
        with connection.begin_nested():
            new_id = connection.execute(
                insert(users)
                .values(
                    username=username,
                    email=email,
                    display_name=display_name,
                    password_hash=password_hash,
                    created_at=now,
                    updated_at=now,
                )
                .returning(users.c.id)
            ).scalar_one()
    except IntegrityError as exc:
        raise AccountTaken from exc
    return User(new_id, username, email, display_name, password_hash, now)


def get_user(connection: Connection, user_id: int) -> User | None:
    row = connection.execute(select(*_columns).where(users.c.id == user_id)).first()
    return User(*row) if row else None


def username_taken(connection: Connection, username: str) -> bool:
    """Whether an account has this username (already lower case)."""
    return connection.execute(select(users.c.id).where(users.c.username == username)).first() is not None


def find_by_login(connection: Connection, login: str) -> User | None:
    """The account whose username or e-mail is `login` (already lower case)."""
    query = select(*_columns).where(or_(users.c.username == login, users.c.email == login))
    row = connection.execute(query).first()
    return User(*row) if row else None


def _session_key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(connection: Connection, user_id: int, lifetime: timedelta) -> str:
    """A new session of `user_id`; returns its id (for the cookie; only a hash is stored).
    The account's sessions older than `lifetime` are dropped on the way."""
    now = datetime.now(timezone.utc)
    connection.execute(
        delete(sessions).where(sessions.c.user_id == user_id,
                               sessions.c.created_at < now - lifetime)
    )
    session_id = secrets.token_urlsafe(32)
    connection.execute(
        insert(sessions).values(id=_session_key(session_id), user_id=user_id, created_at=now)
    )
    return session_id


def session_user(connection: Connection, user_id: int, session_id: str) -> User | None:
    """The account of a live session: `session_id` must be a session of `user_id`."""
    query = (
        select(*_columns)
        .join(sessions, sessions.c.user_id == users.c.id)
        .where(users.c.id == user_id, sessions.c.id == _session_key(session_id))
    )
    row = connection.execute(query).first()
    return User(*row) if row else None


def end_session(connection: Connection, session_id: str) -> None:
    connection.execute(delete(sessions).where(sessions.c.id == _session_key(session_id)))


def end_all_sessions(connection: Connection, user_id: int) -> None:
    connection.execute(delete(sessions).where(sessions.c.user_id == user_id))


def update_user(connection: Connection, user_id: int, **changes: str) -> None:
    if not changes:
        return
    statement = (
        update(users)
        .where(users.c.id == user_id)
        .values(**changes, updated_at=datetime.now(timezone.utc))
    )
    try:
        with connection.begin_nested():
            connection.execute(statement)
    except IntegrityError as exc:
        raise AccountTaken from exc


def delete_user(connection: Connection, user_id: int) -> None:
    """Remove the account, its sessions and every vote it cast."""
    connection.execute(delete(sessions).where(sessions.c.user_id == user_id))
    connection.execute(delete(votes).where(votes.c.user_id == user_id))
    connection.execute(delete(users).where(users.c.id == user_id))


@dataclass(frozen=True)
class LikedSong:
    song_id: str
    artist: str
    title: str
    album: str
    liked_at: datetime


def liked_songs(connection: Connection, user_id: int, limit: int = 200) -> list[LikedSong]:
    query = (
        select(songs.c.id, songs.c.artist, songs.c.title, songs.c.album, votes.c.updated_at)
        .join(votes, votes.c.song_id == songs.c.id)
        .where(votes.c.user_id == user_id, votes.c.value == 1)
        .order_by(votes.c.updated_at.desc(), songs.c.id)
        .limit(limit)
    )
    return [LikedSong(*row) for row in connection.execute(query)]


def token_backs_account(connection: Connection, token: str, user_id: int) -> bool:
    """Whether listener token `token` (its keyed digest) backs account `user_id`: the first
    account to vote with a token keeps it; any other account is refused it."""
    owner = connection.execute(
        select(account_tokens.c.user_id).where(account_tokens.c.token == token)
    ).scalar_one_or_none()
    if owner is None:
        try:
            with connection.begin_nested():
                connection.execute(insert(account_tokens).values(
                    token=token, user_id=user_id, created_at=datetime.now(timezone.utc)))
            return True
        except IntegrityError:  # another request bound it first
            owner = connection.execute(
                select(account_tokens.c.user_id).where(account_tokens.c.token == token)
            ).scalar_one()
    return owner == user_id


ROLES = ("listener", "operator")


def set_role(connection: Connection, email: str, role: str) -> bool:
    """Give the account with `email` the role; False when there is no such account."""
    result = connection.execute(
        update(users).where(users.c.email == email.strip().lower()).values(role=role)
    )
    return bool(result.rowcount)
