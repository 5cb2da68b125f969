"""Pause the internet, give extra time, switch services off: a parent's "right now" controls.

Each change is written into the profile's entry in the configuration file (atomically, checked
by the loader, as every other edit), not kept in the database: the proxy already applies the
file within seconds, ``kidgate check`` and the parent reading the file see the same state, it
survives a restart, and an ended pause needs no clean-up job, since the core compares ``until``
with the clock on every request. Teachers may use these controls for their own profiles.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

import pages
from admin import audit, configedit, i18n
from admin.app import require_role
from admin.i18n import FormErrors, N_
from policies.categories import ALWAYS_BLOCKED, CATEGORIES, CHILD_ALWAYS_BLOCKED
from policies.core import Profile, format_until
from policies.services import catalogue

bp = Blueprint("parental", __name__)

CONTROLLERS = ("owner", "parent", "teacher")
#: How long a pause or extra time lasts, besides "until a time of day".
LENGTHS: dict[str, dt.timedelta] = {"15m": dt.timedelta(minutes=15), "1h": dt.timedelta(hours=1),
                                    "2h": dt.timedelta(hours=2)}
EXTRA_CATEGORIES = tuple(c for c in CATEGORIES
                         if c not in ALWAYS_BLOCKED and c not in CHILD_ALWAYS_BLOCKED)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _profile(name: str) -> Profile:
    """The profile, if this account may control it (a teacher: only those assigned)."""
    account = require_role(*CONTROLLERS)
    if g.ctx.config_path is None:
        abort(404)
    profile = g.ctx.config().profiles.get(name)
    if profile is None:
        abort(404)
    if account.role == "teacher" and name not in account.profiles:
        abort(403, i18n.translate(g.lang, "You may not do this."))
    return profile


def until_from_form(length: str, clock: str, zone: ZoneInfo, now: dt.datetime) -> dt.datetime:
    """The end chosen in the form: a length from now, or the next time the profile's clock
    shows ``clock`` (later today, else tomorrow). ``ValueError`` with a message otherwise."""
    if length in LENGTHS:
        return (now + LENGTHS[length]).astimezone(zone)
    if length != "until":
        raise ValueError(N_("Choose one of {lengths} or a time."))
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", clock.strip())
    if not m:
        raise ValueError(N_("Write a time of day such as 20:00."))
    local = now.astimezone(zone)
    end = dt.datetime.combine(local.date(), dt.time(int(m[1]), int(m[2])), zone)
    if end <= local:
        end = dt.datetime.combine(local.date() + dt.timedelta(days=1), end.time(), zone)
    # A wall-clock time that a daylight-saving change skips is taken after the change.
    return end.astimezone(dt.timezone.utc).astimezone(zone)


def _message(e: ValueError) -> str:
    return i18n.translate(g.lang, str(e), lengths=", ".join(LENGTHS))


def _page(profile: Profile, errors: FormErrors | None = None,
          form: dict[str, str] | None = None, status: int = 200) -> Any:
    now = _now()
    local = now.astimezone(ZoneInfo(profile.timezone))
    pause = profile.pause if profile.pause and profile.pause.active(now) else None
    extra = [(", ".join(sorted(pages.category_name(g.lang, c) for c in x.categories))
              or i18n.translate(g.lang, "the whole internet"),
              format_until(x.until, local)) for x in profile.extra_time if x.active(now)]
    blocked = {s.id for s in profile.services.services}
    return render_template(
        "profile_controls.html", profile=profile, errors=errors or {},
        form={"length": "1h", "until": "", "what": "all", **(form or {})},
        pause_until=format_until(pause.until, local) if pause else None, extra=extra,
        services=sorted(catalogue().values(), key=lambda s: s.name.lower()), blocked=blocked,
        scheduled=bool(profile.services.schedules), lengths=tuple(LENGTHS),
        categories=EXTRA_CATEGORIES, done=request.args.get("done")), status


def _write(profile: Profile, action: str, detail: dict[str, Any], change: Any,
           form: dict[str, str], field: str = "_form") -> Any:
    """Make the change, audit it and go back to the page; an error changes nothing."""
    account = g.account
    try:
        change()
    except configedit.EditError as e:
        return _page(profile, {field: e.shown}, form, 400)
    audit.record(g.ctx.db, account=account, address=g.address, action=action,
                 target=profile.name, detail=detail)
    return redirect(url_for("parental.controls", name=profile.name, done=action))


@bp.route("/profiles/<name>/controls")
def controls(name: str) -> Any:
    return _page(_profile(name))


def _by() -> str:
    return f"{g.account.username} (admin app)"


@bp.route("/profiles/<name>/pause", methods=["POST"])
def pause(name: str) -> Any:
    profile = _profile(name)
    form = {k: request.form.get(k, "")[:20] for k in ("length", "until")}
    now = _now()
    try:
        until = until_from_form(form["length"], form["until"], ZoneInfo(profile.timezone), now)
    except ValueError as e:
        return _page(profile, {"pause": _message(e)}, form, 400)
    path = g.ctx.config_path
    return _write(profile, "pause", {"until": until.isoformat(timespec="seconds")},
                  lambda: configedit.set_pause(path, name, until, _by(), now), form, "pause")


@bp.route("/profiles/<name>/pause/end", methods=["POST"])
def end_pause(name: str) -> Any:
    profile = _profile(name)
    path = g.ctx.config_path
    return _write(profile, "end pause", {}, lambda: configedit.end_pause(path, name, _now()), {})


@bp.route("/profiles/<name>/extra", methods=["POST"])
def extra(name: str) -> Any:
    profile = _profile(name)
    form = {k: request.form.get(k, "")[:40] for k in ("length", "until", "what")}
    now = _now()
    errors = {}
    if form["what"] != "all" and form["what"] not in EXTRA_CATEGORIES:
        errors["extra"] = i18n.translate(g.lang, "Choose the whole internet or a category.")
    try:
        until = until_from_form(form["length"], form["until"], ZoneInfo(profile.timezone), now)
    except ValueError as e:
        errors["extra"] = _message(e)
    if errors:
        return _page(profile, errors, form, 400)
    cats = [] if form["what"] == "all" else [form["what"]]
    path = g.ctx.config_path
    return _write(profile, "extra time",
                  {"until": until.isoformat(timespec="seconds"), "categories": cats},
                  lambda: configedit.add_extra_time(path, name, until, cats, _by(), now),
                  form, "extra")


@bp.route("/profiles/<name>/extra/end", methods=["POST"])
def end_extra(name: str) -> Any:
    profile = _profile(name)
    path = g.ctx.config_path
    return _write(profile, "end extra time", {},
                  lambda: configedit.end_extra_time(path, name, _now()), {})


@bp.route("/profiles/<name>/services", methods=["POST"])
def services(name: str) -> Any:
    profile = _profile(name)
    known = catalogue()
    chosen = [s for s in request.form.getlist("service") if s]
    unknown = [s for s in chosen if s not in known]
    if unknown:
        return _page(profile, {"services": i18n.translate(
            g.lang, "Unknown service: {name}", name=unknown[0][:40])}, None, 400)
    chosen = sorted(set(chosen), key=list(known).index)
    path = g.ctx.config_path
    return _write(profile, "blocked services", {"block": chosen},
                  lambda: configedit.set_services(path, name, chosen), {}, "services")
