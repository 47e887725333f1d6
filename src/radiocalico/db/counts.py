"""The kept counts (`songs.up` / `songs.down`) checked against a full aggregate of `votes`.

The triggers keep the counts exact (see db/schema.py); this is the audit that proves it
on a live database and mends a copy that was, say, restored by hand without them.
Checking reads both sides in one statement, so one snapshot: no vote cast meanwhile can
show as a false difference. Repairing runs in one write transaction that first stops
writes to `votes` (PostgreSQL: a SHARE lock, reads go on; SQLite: its write lock), so no
vote lands between the aggregate and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, case, func, or_, select, text, update

from radiocalico.db.schema import songs, votes


@dataclass(frozen=True)
class Drift:
    song_id: str
    kept_up: int
    kept_down: int
    up: int  # from the aggregate of votes: the truth
    down: int


def _aggregate():
    tally = (
        select(
            votes.c.song_id,
            func.sum(case((votes.c.value == 1, 1), else_=0)).label("up"),
            func.sum(case((votes.c.value == -1, 1), else_=0)).label("down"),
        )
        .group_by(votes.c.song_id)
        .subquery()
    )
    up = func.coalesce(tally.c.up, 0)
    down = func.coalesce(tally.c.down, 0)
    return (
        select(songs.c.id, songs.c.up, songs.c.down, up, down)
        .outerjoin(tally, tally.c.song_id == songs.c.id)
        .where(or_(songs.c.up != up, songs.c.down != down))
        .order_by(songs.c.id)
    )


def differences(connection: Connection) -> list[Drift]:
    """Every song whose kept counts differ from its votes (none when all is well)."""
    return [Drift(*(row[0], *map(int, row[1:]))) for row in connection.execute(_aggregate())]


def repair(connection: Connection) -> list[Drift]:
    """Set every drifted song's counts to its votes' aggregate; what was fixed.

    `connection` must be in a write transaction (`Store.writing()`)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("LOCK TABLE votes IN SHARE MODE"))
    drifts = differences(connection)
    if drifts:
        connection.execute(
            _SET_COUNTS, [{"sid": d.song_id, "new_up": d.up, "new_down": d.down} for d in drifts]
        )
    return drifts


_SET_COUNTS = (
    update(songs)
    .where(songs.c.id == bindparam("sid"))
    .values(up=bindparam("new_up"), down=bindparam("new_down"))
)
