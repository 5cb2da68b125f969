"""The admin web app: a Flask application factory; the pages live in blueprints.

Rules that hold for every page, enforced here once rather than per view:

* only loopback and private-range clients are served, judged by the connection's own address
  (never ``X-Forwarded-For``, which any client can write), and only under this machine's own
  names and addresses: a web page whose name an attacker points at the kidgate machine (DNS
  rebinding) gets no answer, so it can neither read the pages nor lock the parent out;
* a signed-in session (a database row; the cookie holds a random token, HttpOnly,
  SameSite=Strict) is needed everywhere except the sign-in and first-run setup pages;
* every state change is a POST carrying the session's CSRF token, from this origin; GET
  changes nothing;
* responses carry a strict Content-Security-Policy (scripts and styles only from the app's own
  static files), refuse framing and are not cached.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, abort, g, redirect, render_template, request, url_for
from markupsafe import Markup

import pages
from admin import accounts, i18n
from policies import config as config_mod
from policies.config import Config, ConfigError
from storage import Database

COOKIE = "kidgate_admin"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
#: Views that work without a signed-in session.
PUBLIC = {"auth.sign_in", "auth.setup", "static", "metrics"}


@dataclass
class AdminContext:
    """What the app needs from the running kidgate: where its files and database are."""

    db: Database
    data_dir: Path
    config_path: Path | None
    tz: dt.tzinfo | None = None
    #: Extra names the app answers under (``admin.hosts``), besides the machine's own.
    hosts: tuple[str, ...] = ()
    _cache: tuple[float, Config] | None = field(default=None, repr=False)
    _store: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reporting_store(self) -> Any:
        """The reporting database (access requests, approvals, reports) the proxy uses."""
        from reporting.store import Store
        with self._lock:
            if self._store is None:
                self._store = Store(self.db)  # the same database as the admin tables
            return self._store

    def config(self) -> Config:
        """The configuration as the proxy sees it (re-read when the file changes)."""
        if self.config_path is None:
            return config_mod.load(None)
        try:
            mtime = self.config_path.stat().st_mtime_ns
        except OSError:
            mtime = -1
        with self._lock:
            if self._cache is None or self._cache[0] != mtime:
                try:
                    self._cache = (mtime, config_mod.load(self.config_path))
                except ConfigError:
                    if self._cache is None:
                        raise
            return self._cache[1]


def client_allowed(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or (ip.is_private and not ip.is_unspecified)


def _own_names() -> frozenset[str]:
    name = socket.gethostname().lower()
    return frozenset({"localhost", "kidgate.internal", name, f"{name}.local",
                      socket.getfqdn().lower()})


def host_allowed(host_header: str, names: frozenset[str]) -> bool:
    """The Host header names this machine: an address, or one of its own names."""
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return host.rstrip(".") in names


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a path on this site only, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


#: The error pages' words when a view gave none (Werkzeug's descriptions are English only).
ERROR_TEXTS = {
    401: i18n.N_("Sign in to see this page."),
    403: i18n.N_("You may not do this."),
    404: i18n.N_("There is no such page here."),
    405: i18n.N_("This page cannot be used this way."),
    413: i18n.N_("What was sent is too large."),
}


def create_app(ctx: AdminContext, *, testing: bool = False) -> Flask:
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(TESTING=testing, MAX_CONTENT_LENGTH=64 * 1024,
                      SEND_FILE_MAX_AGE_DEFAULT=0)
    app.extensions["kidgate_admin"] = ctx
    pages.configure(app.jinja_env)  # autoescaping for every template, the shared catalogues
    app.jinja_env.filters["datetime"] = lambda ts: dt.datetime.fromtimestamp(
        ts, ctx.tz).strftime("%Y-%m-%d %H:%M:%S")
    # The admin's own ``_``: ``{name}`` placeholders, the language of the signed-in account;
    # a form error that quotes a value (:class:`admin.i18n.Message`) brings its own values.
    app.jinja_env.globals.update(_=lambda text, **kw: i18n.show(g.get("lang", "en"), text,
                                                                 **kw))

    from admin.views import (auth, dashboard, devices, events, groups, manage, parental,
                             profiles, requests, schedules, tools)
    for bp in (auth.bp, dashboard.bp, devices.bp, events.bp, groups.bp, manage.bp,
               parental.bp, profiles.bp, requests.bp, schedules.bp, tools.bp):
        app.register_blueprint(bp)

    names = _own_names() | {h.lower() for h in ctx.hosts}

    @app.get("/metrics")
    def metrics() -> Response:
        """Prometheus text format behind a bearer token; no page at all until one is set."""
        from kidgate import metrics as counters
        token = ctx.config().metrics_token
        if token is None:
            abort(404)
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return Response("unauthorised\n", 401, {"WWW-Authenticate": "Bearer",
                                                      "Content-Type": "text/plain"})
        return Response(counters.render(), 200, {"Content-Type": counters.CONTENT_TYPE})

    @app.before_request
    def guard() -> Any:
        if not client_allowed(request.remote_addr) or not host_allowed(request.host, names):
            abort(403)
        g.ctx = ctx
        g.address = request.remote_addr or ""
        g.session = accounts.load_session(ctx.db, request.cookies.get(COOKIE))
        g.new_session = None
        g.account = g.session.account if g.session else None
        g.lang = (g.account.language if g.account else
                  request.accept_languages.best_match(i18n.LANGUAGES) or "en")
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            # Browsers send "Origin: null" for our own forms (Referrer-Policy: no-referrer);
            # the token below is what proves the form came from this app.
            origin = request.headers.get("Origin")
            if origin and origin != "null" and urlsplit(origin).netloc != request.host:
                return _refuse_form()
            sent = request.form.get("csrf", "")
            if g.session is None or not sent or not hmac.compare_digest(sent, g.session.csrf):
                return _refuse_form()
        if request.endpoint in PUBLIC:
            return None
        if not accounts.has_owner(ctx.db):
            return redirect(url_for("auth.setup"))
        if g.account is None:
            if request.method == "GET":
                return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
            abort(401)
        return None

    @app.after_request
    def headers(resp: Response) -> Response:
        new = g.get("new_session")
        if new is not None:
            resp.set_cookie(COOKIE, new.token, httponly=True, samesite="Strict", path="/")
        elif g.get("drop_cookie"):
            resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict")
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        return resp

    @app.errorhandler(401)
    @app.errorhandler(403)
    @app.errorhandler(404)
    @app.errorhandler(405)
    @app.errorhandler(413)
    def error(e: Any) -> tuple[str, int]:
        # Werkzeug's own descriptions are English: a description of ours is already translated.
        message = e.description
        if message == type(e).description and e.code in ERROR_TEXTS:
            message = i18n.translate(g.get("lang", "en"), ERROR_TEXTS[e.code])
        return render_template("error.html", code=e.code, message=message), e.code

    @app.context_processor
    def common() -> dict[str, Any]:
        def csrf_field() -> Markup:
            s = g.get("new_session") or g.get("session")
            token = s.csrf if s else ""
            return Markup('<input type="hidden" name="csrf" value="%s">') % token
        return {"account": g.get("account"), "csrf_field": csrf_field, "lang": g.get("lang")}

    return app


def _refuse_form() -> tuple[str, int]:
    msg = i18n.translate(g.get("lang", "en"), "The form has expired or did not come from this "
                         "page. Nothing was changed; reload the page and try again.")
    return render_template("error.html", code=400, message=msg), 400


def ensure_session() -> accounts.Session:
    """The visitor's session, made (anonymous, for a form's CSRF token) when there is none."""
    if g.session is None and g.new_session is None:
        g.new_session = accounts.start_session(g.ctx.db, None, g.address)
    return g.new_session or g.session


def sign_in_as(account: accounts.Account) -> None:
    """Replace whatever session the visitor had with a new one: fixation-proof."""
    if g.session is not None:
        accounts.end_session(g.ctx.db, g.session.id)
    g.new_session = accounts.start_session(g.ctx.db, account, g.address)
    g.session = g.new_session
    g.account = account


def require_role(*roles: str) -> accounts.Account:
    account = g.account
    if account is None or account.role not in roles:
        abort(403, i18n.translate(g.get("lang", "en"), "You may not do this."))
    return account


