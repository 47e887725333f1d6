"""Access to the app's shared objects from inside a request."""

from flask import current_app
from sqlalchemy import Engine

from radiocalico.config import Config


def engine() -> Engine:
    return current_app.extensions["radiocalico.engine"]


def config() -> Config:
    return current_app.extensions["radiocalico.config"]


def reading():
    """A connection for reads (autocommit on PostgreSQL: each statement is consistent)."""
    return current_app.extensions["radiocalico.reader"].connect()


def writing():
    """A transaction for a write: on SQLite it takes the write lock up front."""
    return current_app.extensions["radiocalico.writer"].begin()


def vote_statement():
    """For casting or retracting a vote: on PostgreSQL that is one atomic statement, run
    in autocommit; on SQLite several statements in one write transaction."""
    if engine().dialect.name == "postgresql":
        return reading()
    return writing()
