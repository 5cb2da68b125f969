"""The event log: filters, pages, CSV export, and "this was wrong"."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, g, redirect, render_template, request, url_for

from admin import audit, configedit, events, i18n
from admin.app import require_role
from admin.i18n import N_
from kidgate import stats
from policies.categories import CATEGORIES

bp = Blueprint("events", __name__)

VIEWERS = ("owner", "parent", "teacher", "safeguarding")
#: Who may change the configuration from the log (teachers unblock per lesson instead).
EDITORS = ("owner", "parent")


def _filters() -> events.Filters:
    account = require_role(*VIEWERS)
    f = events.Filters.parse(request.args, now=time.time(), tz=g.ctx.tz)
    if account.role == "teacher":
        f.only_profiles = account.profiles
    if account.role == "safeguarding":
        f.only_categories = events.SAFEGUARDING_CATEGORIES
    return f


@bp.route("/events")
def index() -> Any:
    f = _filters()
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        number = 1
    result = events.page(g.ctx.data_dir, f, number, g.ctx.db) if not f.errors else \
        events.Page([], 1, 0)
    cfg = g.ctx.config()
    args = {k: v for k, v in f.raw.items() if v}
    live = request.args.get("live") == "1"
    if live:
        args["live"] = "1"
    return render_template(
        "events.html", page=result, f=f, args=args, categories=(*CATEGORIES, stats.UNCATEGORISED),
        sources=stats.SOURCES, profiles=sorted(cfg.profiles),
        can_edit=g.account.role in EDITORS and g.ctx.config_path is not None,
        notice=_notice(), tz=g.ctx.tz, live=live and result.number == 1), 400 if f.errors else 200


@bp.route("/events.csv")
def export() -> Any:
    f = _filters()
    if f.errors:
        return redirect(url_for("events.index", **f.raw))
    audit.record(g.ctx.db, account=g.account, address=g.address, action="export events",
                 detail={k: v for k, v in f.raw.items() if v})
    return Response(events.csv_rows(g.ctx.data_dir, f, g.ctx.tz, g.ctx.db), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="kidgate-events.csv"'})


@bp.route("/events/wrong", methods=["POST"])
def wrong() -> Any:
    """A wrong decision: a block becomes an allow entry, an allow a deny entry, for the
    profile the decision was made for."""
    account = require_role(*EDITORS)
    profile = request.form.get("profile", "")
    host = request.form.get("host", "")
    was = request.form.get("action", "")
    everyone = request.form.get("scope") == "everyone"
    back = {k: v for k, v in request.form.items() if k.startswith("f_") and v}
    back = {k[2:]: v for k, v in back.items()}
    error: i18n.Message | str | None
    if was not in events.ACTIONS or host == stats.HOTLINE_ENTRY or not host:
        error = i18n.Message(N_("this decision cannot be changed from the log"))
    elif g.ctx.config_path is None:
        error = i18n.Message(N_("kidgate runs on its shipped default configuration; start it "
                                "with --config FILE to change profiles"))
    else:
        error = None
        try:
            names = sorted(g.ctx.config().profiles) if everyone else profile
            configedit.add_site_entry(g.ctx.config_path, names, host, allow=was == "block")
        except configedit.EditError as e:
            error = e.shown
    if error:
        notice = i18n.show(g.lang, N_("Nothing was changed: {error}"), error=error)
        return render_template("notice.html", message=notice,
                               back=url_for("events.index", **back)), 400
    audit.record(g.ctx.db, account=account, address=g.address,
                 action="allow site" if was == "block" else "deny site",
                 target=f"{'everyone' if everyone else profile}: {host}",
                 detail={"profile": profile, "host": host, "was": was, "everyone": everyone})
    return redirect(url_for("events.index", done="allow" if was == "block" else "deny",
                            site=host, profile_done="*" if everyone else profile, **back))


def _notice() -> str | None:
    """The sentence after a fix, built from fixed texts (a link cannot make it say more)."""
    done, site, profile = (request.args.get(k, "")[:253] for k in ("done", "site", "profile_done"))
    if done not in ("allow", "deny") or not site:
        return None
    text = (N_("Done: {host} is now allowed for {profile}; the proxy applies it within seconds.")
            if done == "allow" else
            N_("Done: {host} is now blocked for {profile}; the proxy applies it within seconds."))
    who = i18n.translate(g.lang, "every profile") if profile == "*" else profile
    return i18n.translate(g.lang, text, host=site, profile=who)
