"""The store decides once per database how reads, writes and votes run."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from radiocalico.db import Store, upgrade
from radiocalico.db.ratings import PostgresVotes, SqliteVotes
from radiocalico.db.schema import songs, votes
from radiocalico.songs import song_id
from tests.conftest import station_played

SONG = dict(song_id=song_id("Shandi", "He's A Dream"), artist="Shandi",
            title="He's A Dream", album="Flashdance")


@pytest.fixture
def store(database_url):
    store = Store(database_url)
    upgrade(store.engine)
    yield store
    store.dispose()


def test_votes_run_as_the_database_does_them_best(store):
    with store.voting() as voting:
        if store.engine.dialect.name == "postgresql":
            # One atomic statement, in autocommit: no transaction around it.
            assert isinstance(voting, PostgresVotes)
            assert voting.connection.connection.driver_connection.autocommit is True
            assert not voting.connection.in_transaction()
        else:
            # Several statements in one write transaction that holds the lock from BEGIN.
            assert isinstance(voting, SqliteVotes)
            assert voting.connection.in_transaction()
            assert voting.connection.get_execution_options()["sqlite_begin"] == "IMMEDIATE"


def test_a_vote_is_cast_changed_and_retracted(store):
    station_played(store, tuple(SONG.values()))
    sid = SONG["song_id"]
    with store.voting() as voting:
        first = voting.cast(song_id=sid, voter="f:a", user_id=None, value=1)
    with store.voting() as voting:
        voting.cast(song_id=sid, voter="f:b", user_id=None, value=-1)
    with store.voting() as voting:
        changed = voting.cast(song_id=sid, voter="f:a", user_id=None, value=-1)
    with store.voting() as voting:
        retracted = voting.retract(song_id=SONG["song_id"], voter="f:a")
    assert (first.up, first.down, first.my_vote) == (1, 0, 1)
    assert (changed.up, changed.down, changed.my_vote) == (0, 2, -1)
    assert (retracted.up, retracted.down, retracted.my_vote) == (0, 1, None)
    with store.reading() as connection:
        assert connection.execute(select(func.count()).select_from(votes)).scalar() == 1


def test_a_failed_write_leaves_nothing_behind(store):
    with pytest.raises(RuntimeError):
        with store.writing() as connection:
            connection.execute(songs.insert().values(
                id=SONG["song_id"], artist="Shandi", title="He's A Dream", album="",
                first_seen=datetime.now(timezone.utc),
            ))
            raise RuntimeError("after the insert")
    with store.reading() as connection:
        assert connection.execute(select(func.count()).select_from(songs)).scalar() == 0
