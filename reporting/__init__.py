"""Reporting to hotlines, asking for access, and safeguarding alerts.

Served on the proxy's internal host (``kidgate.internal``); state lives in one SQLite file.
"""

INTERNAL_HOST = "kidgate.internal"
INTERNAL_ORIGIN = f"http://{INTERNAL_HOST}"
