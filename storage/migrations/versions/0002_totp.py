"""Two-step sign-in: a TOTP secret and the last time step used, per account.

Revision ID: 0002_totp
Revises: 0001_admin
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_totp"
down_revision = "0001_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("admin_accounts") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(64)))
        batch.add_column(sa.Column("totp_last_step", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("admin_accounts") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
