"""The internal web app served by the proxy on ``kidgate.internal``.

Every action needs a token issued with the block page (see :mod:`reporting.tokens`), or, for
a parent's answer to an access request, with the message that told them about it. The app
never fetches the reported URL, never redirects, puts no request data in response headers,
and answers with a strict CSP (scripts and styles only from itself). GET never changes
anything except through the child's own report link: mail scanners and link previews open
a parent's decision links, so those show a confirmation page and only its POST decides.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

import pages
from pages import N_
from reporting import INTERNAL_HOST, access, hotlines
from reporting.alerts import AccessRequestEvent
from reporting.store import Store
from reporting.tokens import DECISIONS, Claims, Signer, TokenError
from storage import DatabaseError

log = logging.getLogger(__name__)

#: Each page's title (translated when shown).
_TITLES = {"report": N_("Report this page"), "ask": N_("Ask for access"),
           "decide": N_("Request for access"), "home": N_("kidgate is looking after this network")}
#: Why a link was refused, by :class:`reporting.tokens.TokenError` kind.
_REFUSALS = {"expired": N_("The link has expired. Go back and reload the blocked page."),
             "replayed": N_("This link was already used. Your earlier action was recorded."),
             "rate": N_("Too many requests. Wait a minute and try again."),
             "url": N_("This address cannot be reported or requested.")}
_REFUSED_OTHER = N_("The link is not valid. Open it again from the block page.")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


@dataclass(frozen=True)
class WebConfig:
    """``country`` picks the hotline; ``directory`` is a :class:`hotlines.Directory` or the
    path of a user's hotline file; limits are per client address and per profile."""

    country: str | None = None
    directory: hotlines.Directory | None = None
    requests_per_minute: int = 30
    reports_per_hour_per_profile: int = 20
    hosts: tuple[str, ...] = (INTERNAL_HOST,)
    helpline: str = "116 111"

    @classmethod
    def from_mapping(cls, m: Mapping[str, object] | None) -> WebConfig:
        m = dict(m or {})
        unknown = set(m) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise ValueError(f"reporting web config: unknown key(s) {', '.join(sorted(unknown))}")
        for key in ("requests_per_minute", "reports_per_hour_per_profile"):
            if key in m and (not isinstance(m[key], int) or m[key] < 1):  # type: ignore[operator]
                raise ValueError(f"reporting web config: '{key}' must be a positive integer")
        if "hosts" in m:
            m["hosts"] = tuple(m["hosts"])  # type: ignore[arg-type]
        if isinstance(m.get("directory"), (str, os.PathLike)):
            m["directory"] = hotlines.load(m["directory"])  # type: ignore[arg-type]
        return cls(**m)  # type: ignore[arg-type]


class RateLimiter:
    """Sliding-window limit per key, in memory (per proxy process); bounded key count."""

    def __init__(self, limit: int, window: float = 60.0, max_keys: int = 10_000) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._hits: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self.max_keys:
                    self._hits.clear()
                hits = self._hits[key] = collections.deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True


@dataclass
class _State:
    store: Store
    signer: Signer
    config: WebConfig
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.config.requests_per_minute)


