"""Reporting: reports to hotlines, access requests, approvals, alert log, used link tokens.

Until this revision the reporting tables were created by hand-written SQLite code (schema
version 1 in ``PRAGMA user_version``), in the same ``kidgate.db`` file. Tables that already
exist are adopted as they are (same columns, same index names), so an upgrade keeps every
report, request and approval; only the change counter is new.

Revision ID: 0003_reporting
Revises: 0002_totp
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_reporting"
down_revision = "0002_totp"
branch_labels = None
depends_on = None

_REQUEST_STATUS = "status IN ('pending', 'approved', 'denied')"
_ALERT_STATUS = ("status IN ('pending', 'sent', 'failed', 'suppressed', 'queued', 'digesting', "
                 "'digested')")


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "reports" not in existing:
        op.create_table(
            "reports",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("created", sa.Float, nullable=False),
            sa.Column("url", sa.Text, nullable=False),
            sa.Column("category", sa.Text),
            sa.Column("profile", sa.Text, nullable=False),
            sa.Column("reason", sa.Text, nullable=False, server_default=""),
            sa.Column("hotline_country", sa.Text),
            sa.Column("hotline_name", sa.Text, nullable=False, server_default=""),
            sa.PrimaryKeyConstraint("id", name="pk_reports"),
        )
        op.create_index("reports_profile_time", "reports", ["profile", "created"])
    if "access_requests" not in existing:
        op.create_table(
            "access_requests",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("created", sa.Float, nullable=False),
            sa.Column("profile", sa.Text, nullable=False),
            sa.Column("url", sa.Text, nullable=False),
            sa.Column("host", sa.Text, nullable=False),
            sa.Column("category", sa.Text),
            sa.Column("reason", sa.Text, nullable=False, server_default=""),
            sa.Column("message", sa.Text, nullable=False, server_default=""),
            sa.Column("status", sa.Text, nullable=False, server_default="pending"),
            sa.Column("decided_by", sa.Text),
            sa.Column("decided_at", sa.Float),
            sa.Column("expires", sa.Float),
            sa.Column("scope", sa.Text),
            sa.CheckConstraint(_REQUEST_STATUS, name="ck_access_requests_status"),
            sa.CheckConstraint("scope IS NULL OR scope IN ('url', 'host')",
                               name="ck_access_requests_scope"),
            sa.PrimaryKeyConstraint("id", name="pk_access_requests"),
        )
        op.create_index("access_requests_status", "access_requests", ["status", "created"])
    if "approvals" not in existing:
        op.create_table(
            "approvals",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("request_id", sa.Integer),
            sa.Column("created", sa.Float, nullable=False),
            sa.Column("profile", sa.Text, nullable=False),
            sa.Column("scope", sa.Text, nullable=False),
            sa.Column("target", sa.Text, nullable=False),
            sa.Column("expires", sa.Float),
            sa.Column("approved_by", sa.Text, nullable=False),
            sa.Column("revoked", sa.Integer, nullable=False, server_default="0"),
            sa.CheckConstraint("scope IN ('url', 'host')", name="ck_approvals_scope"),
            sa.PrimaryKeyConstraint("id", name="pk_approvals"),
            sa.ForeignKeyConstraint(["request_id"], ["access_requests.id"],
                                    name="fk_approvals_request_id_access_requests"),
        )
        op.create_index("approvals_profile", "approvals", ["profile", "revoked"])
    if "alert_log" not in existing:
        op.create_table(
            "alert_log",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("created", sa.Float, nullable=False),
            sa.Column("rule", sa.Text, nullable=False),
            sa.Column("rate_key", sa.Text, nullable=False),
            sa.Column("profile", sa.Text, nullable=False),
            sa.Column("category", sa.Text),
            sa.Column("url", sa.Text, nullable=False),
            sa.Column("reason", sa.Text, nullable=False, server_default=""),
            sa.Column("event_time", sa.Float, nullable=False),
            sa.Column("status", sa.Text, nullable=False),
            sa.Column("channel", sa.Text, nullable=False, server_default=""),
            sa.Column("error", sa.Text, nullable=False, server_default=""),
            sa.CheckConstraint(_ALERT_STATUS, name="ck_alert_log_status"),
            sa.PrimaryKeyConstraint("id", name="pk_alert_log"),
        )
        op.create_index("alert_log_key", "alert_log", ["rate_key", "status", "created"])
    if "used_tokens" not in existing:
        op.create_table(
            "used_tokens",
            sa.Column("nonce", sa.Text, nullable=False),
            sa.Column("expires", sa.Float, nullable=False),
            sa.PrimaryKeyConstraint("nonce", name="pk_used_tokens"),
        )
    op.create_table(
        "approval_changes",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_approval_changes"),
    )
    op.execute("INSERT INTO approval_changes (id, version) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("approval_changes")
    op.drop_table("used_tokens")
    op.drop_index("alert_log_key", "alert_log")
    op.drop_table("alert_log")
    op.drop_index("approvals_profile", "approvals")
    op.drop_table("approvals")
    op.drop_index("access_requests_status", "access_requests")
    op.drop_table("access_requests")
    op.drop_index("reports_profile_time", "reports")
    op.drop_table("reports")
