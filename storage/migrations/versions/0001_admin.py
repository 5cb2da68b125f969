"""Admin app: accounts, sessions, failed sign-ins, audit log, settings.

Revision ID: 0001_admin
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_admin"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("profiles", sa.Text, nullable=False, server_default="[]"),
        sa.Column("language", sa.String(8), nullable=False, server_default="en"),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default="0"),
        sa.CheckConstraint("role IN ('owner', 'parent', 'teacher', 'safeguarding')",
                           name="ck_admin_accounts_role"),
        sa.PrimaryKeyConstraint("id", name="pk_admin_accounts"),
        sa.UniqueConstraint("username", name="uq_admin_accounts_username"),
    )
    op.create_table(
        "admin_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("account_id", sa.Integer),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False, server_default=""),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_admin_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_admin_sessions_token_hash"),
        sa.ForeignKeyConstraint(["account_id"], ["admin_accounts.id"], ondelete="CASCADE",
                                name="fk_admin_sessions_account_id_admin_accounts"),
    )
    op.create_index("ix_admin_sessions_expires", "admin_sessions", ["expires"])
    op.create_table(
        "admin_sign_in_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("ts", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_admin_sign_in_failures"),
    )
    op.create_index("ix_admin_sign_in_failures_address_ts", "admin_sign_in_failures",
                    ["address", "ts"])
    op.create_table(
        "admin_audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("account_id", sa.Integer),
        sa.Column("username", sa.String(64), nullable=False, server_default=""),
        sa.Column("address", sa.String(64), nullable=False, server_default=""),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.Text, nullable=False, server_default=""),
        sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("id", name="pk_admin_audit_log"),
    )
    op.create_index("ix_admin_audit_log_ts", "admin_audit_log", ["ts"])
    op.create_table(
        "admin_settings",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_admin_settings"),
    )


def downgrade() -> None:
    op.drop_table("admin_settings")
    op.drop_index("ix_admin_audit_log_ts", "admin_audit_log")
    op.drop_table("admin_audit_log")
    op.drop_index("ix_admin_sign_in_failures_address_ts", "admin_sign_in_failures")
    op.drop_table("admin_sign_in_failures")
    op.drop_index("ix_admin_sessions_expires", "admin_sessions")
    op.drop_table("admin_sessions")
    op.drop_table("admin_accounts")
