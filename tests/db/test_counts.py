"""The kept counts stay exact: under concurrency, on every path that writes votes, and
when a transaction dies midway; on SQLite and PostgreSQL, with real threads."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError

from radiocalico.db import Store, counts, upgrade
from radiocalico.db.ratings import rating_of
from radiocalico.db.schema import songs, users, votes
from radiocalico.db.users import delete_user
from radiocalico.songs import song_id
from tests.conftest import station_played


def track(title: str = "He's A Dream") -> dict:
    return dict(song_id=song_id("Shandi", title), artist="Shandi", title=title, album="")


@pytest.fixture
def store(database_url):
    store = Store(database_url)
    upgrade(store.engine)
    yield store
    store.dispose()


def kept(store: Store, sid: str) -> tuple[int, int]:
    with store.reading() as connection:
        rating = rating_of(connection, sid, None)
    return rating.up, rating.down


def assert_exact(store: Store) -> None:
    with store.reading() as connection:
        assert counts.differences(connection) == []


def cast(store: Store, voter: str, value: int, song: dict | None = None, user_id=None):
    song = song or track()
    station_played(store, tuple(song.values()))
    with store.voting() as voting:
        return voting.cast(song_id=song["song_id"], voter=voter, user_id=user_id, value=value)


def retract(store: Store, voter: str, song: dict | None = None):
    with store.voting() as voting:
        return voting.retract(song_id=(song or track())["song_id"], voter=voter)


def test_cast_change_and_retract_move_the_counts(store):
    assert cast(store, "f:a", 1).up == 1
    cast(store, "f:b", 1)
    changed = cast(store, "f:a", -1)  # up to down moves one count to the other
    assert (changed.up, changed.down, changed.my_vote) == (1, 1, -1)
    again = cast(store, "f:a", -1)  # the same vote again changes nothing
    assert (again.up, again.down) == (1, 1)
    gone = retract(store, "f:a")
    assert (gone.up, gone.down, gone.my_vote) == (1, 0, None)
    assert kept(store, track()["song_id"]) == (1, 0)
    assert_exact(store)


def test_a_vote_for_a_song_just_played_starts_its_counts(store):
    new = track("A song nobody voted on yet")
    assert kept(store, new["song_id"]) == (0, 0)
    assert (cast(store, "f:a", -1, new).up, kept(store, new["song_id"])) == (0, (0, 1))
    assert_exact(store)


def test_a_vote_for_a_song_never_played_writes_nothing(store):
    never = track("A song the station never played")
    with store.voting() as voting:
        assert voting.cast(song_id=never["song_id"], voter="f:a", user_id=None, value=1) is None
    with store.reading() as connection:
        assert connection.execute(select(func.count()).select_from(songs)).scalar() == 0
        assert connection.execute(select(func.count()).select_from(votes)).scalar() == 0


def test_retracting_no_vote_changes_nothing(store):
    cast(store, "f:a", 1)
    assert (retract(store, "f:nobody").up, retract(store, "f:nobody").down) == (1, 0)
    unknown = retract(store, "f:a", track("Never voted on"))
    assert (unknown.up, unknown.down) == (0, 0)
    assert kept(store, track()["song_id"]) == (1, 0)
    assert_exact(store)


def test_deleting_an_account_takes_its_votes_off_the_counts(store):
    now = datetime.now(timezone.utc)
    with store.writing() as connection:
        user_id = connection.execute(
            insert(users).values(username="alice", email="a@example.org", password_hash="x",
                                 created_at=now, updated_at=now).returning(users.c.id)
        ).scalar_one()
    cast(store, f"u:{user_id}", 1, user_id=user_id)
    cast(store, f"u:{user_id}", 1, track("Another"), user_id=user_id)
    cast(store, "f:b", -1)
    with store.writing() as connection:
        delete_user(connection, user_id)
    assert kept(store, track()["song_id"]) == (0, 1)
    assert kept(store, track("Another")["song_id"]) == (0, 0)
    assert_exact(store)


def test_storms_of_cast_change_and_retract_leave_exact_counts(store):
    """Many listeners on a few songs, and each listener voting from several threads at once
    (several tabs), in random order: whatever order they land in, counts == votes."""
    tracks = [track(f"Storm {n}") for n in range(3)]
    voters = [f"f:{n}" for n in range(12)]
    barrier = threading.Barrier(16)

    def storm(seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        for _ in range(40):
            voter, song = rng.choice(voters), rng.choice(tracks)
            if rng.random() < 0.3:
                retract(store, voter, song)
            else:
                cast(store, voter, rng.choice((1, -1)), song)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(storm, range(16)))
    assert_exact(store)
    with store.reading() as connection:
        stored = connection.execute(select(func.count()).select_from(votes)).scalar()
        total = connection.execute(select(func.sum(songs.c.up + songs.c.down))).scalar()
    assert total == stored


def test_one_listener_casting_and_retracting_at_once_counts_at_most_once(store):
    barrier = threading.Barrier(12)

    def flip(n: int) -> None:
        barrier.wait()
        for i in range(30):
            if (n + i) % 3 == 0:
                retract(store, "f:one")
            else:
                cast(store, "f:one", 1 if (n + i) % 2 else -1)

    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(flip, range(12)))
    up, down = kept(store, track()["song_id"])
    assert up + down <= 1
    assert_exact(store)


def _abort_trigger(store: Store, after: str) -> list[str]:
    """DDL for a trigger that kills the vote's statement: right after the vote row is
    written and before the counts move ("vote"), or right after they moved ("count")."""
    table, event = ("votes", "INSERT") if after == "vote" else ("songs", "UPDATE")
    if store.engine.dialect.name == "sqlite":
        return [f"CREATE TRIGGER {table}_abort_midway AFTER {event} ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'killed midway'); END"]
    # PostgreSQL fires one event's triggers in name order: "votes_abort..." runs before
    # "votes_keep_song_counts".
    return [
        "CREATE FUNCTION abort_midway() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'killed midway'; END $$",
        f"CREATE TRIGGER {table}_abort_midway AFTER {event} ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION abort_midway()",
    ]


@pytest.mark.parametrize("after", ["vote", "count"])
def test_a_vote_killed_midway_leaves_neither_vote_nor_count(store, after):
    cast(store, "f:before", 1)  # the song exists, so the count is an UPDATE of its row
    with store.writing() as connection:
        for statement in _abort_trigger(store, after):
            connection.execute(text(statement))
    with pytest.raises(DBAPIError, match="killed midway"):
        cast(store, "f:killed", -1)
    with store.reading() as connection:
        voters = connection.execute(select(votes.c.voter)).scalars().all()
    assert voters == ["f:before"]
    assert kept(store, track()["song_id"]) == (1, 0)
    assert_exact(store)


def test_a_backend_terminated_before_commit_leaves_neither(store):
    if store.engine.dialect.name != "postgresql":
        pytest.skip("terminating a server backend is PostgreSQL's")
    cast(store, "f:before", 1)
    with pytest.raises(DBAPIError):
        with store.writing() as doomed:  # committed when the block ends
            doomed.execute(
                votes.insert().values(song_id=track()["song_id"], voter="f:doomed", value=1,
                                      created_at=datetime.now(timezone.utc),
                                      updated_at=datetime.now(timezone.utc))
            )
            # The trigger has run: inside the transaction the count already moved.
            assert doomed.execute(select(songs.c.up)).scalar() == 2
            pid = doomed.execute(text("SELECT pg_backend_pid()")).scalar()
            with store.reading() as killer:
                killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert kept(store, track()["song_id"]) == (1, 0)
    assert_exact(store)


def test_check_finds_and_repair_fixes_drift(store):
    cast(store, "f:a", 1)
    cast(store, "f:b", -1, track("Other"))
    assert_exact(store)
    with store.writing() as connection:  # as a restore without the triggers might leave it
        connection.execute(songs.update().where(songs.c.title == "Other").values(up=5, down=0))
    with store.reading() as connection:
        [drift] = counts.differences(connection)
    assert (drift.song_id, drift.kept_up, drift.kept_down, drift.up, drift.down) == (
        track("Other")["song_id"], 5, 0, 0, 1)
    with store.writing() as connection:
        assert len(counts.repair(connection)) == 1
    assert kept(store, track("Other")["song_id"]) == (0, 1)
    assert_exact(store)


def test_the_migration_backfills_counts_from_existing_votes(database_url):
    store = Store(database_url)
    upgrade(store.engine, "0001")
    now = datetime.now(timezone.utc)
    with store.writing() as connection:
        connection.execute(text(
            "INSERT INTO songs (id, artist, title, album, first_seen) VALUES (:id, 'A', 'T', '', :now)"
        ), {"id": "s1", "now": now})
        for n, value in enumerate((1, 1, -1)):
            connection.execute(votes.insert().values(
                song_id="s1", voter=f"f:{n}", value=value, created_at=now, updated_at=now))
    upgrade(store.engine)
    assert kept(store, "s1") == (2, 1)
    assert_exact(store)
    store.dispose()
