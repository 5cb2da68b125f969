"""Groups: rules shared by many devices (a class, a year, the whole school), in a form.

A device is in the groups its entry names and in every group whose networks hold its address;
the most specific layer decides (README, "Groups"). Networks and always-allowed / always-blocked
sites are edited here; category ages and schedules of a group stay in the file. Every change is
checked by the loader, with its messages, before anything is written.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from admin import audit, configedit
from admin.app import require_role
from admin.i18n import FormErrors, Message, N_

bp = Blueprint("groups", __name__)

EDITORS = ("owner", "parent")
LISTS = ("networks", "allow", "deny")
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _editable() -> None:
    require_role(*EDITORS)
    if g.ctx.config_path is None:
        abort(404)


@bp.route("/groups")
def index() -> Any:
    _editable()
    return _index()


def _index(error: str | Message | None = None, status: int = 200) -> Any:
    cfg = g.ctx.config()
    members = {name: sum(name in d.groups for d in cfg.devices) for name in cfg.groups}
    return render_template("groups.html", groups=configedit.read_groups(g.ctx.config_path),
                           members=members, done=request.args.get("done"),
                           error=error), status


def _lines(text: str) -> list[str] | None:
    items = [line.strip() for line in text.splitlines() if line.strip()]
    return items or None


def _field_of(err: configedit.EditError, name: str) -> str:
    m = re.match(rf"groups\.{re.escape(name)}\.(\w+)", err.key)
    return m.group(1) if m and m.group(1) in LISTS else "_form"


@bp.route("/groups/<name>", methods=["GET", "POST"])
def edit(name: str) -> Any:
    _editable()
    create = name == "new"
    groups = configedit.read_groups(g.ctx.config_path)
    if not create and name not in groups:
        abort(404)
    raw = {} if create else groups[name]
    form = {"name": "" if create else name,
            **{k: "\n".join(str(x) for x in raw.get(k) or []) for k in LISTS}}
    errors: FormErrors = {}
    if request.method == "POST":
        form = {k: request.form.get(k, "")[:20_000] for k in ("name", *LISTS)}
        target = form["name"].strip() if create else name
        if create and not NAME.fullmatch(target):
            errors["name"] = N_("Use letters, digits, '_', '-' and '.' only, such as class-5b.")
        else:
            values = {k: _lines(form[k]) for k in LISTS}
            try:
                configedit.update_group(g.ctx.config_path, target, values, create=create)
            except configedit.EditError as e:
                field = "name" if create and e.key == f"groups.{target}" else _field_of(e, target)
                errors[field] = e.detail if field != "_form" else e.shown
            else:
                audit.record(g.ctx.db, account=g.account, address=g.address,
                             action="new group" if create else "edit group", target=target,
                             detail=values)
                return redirect(url_for("groups.index", done=target))
    return render_template("group_edit.html", create=create, name=name, form=form,
                           errors=errors), 400 if errors else 200


@bp.route("/groups/<name>/remove", methods=["POST"])
def remove(name: str) -> Any:
    _editable()
    try:
        configedit.remove_group(g.ctx.config_path, name)
    except configedit.EditError as e:
        return _index(e.shown, 409)
    audit.record(g.ctx.db, account=g.account, address=g.address, action="remove group",
                 target=name, detail={})
    return redirect(url_for("groups.index"))
