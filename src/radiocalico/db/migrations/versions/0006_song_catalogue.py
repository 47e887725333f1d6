"""songs from the station only: last_played, the station's spelling, search's substring index

A song row is now made only by the play recorder. This migration gives every song that has
plays the artist and title of its newest play (a voter's spelling, kept since the song's
first vote, gives way to the station's) and its newest start as `last_played`, which
search ranks by. Songs without a recorded play keep their row (their votes predate the
history, or its retention forgot their plays), but no vote can make a new one.

Search's substring index (see db/schema.py, SEARCH_OBJECTS):
- PostgreSQL: a pg_trgm GIN index on lower(artist || ' ' || title), which serves
  `LIKE '%word%'` for words of three or more characters. pg_trgm is a trusted extension
  shipped with PostgreSQL; where it cannot be created (no contrib, no privilege) the
  migration warns and search scans instead.
- SQLite: an FTS5 table with the trigram tokenizer (SQLite >= 3.34) holding its own copy of
  each song's artist and title, kept by triggers on `songs`. It is not an external-content
  table: those address rows by rowid, which VACUUM and a batch migration may renumber.

Revision ID: 0006_song_catalogue
Revises: 0005_account_tokens
Create Date: 2026-12-02
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0006_song_catalogue"
down_revision = "0005_account_tokens"
branch_labels = None
depends_on = None

log = logging.getLogger("radiocalico")

_BACKFILL = """
    UPDATE songs SET
        last_played = (SELECT max(p.started_at) FROM plays p WHERE p.song_id = songs.id),
        artist = (SELECT p.artist FROM plays p WHERE p.song_id = songs.id
                  ORDER BY p.started_at DESC, p.id DESC LIMIT 1),
        title = (SELECT p.title FROM plays p WHERE p.song_id = songs.id
                 ORDER BY p.started_at DESC, p.id DESC LIMIT 1)
    WHERE EXISTS (SELECT 1 FROM plays p WHERE p.song_id = songs.id)
"""

_SQLITE = [
    "CREATE VIRTUAL TABLE song_search USING fts5(song_id UNINDEXED, artist, title, "
    "tokenize='trigram')",
    "INSERT INTO song_search (song_id, artist, title) SELECT id, artist, title FROM songs",
    """
    CREATE TRIGGER songs_search_insert AFTER INSERT ON songs BEGIN
        INSERT INTO song_search (song_id, artist, title) VALUES (new.id, new.artist, new.title);
    END
    """,
    # Songs are renamed and deleted rarely (the station's spelling changes; a downgrade):
    # finding the copy by its unindexed song_id is a scan, acceptable that seldom.
    """
    CREATE TRIGGER songs_search_update AFTER UPDATE OF artist, title ON songs
    WHEN old.artist IS NOT new.artist OR old.title IS NOT new.title BEGIN
        UPDATE song_search SET artist = new.artist, title = new.title WHERE song_id = old.id;
    END
    """,
    """
    CREATE TRIGGER songs_search_delete AFTER DELETE ON songs BEGIN
        DELETE FROM song_search WHERE song_id = old.id;
    END
    """,
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS songs_search_delete",
    "DROP TRIGGER IF EXISTS songs_search_update",
    "DROP TRIGGER IF EXISTS songs_search_insert",
    "DROP TABLE IF EXISTS song_search",
]

_PG_TRGM_SCHEMA = sa.text("""
    SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm'
""")


def _pg_trgm_schema(bind) -> str | None:
    """The schema of pg_trgm, created in `public` when missing (shared by every schema of
    the database, whatever search_path the app runs with); None when it cannot be had."""
    schema = bind.execute(_PG_TRGM_SCHEMA).scalar()
    if schema is not None:
        return schema
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
    except sa.exc.DBAPIError as exc:
        log.warning("migration 0005: pg_trgm unavailable (%s); song search will scan",
                    type(exc.orig).__name__)
    return bind.execute(_PG_TRGM_SCHEMA).scalar()


def upgrade() -> None:
    with op.batch_alter_table("songs") as batch:
        batch.add_column(sa.Column("last_played", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_songs_last_played", "songs", ["last_played"])
    op.execute(_BACKFILL)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in _SQLITE:
            op.execute(statement)
        return
    schema = _pg_trgm_schema(bind)
    if schema is not None:
        opclass = f'"{schema}".gin_trgm_ops'
        op.execute(f"CREATE INDEX ix_songs_search ON songs "
                   f"USING gin (lower(artist || ' ' || title) {opclass})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_DROP:
            op.execute(statement)
    else:
        op.execute("DROP INDEX IF EXISTS ix_songs_search")  # pg_trgm stays: it is shared
    op.drop_index("ix_songs_last_played", table_name="songs")
    # Not a batch (a copy of the table, which SQLite's triggers on votes would not survive):
    # SQLite >= 3.35 drops a column in place.
    op.execute("ALTER TABLE songs DROP COLUMN last_played")
