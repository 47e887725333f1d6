"""plays, song_covers and listener_hours: play history, cover thumbnails, listener series

Revision ID: 0004_history
Revises: 0003_hardening
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_history"
down_revision = "0003_hardening"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "plays",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("play_key", sa.String(80), nullable=False),
        sa.Column("song_id", sa.String(32), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("artist", sa.String(512), nullable=False),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("album", sa.String(512), server_default="", nullable=False),
        sa.Column("year", sa.String(16), server_default="", nullable=False),
        sa.Column("bit_depth", sa.SmallInteger(), nullable=True),
        sa.Column("sample_rate", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["song_id"], ["songs.id"], name="fk_plays_song_id_songs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_plays"),
        sa.UniqueConstraint("play_key", name="uq_plays_play_key"),
    )
    op.create_index("ix_plays_started_at_id", "plays", ["started_at", "id"])
    op.create_index("ix_plays_song_id_started_at", "plays", ["song_id", "started_at"])
    op.create_table(
        "song_covers",
        sa.Column("song_id", sa.String(32), nullable=False),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["song_id"], ["songs.id"], name="fk_song_covers_song_id_songs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("song_id", name="pk_song_covers"),
    )
    op.create_table(
        "listener_hours",
        sa.Column("hour", TZ, nullable=False),
        sa.Column("peak", sa.Integer(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("listener_sum", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hour", name="pk_listener_hours"),
    )


def downgrade() -> None:
    op.drop_table("listener_hours")
    op.drop_table("song_covers")
    op.drop_index("ix_plays_song_id_started_at", table_name="plays")
    op.drop_index("ix_plays_started_at_id", table_name="plays")
    op.drop_table("plays")
