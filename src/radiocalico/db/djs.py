"""DJs who may go live: added, listed and removed with `radiocalico dj`, checked by the
station's live input (station/live.py) when DJ software connects.

Passwords are hashed with argon2-cffi's PasswordHasher at its defaults, the hasher users'
passwords have (api/passwords.py), so both follow the library's parameters when it moves.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from radiocalico.db.engine import make_engine
from radiocalico.db.schema import djs

# What DJ software can send as the user name of HTTP Basic auth (no colon) and a log can show.
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


class CheckBusy(Exception):
    """Another DJ login is being checked: refuse this one (503), do not queue it."""


class DjExists(Exception):
    """A DJ of that name is already registered."""


@dataclass(frozen=True)
class Dj:
    name: str
    created_at: datetime


def normalize_name(name: str) -> str:
    """The stored (lower-case) name; ValueError for one DJ software could not send."""
    folded = name.strip().lower()
    if not NAME_PATTERN.fullmatch(folded):
        raise ValueError("a DJ name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return folded


class DjStore:
    def __init__(self, url: str):
        self.engine = make_engine(url, pool_size=2)
        self._hasher = PasswordHasher()
        # Checked against when no DJ has the name: a wrong name costs what a wrong password does.
        self._dummy = self._hasher.hash("radiocalico-no-such-dj")
        # One Argon2 check (64 MiB, ~0.2 s) at a time: a flood of connections cannot
        # exhaust the station's memory; a check finding it busy is refused.
        self._checking = threading.Lock()

    def add(self, name: str, password: str) -> Dj:
        name = normalize_name(name)
        now = datetime.now(timezone.utc)
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(djs).values(name=name, password_hash=self._hasher.hash(password),
                                                      created_at=now))
        except IntegrityError:
            raise DjExists(name) from None
        return Dj(name, now)

    def set_password(self, name: str, password: str) -> bool:
        with self.engine.begin() as connection:
            result = connection.execute(update(djs).where(djs.c.name == normalize_name(name))
                                        .values(password_hash=self._hasher.hash(password)))
        return result.rowcount > 0

    def remove(self, name: str) -> bool:
        with self.engine.begin() as connection:
            result = connection.execute(delete(djs).where(djs.c.name == normalize_name(name)))
        return result.rowcount > 0

    def list(self) -> list[Dj]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(djs.c.name, djs.c.created_at).order_by(djs.c.name)).all()
        return [Dj(row.name, row.created_at) for row in rows]

    def check(self, name: str, password: str) -> str | None:
        """The DJ's stored name when `password` is theirs, else None; CheckBusy while another
        check runs; SQLAlchemyError when the database cannot be read."""
        try:
            folded = normalize_name(name)
        except ValueError:
            folded = None
        if not self._checking.acquire(blocking=False):
            raise CheckBusy
        try:
            stored = None
            if folded is not None:
                with self.engine.connect() as connection:
                    stored = connection.execute(select(djs.c.password_hash).where(djs.c.name == folded)).scalar()
            try:
                ok = self._hasher.verify(stored or self._dummy, password)
            except (VerificationError, InvalidHashError):
                ok = False
            return folded if ok and stored is not None else None
        finally:
            self._checking.release()

    def dispose(self) -> None:
        self.engine.dispose()


__all__ = ["CheckBusy", "Dj", "DjExists", "DjStore", "normalize_name"]
