"""The owner's pages: accounts and the audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from admin import accounts, audit, i18n
from admin.app import require_role
from admin.i18n import N_
from storage import ROLES

bp = Blueprint("manage", __name__)


@bp.route("/audit")
def audit_log() -> Any:
    require_role("owner")
    return render_template("audit.html", rows=audit.recent(g.ctx.db),
                           action_name=lambda action: audit.action_name(g.lang, action))


@bp.route("/accounts", methods=["GET", "POST"])
def account_list() -> Any:
    owner = require_role("owner")
    errors: i18n.FormErrors = {}
    form = {"username": "", "role": "parent", "profiles": "", "language": g.lang}
    profiles = sorted(g.ctx.config().profiles)
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in form}
        chosen = tuple(p.strip() for p in form["profiles"].split(",") if p.strip())
        unknown = [p for p in chosen if p not in profiles]
        if form["language"] not in i18n.LANGUAGES:
            errors["language"] = N_("Choose en or ro.")
        if unknown:
            errors["profiles"] = i18n.Message(N_("No such profile: {names}."),
                                              names=", ".join(unknown))
        try:
            if errors:
                raise accounts.FieldErrors({})
            new = accounts.create_account(g.ctx.db, username=form["username"],
                                          password=request.form.get("password", ""),
                                          role=form["role"], profiles=chosen,
                                          language=form["language"])
        except accounts.FieldErrors as e:
            errors = {**errors, **e.errors}
        else:
            audit.record(g.ctx.db, account=owner, address=g.address, action="add account",
                         target=new.username, detail={"role": new.role,
                                                      "profiles": list(new.profiles)})
            return redirect(url_for("manage.account_list", added=new.username))
    return render_template("accounts.html", rows=accounts.list_accounts(g.ctx.db),
                           errors=errors, form=form, roles=ROLES, profiles=profiles,
                           notice=_added()), 400 if errors else 200


@bp.route("/accounts/<int:account_id>/remove", methods=["POST"])
def remove(account_id: int) -> Any:
    owner = require_role("owner")
    names = {a.id: a.username for a in accounts.list_accounts(g.ctx.db)}
    if account_id not in names:
        abort(404)
    try:
        accounts.remove_account(g.ctx.db, account_id)
    except ValueError as e:
        message = i18n.show(g.lang, N_("Nothing was changed: {error}"),
                            error=i18n.Message(str(e)))  # translated when it is a marked text
        return render_template("notice.html", message=message,
                               back=url_for("manage.account_list")), 400
    audit.record(g.ctx.db, account=owner, address=g.address, action="remove account",
                 target=names[account_id])
    if account_id == owner.id:
        g.drop_cookie = True
        return redirect(url_for("auth.sign_in"))
    return redirect(url_for("manage.account_list"))


@bp.route("/password", methods=["GET", "POST"])
def password() -> Any:
    account = require_role("owner", "parent", "teacher", "safeguarding")
    errors: i18n.FormErrors = {}
    if request.method == "POST":
        try:
            accounts.change_password(g.ctx.db, account, current=request.form.get("current", ""),
                                     new=request.form.get("new", ""),
                                     confirm=request.form.get("confirm", ""),
                                     keep_session=g.session.id)
        except accounts.FieldErrors as e:
            errors = e.errors
        else:
            audit.record(g.ctx.db, account=account, address=g.address,
                         action="change password", target=account.username)
            return _password_page({}, saved=True)
    return _password_page(errors, saved=False), 400 if errors else 200


def _password_page(errors: i18n.FormErrors, saved: bool, *,
                   totp_errors: i18n.FormErrors | None = None, secret: str | None = None,
                   totp_notice: str | None = None) -> str:
    secret = secret or (None if g.account.totp else accounts.new_totp_secret())
    qr = None
    if secret:
        import segno  # ~5 MB resident: loaded when an account sets up a second factor, not at start
        qr = segno.make(accounts.totp_uri(secret, g.account.username), error="m").svg_data_uri(
            scale=4, dark="#000", light="#fff")
    return render_template("password.html", errors=errors, saved=saved,
                           sessions=accounts.list_sessions(g.ctx.db, g.account),
                           current=g.session.id, secret=secret, qr=qr,
                           totp_errors=totp_errors or {}, totp_notice=totp_notice)


@bp.route("/two-step", methods=["POST"])
def two_step() -> Any:
    """Turn two-step sign-in on (with a code from the app) or off (with the password)."""
    account = require_role("owner", "parent", "teacher", "safeguarding")
    try:
        if request.form.get("turn") == "off":
            accounts.disable_totp(g.ctx.db, account, password=request.form.get("password", ""))
            action, notice = "two-step sign-in off", N_("Two-step sign-in is off.")
        else:
            accounts.enable_totp(g.ctx.db, account, secret=request.form.get("secret", ""),
                                 code=request.form.get("code", ""))
            action, notice = "two-step sign-in on", N_("Two-step sign-in is on.")
    except accounts.FieldErrors as e:
        secret = request.form.get("secret", "")
        return _password_page({}, False, totp_errors=e.errors,
                              secret=secret if accounts.valid_totp_secret(secret) else None), 400
    audit.record(g.ctx.db, account=account, address=g.address, action=action,
                 target=account.username)
    g.account = accounts.load_session(g.ctx.db, g.session.token).account
    return _password_page({}, False, totp_notice=notice)


@bp.route("/sessions/<int:session_id>/end", methods=["POST"])
def end_session(session_id: int) -> Any:
    account = require_role("owner", "parent", "teacher", "safeguarding")
    if not accounts.end_own_session(g.ctx.db, account, session_id):
        abort(404)
    audit.record(g.ctx.db, account=account, address=g.address, action="end session",
                 target=str(session_id))
    if session_id == g.session.id:
        g.drop_cookie = True
        return redirect(url_for("auth.sign_in"))
    return redirect(url_for("manage.password"))


def _added() -> str | None:
    name = request.args.get("added", "")[:64]
    return i18n.translate(g.lang, "Account {name} added.", name=name) if name else None
