"""Schedules: bedtime, homework and school hours for a profile, in a form.

Each window blocks the whole internet, or only the chosen categories, on the chosen days from
its start to its end; one that ends earlier than it starts crosses midnight (21:00 to 07:00).
The entry goes into the profile's ``schedules`` in the configuration file, checked by the same
loader and with the same messages as at start-up (see :mod:`admin.configedit`). Timetables of
lesson periods and term calendars stay in the file, where a school writes them once.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from admin import audit, configedit
from admin.app import require_role
from admin.i18n import FormErrors, N_
from policies.categories import CATEGORIES
from policies.config import DAYS

bp = Blueprint("schedules", __name__)

EDITORS = ("owner", "parent")
FIELDS = ("name", "start", "end")
#: csam and malware are blocked at every hour for everyone: a window adds nothing to them.
SCHEDULABLE = tuple(c for c in CATEGORIES if c not in ("csam", "malware"))


def _editable(name: str) -> None:
    require_role(*EDITORS)
    if g.ctx.config_path is None or name not in g.ctx.config().profiles:
        abort(404)


def _page(name: str, form: dict[str, Any], errors: FormErrors, status: int = 200) -> Any:
    return render_template("schedules.html", name=name, form=form, errors=errors,
                           schedules=configedit.read_schedules(g.ctx.config_path, name),
                           days=tuple(DAYS), categories=SCHEDULABLE,
                           done=request.args.get("done")), status


def _blank() -> dict[str, Any]:
    return {"name": "", "start": "", "end": "", "days": list(DAYS), "categories": []}


@bp.route("/profiles/<name>/schedules")
def index(name: str) -> Any:
    _editable(name)
    return _page(name, _blank(), {})


def _field_of(err: configedit.EditError, name: str) -> str:
    """``profiles.anna.schedules[2].start`` → start; anything else about the entry → form."""
    m = re.match(rf"profiles\.{re.escape(name)}\.schedules\[\d+\]\.(\w+)", err.key)
    field = m.group(1) if m else ""
    return field if field in (*FIELDS, "days", "categories") else "_form"


@bp.route("/profiles/<name>/schedules", methods=["POST"])
def add(name: str) -> Any:
    _editable(name)
    form: dict[str, Any] = {k: request.form.get(k, "").strip()[:100] for k in FIELDS}
    form["days"] = [d for d in request.form.getlist("days") if d in DAYS]
    form["categories"] = [c for c in request.form.getlist("categories") if c in SCHEDULABLE]
    errors: FormErrors = {}
    if not form["name"]:
        errors["name"] = N_("Give the schedule a name, such as bedtime.")
    if not form["days"]:
        errors["days"] = N_("Choose at least one day.")
    for key in ("start", "end"):
        if not re.fullmatch(r"\d{1,2}:\d{2}", form[key]):
            errors[key] = N_("Write a time of day such as 20:00.")
    if errors:
        return _page(name, form, errors, 400)
    try:
        configedit.add_schedule(g.ctx.config_path, name, name=form["name"], days=form["days"],
                                start=form["start"], end=form["end"],
                                categories=form["categories"])
    except configedit.EditError as e:
        field = _field_of(e, name)
        return _page(name, form, {field: e.detail if field != "_form" else e.shown}, 400)
    audit.record(g.ctx.db, account=g.account, address=g.address, action="add schedule",
                 target=f"{name}: {form['name']}", detail=form)
    return redirect(url_for("schedules.index", name=name, done="saved"))


@bp.route("/profiles/<name>/schedules/remove", methods=["POST"])
def remove(name: str) -> Any:
    _editable(name)
    index, title = request.form.get("index", ""), request.form.get("schedule", "")
    if not index.isdigit():
        abort(400)
    try:
        configedit.remove_schedule(g.ctx.config_path, name, int(index), title)
    except configedit.EditError as e:
        return _page(name, _blank(), {"_form": e.shown}, 409)
    audit.record(g.ctx.db, account=g.account, address=g.address, action="remove schedule",
                 target=f"{name}: {title}", detail={})
    return redirect(url_for("schedules.index", name=name, done="removed"))
