"""First-run setup, sign-in and sign-out."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for

from admin import accounts, audit, i18n
from admin.app import ensure_session, safe_next, sign_in_as

bp = Blueprint("auth", __name__)


def _locked_message() -> str | None:
    wait = accounts.locked_for(g.ctx.db, g.address)
    if wait <= 0:
        return None
    return i18n.translate(g.lang, "Too many failed sign-ins from this address. Try again in "
                          "{minutes} minutes.", minutes=max(1, math.ceil(wait / 60)))


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Any:
    if accounts.has_owner(g.ctx.db):
        return redirect(url_for("auth.sign_in"))
    ensure_session()
    errors: i18n.FormErrors = {}
    form = {"username": "", "language": g.lang}
    locked = _locked_message()
    if request.method == "POST" and not locked:
        form = {"username": request.form.get("username", "").strip(),
                "language": request.form.get("language", "en")}
        if form["language"] not in i18n.LANGUAGES:
            form["language"] = "en"
        try:
            owner = accounts.complete_setup(
                g.ctx.db, code=request.form.get("code", ""), username=form["username"],
                password=request.form.get("password", ""),
                confirm=request.form.get("confirm", ""), language=form["language"])
        except accounts.FieldErrors as e:
            errors = e.errors
            if "code" in errors:
                accounts.record_failure(g.ctx.db, g.address)
                locked = _locked_message()
        else:
            audit.record(g.ctx.db, account=owner, address=g.address, action="setup",
                         target=owner.username)
            sign_in_as(owner)
            return redirect(url_for("dashboard.index"))
    status = 429 if locked else (400 if errors else 200)
    return render_template("setup.html", errors=errors, form=form, locked=locked), status


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    if not accounts.has_owner(g.ctx.db):
        return redirect(url_for("auth.setup"))
    ensure_session()
    target = safe_next(request.values.get("next"))
    if g.account is not None and request.method == "GET":
        return redirect(target)
    error = None
    username = ""
    locked = _locked_message()
    if request.method == "POST" and not locked:
        username = request.form.get("username", "").strip()
        account = accounts.check_password(g.ctx.db, username,
                                          request.form.get("password", ""))
        if account is not None and not accounts.check_totp(g.ctx.db, account,
                                                           request.form.get("code", "")):
            account = None
        if account is None:
            accounts.record_failure(g.ctx.db, g.address)
            audit.record(g.ctx.db, account=None, address=g.address, action="sign-in failed",
                         target=username[:64])
            error = i18n.translate(g.lang, "Wrong user name, password or code.")
            locked = _locked_message()
        else:
            sign_in_as(account)
            audit.record(g.ctx.db, account=account, address=g.address, action="sign-in")
            return redirect(target)
    status = 429 if locked else (401 if error else 200)
    return render_template("sign_in.html", error=error, locked=locked, username=username,
                           next=target), status


@bp.route("/sign-out", methods=["POST"])
def sign_out() -> Any:
    if g.session is not None:
        accounts.end_session(g.ctx.db, g.session.id)
        audit.record(g.ctx.db, account=g.account, address=g.address, action="sign-out")
    g.drop_cookie = True
    return redirect(url_for("auth.sign_in"))