def create_app(store: Store, signer: Signer,
               config: WebConfig | Mapping[str, object] | None = None, *,
               on_access_request: Callable[[AccessRequestEvent], object] | None = None) -> Flask:
    """``on_access_request`` is told about each new access request (the proxy passes the
    alerter's non-blocking ``notify_access_request``)."""
    cfg = config if isinstance(config, WebConfig) else WebConfig.from_mapping(config)
    state = _State(store, signer, cfg)
    app = Flask(__name__, static_folder="static", static_url_path="/static",
                template_folder="templates")
    app.config.update(MAX_CONTENT_LENGTH=16 * 1024, MAX_FORM_MEMORY_SIZE=16 * 1024,
                      TRUSTED_HOSTS=list(cfg.hosts), SEND_FILE_MAX_AGE_DEFAULT=3600)
    pages.configure(app.jinja_env)
    directory = cfg.directory or hotlines.default_directory()

    def page(template: str, status: int, lang: str, **ctx: object) -> Response:
        lang = pages.language(lang)
        title = ctx.pop("title", None) or pages.translate(lang, _TITLES.get(template, "kidgate"))
        body = render_template(f"kg_{template}.html", lang=lang, title=title,
                               **pages.gettext_callables(lang), **ctx)
        return Response(body, status, content_type="text/html; charset=utf-8")

    def refused(kind: str, lang: str = "en", status: int = 403) -> Response:
        return page("refused", status, lang,
                    title=pages.translate(lang, "This link cannot be used"),
                    message=pages.translate(lang, _REFUSALS.get(kind, _REFUSED_OTHER)))

    def client() -> str:
        return request.remote_addr or "unknown"

    def claims_for(action: str, token: object) -> Claims | Response:
        if not state.limiter.allow(client()):
            return refused("rate", status=429)
        try:
            return signer.verify(token, action)
        except TokenError as e:
            return refused(e.kind)

    @app.get("/")
    def home() -> Response:
        """What a child or parent sees when they open http://kidgate.internal/ directly."""
        lang = request.accept_languages.best_match(pages.LANGUAGES) or "en"
        return page("home", 200, lang, hotline=directory.for_country(cfg.country),
                    helpline=cfg.helpline)

    @app.get("/report")
    def report() -> Response:
        claims = claims_for("report", request.args.get("t"))
        if isinstance(claims, Response):
            return claims
        lang = claims.language
        hour_ago = time.time() - 3600
        if store.count_reports(profile=claims.profile, since=hour_ago) >= \
                cfg.reports_per_hour_per_profile:
            return refused("rate", lang, 429)
        hotline = directory.for_country(cfg.country)
        rid = store.add_report(url=claims.url, category=claims.category, profile=claims.profile,
                               reason=claims.reason, hotline_country=hotline.country,
                               hotline_name=hotline.name,
                               nonce=(claims.nonce, claims.expires))
        if rid is None:
            return refused("replayed", lang)
        return page("report", 200, lang, url=claims.url, hotline=hotline)

    @app.get("/ask")
    def ask_form() -> Response:
        token = request.args.get("t")
        claims = claims_for("ask", token)
        if isinstance(claims, Response):
            return claims
        return page("ask", 200, claims.language, url=claims.url, reason=claims.reason,
                    token=token, sent=False)

    def same_origin() -> bool:
        """Refuse POSTs another site makes a browser send (CSRF)."""
        origin = request.headers.get("Origin")
        allowed = {f"{scheme}://{h}" for h in cfg.hosts for scheme in ("http", "https")}
        return not ((origin not in (None, "null") and origin not in allowed)
                    or request.headers.get("Sec-Fetch-Site") == "cross-site")

    def tell_parent(req: access.AccessRequest, language: str) -> None:
        if on_access_request is None:
            return
        try:
            on_access_request(AccessRequestEvent.from_request(req, language))
        except Exception:  # the child's request is stored; a broken alert must not undo that
            log.exception("cannot queue the access-request alert")

    @app.post("/ask")
    def ask_submit() -> Response:
        if not same_origin():
            return refused("other")
        claims = claims_for("ask", request.form.get("t"))
        if isinstance(claims, Response):
            return claims
        try:
            access.request_access(store, profile=claims.profile, url=claims.url,
                                  category=claims.category, reason=claims.reason,
                                  message=request.form.get("message", ""),
                                  nonce=(claims.nonce, claims.expires),
                                  on_new=lambda req: tell_parent(req, claims.language))
        except TokenError as e:
            return refused(e.kind, claims.language)
        except ValueError:
            return refused("url", claims.language, 400)
        return page("ask", 200, claims.language, url=claims.url, sent=True)

    def decision_request(claims: Claims) -> access.AccessRequest | Response:
        """The request a decide token names, if it is still the one the token was made for
        (ids restart when kidgate.db is deleted while the secret stays)."""
        try:
            req = access.get_request(store, int(claims.request_id or 0))
        except KeyError:
            return refused("other", claims.language, 404)
        if (req.profile, req.url) != (claims.profile, claims.url):
            return refused("other", claims.language)
        return req

    def decide_page(req: access.AccessRequest, lang: str, state: str,
                    token: str | None = None, decision: str | None = None) -> Response:
        return page("decide", 200, lang, req=req, state=state, token=token, decision=decision)

    @app.get("/decide")
    def decide_form() -> Response:
        """A parent's decision link: shows what the button will do; changes nothing."""
        token = request.args.get("t")
        claims = claims_for("decide", token)
        if isinstance(claims, Response):
            return claims
        if store.nonce_used(claims.nonce):
            return refused("replayed", claims.language)
        req = decision_request(claims)
        if isinstance(req, Response):
            return req
        state = "ask" if req.status == "pending" else "answered"
        return decide_page(req, claims.language, state, token, claims.decision)

    @app.post("/decide")
    def decide_submit() -> Response:
        """Apply the decision the token names, once, as ``access.approve``/``deny`` by "link"."""
        if not same_origin():
            return refused("other")
        claims = claims_for("decide", request.form.get("t"))
        if isinstance(claims, Response):
            return claims
        req = decision_request(claims)
        if isinstance(req, Response):
            return req
        nonce = (claims.nonce, claims.expires)
        approval = DECISIONS[str(claims.decision)]
        try:
            if approval is None:
                access.deny(store, req.id, "link", nonce=nonce)
            else:
                duration, scope = approval
                access.approve(store, req.id, duration, "link", scope=scope,  # type: ignore[arg-type]
                               nonce=nonce)
        except TokenError as e:
            return refused(e.kind, claims.language)
        except access.AlreadyAnswered:
            return decide_page(access.get_request(store, req.id), claims.language, "answered")
        except ValueError:
            return refused("url", claims.language, 400)
        return decide_page(access.get_request(store, req.id), claims.language, "done",
                           decision=claims.decision)

    @app.errorhandler(sa.exc.SQLAlchemyError)
    @app.errorhandler(DatabaseError)
    @app.errorhandler(OSError)
    def storage_failed(e: Exception) -> Response:
        """A locked, read-only or full database: nothing was recorded, so nothing is
        acknowledged; the token was not used up and the same link works again later."""
        log.error("kidgate: the reporting database %s failed on %s %s: %s", store.location,
                  request.method, request.path, e)
        lang = "en"  # the token that names the child's language may be what failed to load
        resp = page("refused", 503, lang, title=pages.translate(lang, "Not saved"),
                    message=pages.translate(lang, "kidgate could not save this just now, so "
                                            "nothing was sent. Wait a minute and try again; "
                                            "the link still works."))
        resp.headers["Retry-After"] = "60"
        return resp

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Response:
        status = e.code or 500
        message = pages.translate("en", "Not found.") if status == 404 else (e.name or "Error")
        return page("refused", status, "en", title=str(status), message=message)

    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "no-referrer"
        if not request.path.startswith("/static/"):
            resp.headers["Cache-Control"] = "no-store"
        return resp

    app.extensions["kidgate_reporting"] = state
    return app
