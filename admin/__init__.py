"""kidgate's admin web app: sign-in, dashboard, event log, and the fixes a parent makes from it.

A package of its own because it is an application with its own users, sessions and database
tables, served on its own port by ``kidgate run``; the filter neither imports nor waits for it.
It reads what the proxy writes (the decision log, through ``kidgate stats``'s reader) and
changes the proxy only through the configuration file, which the proxy re-reads.
"""

from __future__ import annotations

from admin.app import AdminContext, create_app

__all__ = ["AdminContext", "create_app"]
