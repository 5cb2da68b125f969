"""Profiles: edit a child's settings in a form checked by the configuration loader itself.

The form shows what the file says (an empty choice means "kidgate's default", which may
depend on the age). Only fields that differ from the file are written, so an edit changes as
little of the parent's file as it can. An invalid value is reported by the loader, with its
own message, next to the field it concerns, and the file is left as it was.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from admin import audit, configedit
from admin.app import require_role
from admin.i18n import FormErrors, N_
from policies.config import LANGUAGES, SAFE_LEVELS

bp = Blueprint("profiles", __name__)

EDITORS = ("owner", "parent")
CHOICES: dict[str, tuple[str, ...]] = {"language": LANGUAGES, "safe_search": SAFE_LEVELS,
                                       "youtube": SAFE_LEVELS, "fail_safe": ("block", "allow")}
LABELS = {"language": "Language", "safe_search": "Safe search",
          "youtube": N_("YouTube restricted mode"), "fail_safe": N_("When a detector fails")}
#: Each choice's words (the file keeps the key): a language by its own name, as on the
#: accounts page; the others translated where they are shown.
CHOICE_WORDS: dict[str, str] = {
    "en": "English", "ro": "Română",
    "strict": N_("strict"), "moderate": N_("moderate"), "off": N_("off"),
    "block": N_("block the page"), "allow": N_("let the page through"),
}
LISTS = ("allow", "deny")
FIELDS = ("age", *CHOICES, *LISTS)


@bp.route("/profiles")
def index() -> Any:
    """Every profile for owners and parents; a teacher sees only theirs (to pause them)."""
    account = require_role(*EDITORS, "teacher")
    cfg = g.ctx.config()
    shown = [p for p in cfg.profiles.values()
             if account.role != "teacher" or p.name in account.profiles]
    return render_template("profiles.html", profiles=shown, can_edit=account.role in EDITORS,
                           words=CHOICE_WORDS,
                           editable=g.ctx.config_path is not None, done=request.args.get("saved"))


def _form_from_file(raw: dict[str, Any]) -> dict[str, str]:
    form = {"age": str(raw.get("age", ""))}
    for key in CHOICES:
        v = raw.get(key)
        form[key] = ("on" if v else "off") if isinstance(v, bool) else str(v or "")
    for key in LISTS:
        v = raw.get(key) or []
        form[key] = "\n".join(str(x) for x in v) if isinstance(v, list) else str(v)
    return form


def _value(key: str, text: str) -> Any:
    """The form's text as the value the YAML file would hold (the loader judges it)."""
    text = text.strip()
    if key == "age":
        return int(text) if re.fullmatch(r"\d{1,3}", text) else text
    if key in LISTS:
        return [line.strip() for line in text.splitlines() if line.strip()] or None
    return text or None


def _field_of(err: configedit.EditError, name: str) -> str:
    prefix = f"profiles.{name}."
    if err.key.startswith(prefix):
        field = re.split(r"[.\[]", err.key[len(prefix):], maxsplit=1)[0]
        if field in FIELDS:
            return field
    return "_form"


@bp.route("/profiles/<name>", methods=["GET", "POST"])
def edit(name: str) -> Any:
    account = require_role(*EDITORS)
    if g.ctx.config_path is None:
        abort(404)
    try:
        raw = configedit.read_profile(g.ctx.config_path, name)
    except (configedit.EditError, OSError):
        abort(404)
    form = _form_from_file(raw)
    errors: FormErrors = {}
    if request.method == "POST":
        submitted = {k: request.form.get(k, "")[:20_000] for k in FIELDS}
        changes: dict[str, Any] = {}
        for key in FIELDS:
            new = _value(key, submitted[key])
            if new != _value(key, form[key]):
                changes[key] = new
        if "age" in changes and changes["age"] is None:
            changes["age"] = ""  # required: the loader says so, next to the field
        form = submitted
        if changes:
            try:
                configedit.update_profile(g.ctx.config_path, name, changes)
            except configedit.EditError as e:
                errors[_field_of(e, name)] = e.detail if _field_of(e, name) != "_form" \
                    else e.shown
            else:
                audit.record(g.ctx.db, account=account, address=g.address,
                             action="edit profile", target=name,
                             detail={k: v for k, v in changes.items()})
                return redirect(url_for("profiles.index", saved=name))
        else:
            return redirect(url_for("profiles.index"))
    return render_template("profile_edit.html", name=name, form=form, errors=errors,
                           choices=CHOICES, labels=LABELS, words=CHOICE_WORDS), \
        400 if errors else 200


