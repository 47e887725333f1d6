"""songs.up / songs.down kept by triggers on votes, and the chart's index

Counts are kept in the statement that changes a vote, by triggers, so every path that
writes `votes` (casting, changing, retracting, deleting an account, a cascade) keeps them
exact and a transaction that fails takes both with it. The triggers are created before
the backfill: on PostgreSQL CREATE TRIGGER locks `votes` against writes until this
migration commits, so no vote slips between the backfill and the triggers.

Revision ID: 0002_song_counts
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_song_counts"
down_revision = "0001"
branch_labels = None
depends_on = None

# PostgreSQL fires triggers of one event in name order; SQLite has no such order, so each
# of its triggers does its whole job alone.
_PG = [
    """
    CREATE FUNCTION votes_keep_song_counts() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.song_id = NEW.song_id THEN
            UPDATE songs
            SET up = up + (NEW.value = 1)::int - (OLD.value = 1)::int,
                down = down + (NEW.value = -1)::int - (OLD.value = -1)::int
            WHERE id = NEW.song_id;
            RETURN NULL;
        END IF;
        IF TG_OP <> 'INSERT' THEN
            UPDATE songs
            SET up = up - (OLD.value = 1)::int, down = down - (OLD.value = -1)::int
            WHERE id = OLD.song_id;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            UPDATE songs
            SET up = up + (NEW.value = 1)::int, down = down + (NEW.value = -1)::int
            WHERE id = NEW.song_id;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER votes_keep_song_counts AFTER INSERT OR DELETE ON votes
    FOR EACH ROW EXECUTE FUNCTION votes_keep_song_counts()
    """,
    """
    CREATE TRIGGER votes_keep_song_counts_on_change AFTER UPDATE OF value, song_id ON votes
    FOR EACH ROW
    WHEN (OLD.value IS DISTINCT FROM NEW.value OR OLD.song_id IS DISTINCT FROM NEW.song_id)
    EXECUTE FUNCTION votes_keep_song_counts()
    """,
]
_PG_DROP = [
    "DROP TRIGGER IF EXISTS votes_keep_song_counts_on_change ON votes",
    "DROP TRIGGER IF EXISTS votes_keep_song_counts ON votes",
    "DROP FUNCTION IF EXISTS votes_keep_song_counts()",
]

_ADD_NEW = "UPDATE songs SET up = up + (NEW.value = 1), down = down + (NEW.value = -1) WHERE id = NEW.song_id;"
_TAKE_OLD = "UPDATE songs SET up = up - (OLD.value = 1), down = down - (OLD.value = -1) WHERE id = OLD.song_id;"
_SQLITE = [
    f"CREATE TRIGGER votes_keep_song_counts_on_insert AFTER INSERT ON votes BEGIN {_ADD_NEW} END",
    f"CREATE TRIGGER votes_keep_song_counts_on_delete AFTER DELETE ON votes BEGIN {_TAKE_OLD} END",
    f"""
    CREATE TRIGGER votes_keep_song_counts_on_change AFTER UPDATE OF value, song_id ON votes
    WHEN OLD.value IS NOT NEW.value OR OLD.song_id IS NOT NEW.song_id
    BEGIN {_TAKE_OLD} {_ADD_NEW} END
    """,
]
_SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS votes_keep_song_counts_on_{event}"
    for event in ("insert", "delete", "change")
]

_BACKFILL = """
    UPDATE songs SET
        up = (SELECT count(*) FROM votes WHERE votes.song_id = songs.id AND votes.value = 1),
        down = (SELECT count(*) FROM votes WHERE votes.song_id = songs.id AND votes.value = -1)
"""


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.add_column("songs", sa.Column("up", sa.Integer(), server_default="0", nullable=False))
    op.add_column("songs", sa.Column("down", sa.Integer(), server_default="0", nullable=False))
    for statement in _PG if _is_postgres() else _SQLITE:
        op.execute(statement)
    op.execute(_BACKFILL)
    op.create_index(
        "ix_songs_chart",
        "songs",
        [sa.text("(up - down) DESC"), sa.text("up DESC"), "id"],
        postgresql_where=sa.text("up > 0"),
        sqlite_where=sa.text("up > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_songs_chart", table_name="songs")
    for statement in _PG_DROP if _is_postgres() else _SQLITE_DROP:
        op.execute(statement)
    with op.batch_alter_table("songs") as batch:
        batch.drop_column("down")
        batch.drop_column("up")
