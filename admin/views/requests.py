"""Access requests (approve, deny, revoke, as ``kidgate requests`` does) and hotline reports.

Everything goes through :mod:`reporting.access`, the functions the command line and the
parent's one-click links use, so the rules (durations, scopes, what can never be approved)
are the same wherever an adult decides.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from admin import audit, i18n
from admin.app import require_role
from reporting import access

bp = Blueprint("requests", __name__)

DECIDERS = ("owner", "parent", "teacher")
REPORT_READERS = ("owner", "parent", "safeguarding")


def _visible(profile: str) -> bool:
    account = g.account
    return account.role != "teacher" or profile in account.profiles


@bp.route("/requests")
def index() -> Any:
    account = require_role(*DECIDERS, "safeguarding")
    store = g.ctx.reporting_store()
    pending, answered = [], []
    if account.role in DECIDERS:
        pending = [r for r in access.list_requests(store, "pending") if _visible(r.profile)]
        answered = [r for r in access.list_requests(store, None, limit=100)
                    if r.status != "pending" and _visible(r.profile)][:50]
    reports = store.list_reports(100) if account.role in REPORT_READERS else []
    return render_template("requests.html", pending=pending, answered=answered,
                           reports=reports, durations=tuple(access.DURATIONS),
                           done=_done_notice())


_DONE = {"approve": "Request #{id} approved.", "deny": "Request #{id} denied.",
         "revoke": "Request #{id} revoked: the page is blocked again within a second."}


def _done_notice() -> str | None:
    done, rid = request.args.get("done", ""), request.args.get("id", "")
    if done not in _DONE or not rid.isdigit():
        return None
    return i18n.translate(g.lang, _DONE[done], id=rid)


@bp.route("/requests/<int:request_id>/<any(approve, deny, revoke):decision>",
          methods=["POST"])
def decide(request_id: int, decision: str) -> Any:
    account = require_role(*DECIDERS)
    store = g.ctx.reporting_store()
    try:
        req = access.get_request(store, request_id)
    except KeyError:
        abort(404)
    if not _visible(req.profile):
        abort(403, i18n.translate(g.lang, "You may not do this."))
    by = f"{account.username} (admin app)"
    duration = request.form.get("duration", "1h")
    scope = request.form.get("scope", "url")
    try:
        if decision == "approve":
            approval = access.approve(store, request_id, duration, by,
                                      scope=scope)  # type: ignore[arg-type]
            detail = {"duration": duration, "scope": scope, "target": approval.target}
        elif decision == "deny":
            access.deny(store, request_id, by)
            detail = {}
        else:
            access.revoke_request(store, request_id, by)
            detail = {}
    except (KeyError, ValueError) as e:  # AlreadyAnswered is a ValueError
        message = i18n.translate(g.lang, "Nothing was changed: {error}",
                                 error=e.args[0] if e.args else str(e))
        return render_template("notice.html", message=message,
                               back=url_for("requests.index")), 400
    audit.record(g.ctx.db, account=account, address=g.address, action=f"{decision} request",
                 target=f"#{request_id} {req.profile}: {req.url}", detail=detail)
    return redirect(url_for("requests.index", done=decision, id=request_id))
