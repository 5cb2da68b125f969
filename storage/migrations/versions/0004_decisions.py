"""The decision log as rows, for schools whose proxies share one database.

Revision ID: 0004_decisions
Revises: 0003_reporting
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_decisions"
down_revision = "0003_reporting"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("proxy", sa.String(128), nullable=False, server_default=""),
        sa.Column("client", sa.Text, nullable=False),
        sa.Column("profile", sa.Text, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("method", sa.String(16), nullable=False, server_default=""),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("category", sa.Text),
        sa.Column("min_age", sa.Integer),
        sa.Column("sources", sa.Text, nullable=False, server_default="[]"),
        sa.Column("reasons", sa.Text, nullable=False, server_default="[]"),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_ts", "decisions", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_decisions_ts", "decisions")
    op.drop_table("decisions")
