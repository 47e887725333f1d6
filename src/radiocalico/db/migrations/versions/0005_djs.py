"""djs: who may go live on the station's live input

Revision ID: 0005_djs
Revises: 0004_history
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_djs"
down_revision = "0004_history"
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
