"""Access requests (approve, deny, revoke, as ``kidgate requests`` does) and hotline reports.

Everything goes through :mod:`reporting.access`, the functions the command line and the
parent's one-click links use, so the rules (durations, scopes, what can never be approved)
are the same wherever an adult decides.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from admin import audit, i18n
from admin.app import require_role
from admin.i18n import N_
from reporting import access
from reporting.urls import BadURL

bp = Blueprint("requests", __name__)

DECIDERS = ("owner", "parent", "teacher")
REPORT_READERS = ("owner", "parent", "safeguarding")


def _visible(profile: str) -> bool:
    account = g.account
    return account.role != "teacher" or profile in account.profiles


#: What the admin app and ``reporting.access`` add to the name of who answered a request; the
#: answer is stored in English (the CLI prints it) and shown in the reader's words.
VIA_ADMIN_APP, REVOKED = " (admin app)", " (revoked)"


def answer_words(lang: str | None, status: str, decided_by: str | None) -> str:
    """An answered request's status and who gave it, in ``lang``: "approved by mama in the
    admin app"; a revoked approval (stored as denied, marked on its author) says revoked."""
    who = decided_by or ""
    if who.endswith(REVOKED):
        status, who = "revoked", who.removesuffix(REVOKED)
    words = i18n.Message({"approved": N_("approved"), "denied": N_("denied"),
                          "revoked": N_("revoked")}.get(status, status))
    if not who:
        return i18n.show(lang, words)
    if who.endswith(VIA_ADMIN_APP):
        who = i18n.Message(N_("{name} in the admin app"), name=who.removesuffix(VIA_ADMIN_APP))
    return i18n.show(lang, N_("{status} by {who}"), status=words, who=who)


@bp.route("/requests")
def index() -> Any:
    require_role(*DECIDERS, "safeguarding")
    return _page({}, {})


def _page(errors: i18n.FormErrors, form: dict[str, str]) -> Any:
    account = g.account
    store = g.ctx.reporting_store()
    pending, answered = [], []
    if account.role in DECIDERS:
        pending = [r for r in access.list_requests(store, "pending") if _visible(r.profile)]
        answered = [r for r in access.list_requests(store, None, limit=100)
                    if r.status != "pending" and _visible(r.profile)][:50]
    reports = store.list_reports(100) if account.role in REPORT_READERS else []
    profiles = [p for p in sorted(g.ctx.config().profiles) if _visible(p)]
    return render_template("requests.html", pending=pending, answered=answered,
                           reports=reports, durations=tuple(access.DURATIONS),
                           answer=lambda r: answer_words(g.lang, r.status, r.decided_by),
                           done=_done_notice(), profiles=profiles, errors=errors,
                           form={"profile": "", "site": "", "duration": "1h", "scope": "host",
                                 **form}), 400 if errors else 200


@bp.route("/requests/unblock", methods=["POST"])
def unblock() -> Any:
    """A time-limited unblock without a child's request (a teacher for a lesson, a parent
    for an evening): recorded as a request answered at once, so it shows, expires and is
    revoked like any other approval."""
    account = require_role(*DECIDERS)
    form = {k: request.form.get(k, "").strip()[:2000]
            for k in ("profile", "site", "duration", "scope")}
    errors: i18n.FormErrors = {}
    if form["profile"] not in g.ctx.config().profiles or not _visible(form["profile"]):
        errors["profile"] = N_("Choose one of your profiles.")
    url = form["site"] if "://" in form["site"] else f"http://{form['site']}/"
    try:
        access.check_url(url)
        if "://" not in form["site"] and \
                (urlsplit(url).hostname or "").rstrip(".") != form["site"].lower().rstrip("."):
            raise BadURL(N_("not a site name"))
    except BadURL as e:
        errors["site"] = i18n.Message(
            N_("“{site}” is not a site or page address ({why}). Write a site like "
               "school.example or a page address."),
            site=form["site"], why=i18n.Message(e.text, **e.values))
    if not form["site"]:
        errors["site"] = N_("Write a site like school.example or a page address.")
    if form["duration"] not in access.DURATIONS:
        errors["duration"] = i18n.Message(N_("“{duration}” is not a duration: choose one of "
                                             "{durations}."), duration=form["duration"],
                                          durations=tuple(i18n.Message(d)
                                                          for d in access.DURATIONS))
    if form["scope"] not in ("url", "host"):
        errors["scope"] = N_("Choose this page or the whole site.")
    if errors:
        return _page(errors, form)
    store = g.ctx.reporting_store()
    by = account.username + VIA_ADMIN_APP
    try:
        req = access.request_access(store, profile=form["profile"], url=url, category=None,
                                    reason="unblocked in the admin app", message=by)
        approval = access.approve(store, req.id, form["duration"], by,
                                  scope=form["scope"])  # type: ignore[arg-type]
    except ValueError as e:
        return _page({"site": i18n.Message(str(e))}, form)  # translated when marked below
    audit.record(g.ctx.db, account=account, address=g.address, action="unblock",
                 target=f"{form['profile']}: {approval.target}",
                 detail={"duration": form["duration"], "scope": form["scope"]})
    return redirect(url_for("requests.index", done="approve", id=req.id))


#: Refusals of ``reporting.access`` a form here can meet, marked for the catalogue (the package
#: raises them in English for the CLI); ``tests/admin`` checks each is still one it raises.
ACCESS_TEXTS = (N_("too many requests are waiting for an answer"),)

_DONE = {"approve": N_("Request #{id} approved."), "deny": N_("Request #{id} denied."),
         "revoke": N_("Request #{id} revoked: the page is blocked again within a second.")}


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
    by = account.username + VIA_ADMIN_APP
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
    except access.AlreadyAnswered as e:  # another adult, a link or the CLI answered first
        message = i18n.show(g.lang, N_("Nothing was changed: {error}"), error=i18n.Message(
            N_("request #{id} is already {status}"), id=request_id,
            status=i18n.Message(e.status)))
        return render_template("notice.html", message=message,
                               back=url_for("requests.index")), 400
    except (KeyError, ValueError) as e:
        message = i18n.show(g.lang, N_("Nothing was changed: {error}"),
                            error=i18n.Message(str(e.args[0] if e.args else e)))
        return render_template("notice.html", message=message,
                               back=url_for("requests.index")), 400
    audit.record(g.ctx.db, account=account, address=g.address, action=f"{decision} request",
                 target=f"#{request_id} {req.profile}: {req.url}", detail=detail)
    return redirect(url_for("requests.index", done=decision, id=request_id))
