"""songs, users and votes

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "songs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("artist", sa.String(512), nullable=False),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("album", sa.String(512), server_default="", nullable=False),
        sa.Column("first_seen", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_songs"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(32), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("display_name", sa.String(64), server_default="", nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "votes",
        sa.Column("song_id", sa.String(32), nullable=False),
        sa.Column("voter", sa.String(80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.CheckConstraint("value IN (-1, 1)", name="ck_votes_value_is_up_or_down"),
        sa.ForeignKeyConstraint(
            ["song_id"], ["songs.id"], name="fk_votes_song_id_songs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_votes_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("song_id", "voter", name="pk_votes"),
    )
    op.create_index("ix_votes_user_id", "votes", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_votes_user_id", table_name="votes")
    op.drop_table("votes")
    op.drop_table("users")
    op.drop_table("songs")
