"""programming: users.role, plays.requested, library_tracks, playlists, schedule, timed
items, track requests, station commands and the audit trail

Revision ID: 0008_programming
Revises: 0007_djs
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_programming"
down_revision = "0007_djs"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _playlist_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["playlist_id"], ["playlists.id"],
                                   name=f"fk_{table}_playlist_id_playlists", ondelete="CASCADE")


def upgrade() -> None:
    op.add_column("users", sa.Column("role", sa.String(16), server_default="listener", nullable=False))
    op.add_column("plays", sa.Column("requested", sa.Boolean(), server_default=sa.text("false"),
                                     nullable=False))
    op.create_table(
        "library_tracks",
        sa.Column("track_id", sa.String(24), nullable=False),
        sa.Column("song_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("artist", sa.String(512), nullable=False),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("album", sa.String(512), server_default="", nullable=False),
        sa.Column("genre", sa.String(256), server_default="", nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("track_id", name="pk_library_tracks"),
    )
    op.create_index("ix_library_tracks_song_id", "library_tracks", ["song_id"])
    op.create_table(
        "playlists",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_playlists"),
        sa.UniqueConstraint("name", name="uq_playlists_name"),
    )
    op.create_table(
        "playlist_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("playlist_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(1024), nullable=False),
        sa.Column("weight", sa.Integer(), server_default="1", nullable=False),
        _playlist_fk("playlist_entries"),
        sa.PrimaryKeyConstraint("id", name="pk_playlist_entries"),
    )
    op.create_index("ix_playlist_entries_playlist_id", "playlist_entries", ["playlist_id"])
    op.create_table(
        "schedule_blocks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("playlist_id", sa.Integer(), nullable=False),
        sa.Column("days", sa.String(32), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        _playlist_fk("schedule_blocks"),
        sa.PrimaryKeyConstraint("id", name="pk_schedule_blocks"),
    )
    op.create_table(
        "timed_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("every", sa.Integer(), nullable=True),
        sa.Column("playlist_id", sa.Integer(), nullable=False),
        _playlist_fk("timed_items"),
        sa.PrimaryKeyConstraint("id", name="pk_timed_items"),
    )
    op.create_table(
        "track_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("track_id", sa.String(24), nullable=False),
        sa.Column("song_id", sa.String(32), nullable=False),
        sa.Column("requester", sa.String(80), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("played_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_track_requests"),
    )
    op.create_index("ix_track_requests_status_id", "track_requests", ["status", "id"])
    op.create_index("ix_track_requests_song_id_created_at", "track_requests", ["song_id", "created_at"])
    op.create_table(
        "station_commands",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("item", sa.String(32), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("applied_at", TZ, nullable=True),
        sa.Column("outcome", sa.String(256), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_station_commands"),
    )
    op.create_index("ix_station_commands_applied_at_id", "station_commands", ["applied_at", "id"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(32), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", sa.String(2048), server_default="", nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_audit_user_id_users",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
    )
    op.create_index("ix_audit_at_id", "audit", ["at", "id"])


def downgrade() -> None:
    for table in ("audit", "station_commands", "track_requests", "timed_items", "schedule_blocks",
                  "playlist_entries", "playlists", "library_tracks"):
        op.drop_table(table)
    with op.batch_alter_table("plays") as batch:
        batch.drop_column("requested")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("role")
