"""The database as the app uses it: one engine, and how to read, write and vote on it.

What differs between SQLite and PostgreSQL is decided here, once, when the store is made
(`_DIALECTS`); the views and the query modules never ask which database they are on.

- PostgreSQL: a read is one statement, consistent on its own, and casting or retracting a
  vote is one atomic statement: both run in autocommit, without
  BEGIN/COMMIT round trips.
- SQLite: a read runs in an ordinary (deferred) transaction; a vote is several statements
  in one IMMEDIATE transaction, which takes the write lock up front.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from radiocalico.db import plays
from radiocalico.db.engine import make_engine
from radiocalico.db.ratings import PostgresVotes, SqliteVotes, Votes


@dataclass(frozen=True)
class _Dialect:
    # Single statements (reads, and votes) run in autocommit.
    autocommit: bool
    # How a vote is cast and retracted; it must suit `autocommit`.
    votes: type[Votes]
    # Search's songs, through the database's own substring index (migration 0005).
    matching_songs: Callable


_DIALECTS = {
    "postgresql": _Dialect(autocommit=True, votes=PostgresVotes,
                           matching_songs=plays.postgres_matching_songs),
    "sqlite": _Dialect(autocommit=False, votes=SqliteVotes,
                       matching_songs=plays.sqlite_matching_songs),
}

Opener = Callable[[], AbstractContextManager[Connection]]

# The errors that mean "the database is not answering" (down, restarting, unreachable,
# the pool exhausted, SQLite locked for too long): a request failing with one of these is
# answered 503 with Retry-After, not 500 (see radiocalico.errors).
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)


class Outage:
    """Whether the current database outage has been reported: the first failure of an
    outage is logged, the rest are not, until a new connection succeeds again."""

    def __init__(self, engine: Engine):
        self._lock = threading.Lock()
        self._reported = False
        event.listen(engine, "connect", lambda *_: self._over())

    def first_failure(self) -> bool:
        with self._lock:
            first, self._reported = not self._reported, True
            return first

    def _over(self) -> None:
        with self._lock:
            self._reported = False


class Store:
    """The engine plus the three ways the app uses it: `reading()`, `writing()`, `voting()`."""

    def __init__(self, url: str):
        name = make_url(url).get_backend_name()
        dialect = _DIALECTS.get(name)
        if dialect is None:
            raise ValueError(f"unsupported database: {name}")
        engine = make_engine(url, autocommit=dialect.autocommit)
        self.engine = engine
        self.outage = Outage(engine)
        # SQLite writers take the lock up front (see db/engine.py); PostgreSQL ignores it.
        writer = engine.execution_options(sqlite_begin="IMMEDIATE")
        if dialect.autocommit:
            # The pool's connections are opened in autocommit: reads and votes take them as
            # they are (switching each checkout to autocommit and back cost ~50 µs a
            # request); a write transaction asks for PostgreSQL's default level instead.
            self._read: Opener = engine.connect
            self._vote: Opener = engine.connect
            self._write: Opener = writer.execution_options(
                isolation_level="READ COMMITTED"
            ).begin
        else:
            self._read = engine.connect
            self._vote = writer.begin
            self._write = writer.begin
        self._votes = dialect.votes
        self.matching_songs = dialect.matching_songs

    def reading(self) -> AbstractContextManager[Connection]:
        """A connection for reads; nothing it does is committed."""
        return self._read()

    def writing(self) -> AbstractContextManager[Connection]:
        """A write transaction: committed when the block ends, rolled back on an error."""
        return self._write()

    @contextmanager
    def voting(self) -> Iterator[Votes]:
        """The vote queries of this database, on a connection opened the way they need."""
        with self._vote() as connection:
            yield self._votes(connection)

    def dispose(self) -> None:
        self.engine.dispose()
