"""The tables, as SQLAlchemy Core metadata: the one description migrations are checked against.

Times are seconds since the epoch (``Float``), as in the rest of kidgate: comparable across
SQLite and PostgreSQL and free of time-zone conversions.
"""

from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Column, Float, ForeignKey, Index, Integer,
                        MetaData, String, Table, Text)

#: Who may do what is decided by the admin app; the database only refuses unknown roles.
ROLES: tuple[str, ...] = ("owner", "parent", "teacher", "safeguarding")

# Stable constraint names, so that migrations can refer to them on every backend.
metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

_role_check = "role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")"

accounts = Table(
    "admin_accounts", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    # Teachers see and act on these profiles only (a JSON list of names); empty for others.
    Column("profiles", Text, nullable=False, server_default="[]"),
    Column("language", String(8), nullable=False, server_default="en"),
    Column("created", Float, nullable=False),
    Column("disabled", Boolean, nullable=False, server_default="0"),
    # Two-step sign-in (TOTP, RFC 6238): the shared secret, and the last time step used, so
    # that a code seen over a shoulder cannot be used a second time.
    Column("totp_secret", String(64)),
    Column("totp_last_step", Integer),
    CheckConstraint(_role_check, name="role"),
)

sessions = Table(
    "admin_sessions", metadata,
    Column("id", Integer, primary_key=True),
    # SHA-256 of the cookie value: a copy of the database does not give a usable cookie.
    Column("token_hash", String(64), nullable=False, unique=True),
    # NULL before sign-in: the session then only carries the sign-in form's CSRF token.
    Column("account_id", Integer, ForeignKey("admin_accounts.id", ondelete="CASCADE")),
    Column("csrf", String(64), nullable=False),
    Column("address", String(64), nullable=False, server_default=""),
    Column("created", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("expires", Float, nullable=False),
)
Index("ix_admin_sessions_expires", sessions.c.expires)

sign_in_failures = Table(
    "admin_sign_in_failures", metadata,
    Column("id", Integer, primary_key=True),
    Column("address", String(64), nullable=False),
    Column("ts", Float, nullable=False),
)
Index("ix_admin_sign_in_failures_address_ts", sign_in_failures.c.address, sign_in_failures.c.ts)

audit_log = Table(
    "admin_audit_log", metadata,
    Column("id", Integer, primary_key=True),
    Column("ts", Float, nullable=False),
    Column("account_id", Integer),  # no foreign key: the record outlives the account
    Column("username", String(64), nullable=False, server_default=""),
    Column("address", String(64), nullable=False, server_default=""),
    Column("action", String(64), nullable=False),
    Column("target", Text, nullable=False, server_default=""),
    Column("detail", Text, nullable=False, server_default="{}"),
)
Index("ix_admin_audit_log_ts", audit_log.c.ts)

settings = Table(
    "admin_settings", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# -- reporting: reports to hotlines, access requests, approvals, alerts, used link tokens -----
# Index names are those of the SQLite schema kidgate created before these tables moved here,
# so that migration 0003 can adopt an existing database as it is.

_request_status = "status IN ('pending', 'approved', 'denied')"
_alert_status = ("status IN ('pending', 'sent', 'failed', 'suppressed', 'queued', 'digesting', "
                 "'digested')")

reports = Table(
    "reports", metadata,
    Column("id", Integer, primary_key=True),
    Column("created", Float, nullable=False),
    Column("url", Text, nullable=False),
    Column("category", Text),
    Column("profile", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("hotline_country", Text),
    Column("hotline_name", Text, nullable=False, server_default=""),
)
Index("reports_profile_time", reports.c.profile, reports.c.created)

access_requests = Table(
    "access_requests", metadata,
    Column("id", Integer, primary_key=True),
    Column("created", Float, nullable=False),
    Column("profile", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("host", Text, nullable=False),
    Column("category", Text),
    Column("reason", Text, nullable=False, server_default=""),
    Column("message", Text, nullable=False, server_default=""),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("decided_by", Text),
    Column("decided_at", Float),
    Column("expires", Float),
    Column("scope", Text),
    CheckConstraint(_request_status, name="status"),
    CheckConstraint("scope IS NULL OR scope IN ('url', 'host')", name="scope"),
)
Index("access_requests_status", access_requests.c.status, access_requests.c.created)

approvals = Table(
    "approvals", metadata,
    Column("id", Integer, primary_key=True),
    Column("request_id", Integer, ForeignKey("access_requests.id")),
    Column("created", Float, nullable=False),
    Column("profile", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("expires", Float),
    Column("approved_by", Text, nullable=False),
    Column("revoked", Integer, nullable=False, server_default="0"),
    CheckConstraint("scope IN ('url', 'host')", name="scope"),
)
Index("approvals_profile", approvals.c.profile, approvals.c.revoked)

#: One row (id 1) whose ``version`` every change to ``approvals`` increments in the same
#: transaction: a proxy polls this one number and reloads its approvals only when it moved,
#: on SQLite and on a server shared by several proxies alike.
approval_changes = Table(
    "approval_changes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
)

alert_log = Table(
    "alert_log", metadata,
    Column("id", Integer, primary_key=True),
    Column("created", Float, nullable=False),
    Column("rule", Text, nullable=False),
    Column("rate_key", Text, nullable=False),
    Column("profile", Text, nullable=False),
    Column("category", Text),
    Column("url", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("event_time", Float, nullable=False),
    Column("status", Text, nullable=False),
    Column("channel", Text, nullable=False, server_default=""),
    Column("error", Text, nullable=False, server_default=""),
    CheckConstraint(_alert_status, name="status"),
)
Index("alert_log_key", alert_log.c.rate_key, alert_log.c.status, alert_log.c.created)

used_tokens = Table(
    "used_tokens", metadata,
    Column("nonce", Text, primary_key=True),
    Column("expires", Float, nullable=False),
)

# -- the decision log as rows (``database.decisions: database`` or ``both``) ------------------
# The same fields as a line of decisions.jsonl: addresses and verdicts, never page content;
# hotline (csam) hosts are already hashed when the record is made. ``proxy`` names the machine
# that decided, so that a school's event log can tell its proxies apart.

decisions = Table(
    "decisions", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("ts", Float, nullable=False),
    Column("proxy", String(128), nullable=False, server_default=""),
    Column("client", Text, nullable=False),
    Column("profile", Text, nullable=False),
    Column("host", Text, nullable=False),
    Column("phase", String(16), nullable=False),
    Column("method", String(16), nullable=False, server_default=""),
    Column("action", String(8), nullable=False),
    Column("category", Text),
    Column("min_age", Integer),
    Column("sources", Text, nullable=False, server_default="[]"),  # JSON list
    Column("reasons", Text, nullable=False, server_default="[]"),  # JSON list
)
Index("ix_decisions_ts", decisions.c.ts)
