"""djs: who may go live on the station's live input

Revision ID: 0007_djs
Revises: 0006_song_catalogue
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_djs"
down_revision = "0006_song_catalogue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "djs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_djs"),
        sa.UniqueConstraint("name", name="uq_djs_name"),
    )


def downgrade() -> None:
    op.drop_table("djs")
