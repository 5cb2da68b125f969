"""The dashboard: the figures of ``kidgate stats`` for a period, as SVG charts and tables."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for

from admin import charts
from admin.app import require_role
from admin.i18n import N_
from kidgate import stats

bp = Blueprint("dashboard", __name__)

PERIODS = {"24h": N_("Last 24 hours"), "7d": N_("Last 7 days"), "30d": N_("Last 30 days")}


def summary_for(period: str, profiles: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The ``kidgate-stats/1`` summary, computed by :func:`kidgate.stats.collect` itself, for
    ``profiles`` (None: every profile; empty: none, the figures of nothing)."""
    now = time.time()
    since = stats.parse_time(period, now=now, tz=g.ctx.tz)
    nothing = profiles is not None and not profiles
    source = [] if nothing else stats.log_source(g.ctx.data_dir, g.ctx.db)
    return stats.collect(source, since=since, profiles=profiles or (), tz=g.ctx.tz, now=now)


@bp.route("/")
def index() -> Any:
    account = require_role("owner", "parent", "teacher", "safeguarding")
    if account.role == "safeguarding":
        # The figures cover all browsing; a safeguarding lead's view is the harm events.
        return redirect(url_for("events.index"))
    period = request.args.get("period", "7d")
    if period not in PERIODS:
        period = "7d"
    # A teacher sees their classes only (none at all without one).
    summary = summary_for(period, account.profiles if account.role == "teacher" else None)
    from reporting import access
    pending = [r for r in access.list_requests(g.ctx.reporting_store(), "pending")
               if account.role != "teacher" or r.profile in account.profiles]
    return render_template("dashboard.html", summary=summary, pending=len(pending),
                           charts=charts.dashboard(summary, g.lang), period=period, periods=PERIODS,
                           hotline_entry=stats.HOTLINE_ENTRY)
