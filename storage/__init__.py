"""kidgate's database: SQLAlchemy Core tables, Alembic migrations, SQLite or PostgreSQL.

A home gateway needs nothing to set up, so the default is one SQLite file in the data directory
(``kidgate.db``, in WAL mode so that the proxy's workers, the admin app and the command line read
while one of them writes). A school with several proxies points them all at one PostgreSQL
server with ``database: {url: postgresql+psycopg://...}`` in the configuration, so accounts,
the audit log, access requests, approvals, reports and the decision log (``decisions.py``) are
shared. The schema is only ever changed by the migrations in
``storage/migrations``; :meth:`Database.upgrade` applies them at start.

Only addresses and metadata are stored, never page content.
"""

from __future__ import annotations

from storage.db import DEFAULT_DB_NAME, Database, DatabaseError, default_url
from storage.tables import ROLES, metadata

__all__ = ["DEFAULT_DB_NAME", "ROLES", "Database", "DatabaseError", "default_url", "metadata"]
