"""Engines for SQLite and PostgreSQL with the settings each needs under concurrency."""

from __future__ import annotations

import select

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url


def make_engine(url: str, pool_size: int = 8, autocommit: bool = False) -> Engine:
    """`autocommit`: PostgreSQL connections are opened in autocommit, once, instead of being
    switched to it and back at every checkout (the store's single statements, see
    db/store.py); a transaction then asks for an isolation level of its own."""
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    engine = create_engine(
        url,
        isolation_level="AUTOCOMMIT" if autocommit else None,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        # Errors (and so logs) never carry bound values: e-mail addresses, password hashes.
        hide_parameters=True,
        # A down database must fail /health fast instead of hanging a worker.
        connect_args={"connect_timeout": 3},
    )
    event.listen(engine, "checkout", _skip_if_closed_by_server)
    return engine


def _skip_if_closed_by_server(dbapi_connection, _record, _proxy) -> None:
    """A pooled connection the server has closed is not handed out: SQLAlchemy opens a
    fresh one instead (a DisconnectionError at checkout), so the first requests after
    PostgreSQL restarts succeed rather than fail with 503 on connections of before.
    An idle connection has nothing to read unless the server ended it (a restart or
    pg_terminate_backend sends a termination notice, then closes): a poll of its socket
    (microseconds) tells, where pool_pre_ping's round trip cost ~250 µs a checkout here."""
    poller = select.poll()
    try:
        poller.register(dbapi_connection.fileno(), select.POLLIN)
    except Exception:  # closed on this side already: psycopg has no descriptor to give
        raise exc.DisconnectionError("this connection is closed") from None
    if poller.poll(0):
        raise exc.DisconnectionError("the server closed this connection")


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url, hide_parameters=True, connect_args={"timeout": 15, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        # lower() as PostgreSQL's: Unicode-aware (SQLite's own folds only ASCII), so that
        # case-insensitive searches behave alike on both databases.
        dbapi_connection.create_function(
            "lower", 1, lambda text: text.lower() if isinstance(text, str) else text,
            deterministic=True,
        )
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Writers take the lock up front: a deferred transaction that later upgrades to a
        # write lock can fail with "database is locked" instead of waiting its turn.
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine
