"""Two stations, one stream: leader election and the active station's state, in PostgreSQL.

Stations given a node id (STATION_NODE_ID) and the same PostgreSQL database (DATABASE_URL)
make one stream together. Each holds a connection of its own and tries for a session-level
advisory lock named by its group (STATION_GROUP) and the schema: the one that holds it is
active, the others are standbys that keep trying at every segment edge. PostgreSQL releases
the lock the moment the holder's connection ends (its process killed, its host gone: the
server sees the socket close, or TCP keepalive does), so a standby takes over at its next
segment edge; no lease to expire, no home-made consensus.

Both stations are epoch-locked (`epoch`): they number, time and name segments from the
clock alike. The active station writes, as soon as it has made each segment (before it is
due), the programme's position and the decider's queue at the segment edge that follows
(what its own state file holds) to `station_shared_state`, a row per edge. A standby runs hot:
it makes and publishes every segment into its own output folder, in step, and before each
segment reads that row and, if its own programme is not where the active one is, rebuilds
its programme and decider from it (`Station`). Two stations so make the same PCM, and the
same FLAC bytes (`epoch.renumber_flac_frame`), for the same segment; when the active one
dies the standby is already publishing the next segment and simply starts deciding.

Only the active station reports to the database (plays of requests, commands applied) and
applies the operators' commands; a standby follows their effect through the shared state.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from radiocalico.db.engine import make_engine

from .errors import StationError

log = logging.getLogger("radiocalico.station")


@dataclass(frozen=True)
class Shared:
    sequence: int  # the segment edge the state is for: the next segment the active station makes
    node: str
    state: dict


class Coordinator:
    """One station's seat in its group: the advisory lock and the shared state row."""

    def __init__(self, database_url: str, node: str, group: str = "main"):
        if make_url(database_url).get_backend_name() != "postgresql":
            raise StationError("STATION_NODE_ID needs DATABASE_URL to name a PostgreSQL database "
                               "(the stations elect the active one with its advisory locks)")
        self.node = node
        self.group = group
        self.engine = make_engine(database_url, pool_size=1, autocommit=True)
        self._conn = None
        self.leading = False

    def _connection(self):
        if self._conn is None:
            self._conn = self.engine.connect()
        return self._conn

    def _lost(self, exc: Exception) -> None:
        """The connection failed: whatever lock it held is gone with it."""
        if self.leading:
            log.error("lost the database connection (%s): no longer the active station", exc)
        self.leading = False
        try:
            if self._conn is not None:
                self._conn.invalidate()
                self._conn.close()
        except SQLAlchemyError:
            pass
        self._conn = None

    def try_lead(self) -> bool:
        """True when this station is (now) the active one."""
        if self.leading:
            return True
        try:
            got = self._connection().execute(
                text("SELECT pg_try_advisory_lock(hashtext(current_schema() || ':station:' || :group))"),
                {"group": self.group}).scalar()
        except SQLAlchemyError as exc:
            self._lost(exc)
            return False
        if got:
            self.leading = True
            log.info("station %s is now the active station of group %s", self.node, self.group)
        return self.leading

    KEPT = 16  # edges kept: a standby a few segments behind still finds its own

    def save(self, sequence: int, state: dict) -> bool:
        """The active station's state at the edge of segment `sequence`; False (and no longer
        leading) when the database is out of reach."""
        params = {"group": self.group, "sequence": sequence, "node": self.node, "state": json.dumps(state),
                  "now": datetime.now(timezone.utc), "oldest": sequence - self.KEPT}
        try:
            connection = self._connection()
            connection.execute(text(
                "INSERT INTO station_shared_state (station_group, sequence, node, state, updated_at) "
                "VALUES (:group, :sequence, :node, :state, :now) ON CONFLICT (station_group, sequence) "
                "DO UPDATE SET node = excluded.node, state = excluded.state, updated_at = excluded.updated_at"),
                params)
            connection.execute(text("DELETE FROM station_shared_state WHERE station_group = :group "
                                    "AND sequence < :oldest"), params)
            return True
        except SQLAlchemyError as exc:
            self._lost(exc)
            return False

    def load(self, sequence: int | None = None) -> Shared | None:
        """The state for the edge of segment `sequence`; None: the newest."""
        query = "SELECT sequence, node, state FROM station_shared_state WHERE station_group = :group"
        query += " AND sequence = :sequence" if sequence is not None else " ORDER BY sequence DESC LIMIT 1"
        try:
            row = self._connection().execute(text(query), {"group": self.group, "sequence": sequence}).first()
        except SQLAlchemyError as exc:
            self._lost(exc)
            return None
        if row is None:
            return None
        try:
            return Shared(int(row.sequence), str(row.node), json.loads(row.state))
        except ValueError:
            return None

    def close(self) -> None:
        try:
            if self._conn is not None:
                self._conn.close()  # (the lock goes with the session)
        finally:
            self._conn = None
            self.leading = False
            self.engine.dispose()
