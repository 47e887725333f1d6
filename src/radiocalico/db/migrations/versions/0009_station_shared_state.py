"""station_shared_state: the active station's state at each segment edge, for a standby station

Revision ID: 0009_station_shared_state
Revises: 0008_programming
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_station_shared_state"
down_revision = "0008_programming"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "station_shared_state",
        sa.Column("station_group", sa.String(64), primary_key=True),
        sa.Column("sequence", sa.BigInteger(), primary_key=True),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("station_shared_state")
