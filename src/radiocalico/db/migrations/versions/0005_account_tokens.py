"""account_tokens (the listener token that backs a young account's votes); votes by voter

Revision ID: 0005_account_tokens
Revises: 0004_history
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_account_tokens"
down_revision = "0004_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_tokens",
        sa.Column("token", sa.String(40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_account_tokens_user_id_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token", name="pk_account_tokens"),
    )
    op.create_index("ix_votes_voter_updated_at", "votes", ["voter", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_votes_voter_updated_at", table_name="votes")
    op.drop_table("account_tokens")
