"""Ask for access: a child asks from the block page, an adult approves or denies.

An approval covers either the exact URL (normalised: scheme and host lower-cased, default
port and fragment dropped, path and query kept) or the whole host (that exact host name, not
its subdomains); the adult chooses when approving. The proxy asks :class:`ApprovalIndex` on
every request; the index lives in memory and a thread of its own reloads it when the
database's approval counter moved, so an approval given on any proxy sharing the database
works within about a second, without a restart and without a query per request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from policies.categories import ALWAYS_BLOCKED
from policies.core import Evidence
from reporting.store import Store, bump_approvals, insert_id, use_nonce
from storage import tables as t
from reporting.tokens import TokenError
from reporting.urls import check_url, host_of, normalize_url

Scope = Literal["url", "host"]
DURATIONS: dict[str, float | None] = {"15m": 15 * 60, "1h": 3600, "1d": 86400, "always": None}
STATUSES = ("pending", "approved", "denied")
MAX_MESSAGE = 500
MAX_PENDING_PER_PROFILE = 50

log = logging.getLogger("kidgate")
_rq, _ap = t.access_requests.c, t.approvals.c


class AlreadyAnswered(ValueError):
    """The request was approved or denied before (CLI, another link): not an error for the
    adult, who is shown what happened instead."""

    def __init__(self, request_id: int, status: str) -> None:
        super().__init__(f"request {request_id} is already {status}")
        self.status = status


@dataclass(frozen=True, slots=True)
class AccessRequest:
    id: int
    created: float
    profile: str
    url: str
    host: str
    category: str | None
    reason: str
    message: str
    status: str
    decided_by: str | None
    decided_at: float | None
    expires: float | None
    scope: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AccessRequest:
        return cls(*(row[f.name] for f in dataclasses.fields(cls)))


@dataclass(frozen=True, slots=True)
class Approval:
    id: int
    request_id: int | None
    profile: str
    scope: str
    target: str
    expires: float | None
    approved_by: str

    def active(self, now: float) -> bool:
        return self.expires is None or now < self.expires

    def detail(self) -> str:
        until = "always" if self.expires is None else _iso(self.expires)
        what = "host" if self.scope == "host" else "URL"
        return f"access approved by {self.approved_by} until {until} ({what} {self.target})"

    def evidence(self) -> Evidence:
        """What the proxy adds to a request's evidence so :func:`decide` allows it."""
        return Evidence(source="policy", category=None, detail=self.detail(), allow=True,
                        kind="approval")


def parse_duration(text: str) -> float | None:
    """Seconds for ``15m``/``1h``/``1d``, ``None`` for ``always``; ``ValueError`` otherwise."""
    if text not in DURATIONS:
        raise ValueError(f"duration must be one of {', '.join(DURATIONS)}, not {text!r}")
    return DURATIONS[text]


def clean_message(message: str) -> str:
    """Keep a child's note printable and short (it is shown to adults and on the CLI)."""
    text = "".join(c if c.isprintable() else " " for c in message)
    return " ".join(text.split())[:MAX_MESSAGE]


def request_access(store: Store, *, profile: str, url: str, category: str | None,
                   reason: str = "", message: str = "", nonce: tuple[str, float] | None = None,
                   now: float | None = None,
                   on_new: Callable[[AccessRequest], object] | None = None) -> AccessRequest:
    """Record a request; a second request for the same pending URL updates the message.

    With ``nonce`` (nonce, expiry) the token is consumed in the same transaction; a used
    token raises :class:`reporting.tokens.TokenError` ``replayed`` and writes nothing.
    ``on_new`` is called after the commit, only when a new request was stored: a parent is
    told once per request, not once per click."""
    check_url(url)
    if category in ALWAYS_BLOCKED:
        raise ValueError(f"access to {category} content cannot be requested")
    now = time.time() if now is None else now
    message = clean_message(message)
    with store.transaction() as conn:
        if nonce is not None and not use_nonce(conn, *nonce):
            raise TokenError("replayed", "the link was already used")
        rid = conn.execute(sa.select(_rq.id).where(
            _rq.profile == profile, _rq.url == url, _rq.status == "pending")).scalar()
        new = rid is None
        if rid is not None:
            if message:
                conn.execute(t.access_requests.update().where(_rq.id == rid)
                             .values(message=message))
        else:
            pending = conn.execute(sa.select(sa.func.count()).select_from(t.access_requests)
                                   .where(_rq.profile == profile, _rq.status == "pending")
                                   ).scalar_one()
            if pending >= MAX_PENDING_PER_PROFILE:
                raise ValueError("too many requests are waiting for an answer")
            rid = insert_id(conn, t.access_requests, created=now, profile=profile, url=url,
                            host=host_of(url), category=category, reason=reason[:300],
                            message=message)
    req = get_request(store, int(rid or 0))
    if new and on_new is not None:
        on_new(req)
    return req


def get_request(store: Store, request_id: int) -> AccessRequest:
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(t.access_requests).where(_rq.id == request_id)
                           ).mappings().first()
    if row is None:
        raise KeyError(f"no access request {request_id}")
    return AccessRequest.from_row(row)


def list_requests(store: Store, status: str | None = "pending",
                  limit: int = 200) -> list[AccessRequest]:
    query = sa.select(t.access_requests).order_by(_rq.id.desc()).limit(limit)
    if status is not None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        query = query.where(_rq.status == status)
    with store.engine.connect() as conn:
        return [AccessRequest.from_row(r) for r in conn.execute(query).mappings()]


def approve(store: Store, request_id: int, duration: str, by: str, *, scope: Scope = "url",
            now: float | None = None, nonce: tuple[str, float] | None = None) -> Approval:
    """Approve a pending request for ``duration`` (15m, 1h, 1d, always) and ``scope``.

    With ``nonce`` the decision link's token is consumed in the same transaction (see
    :func:`request_access`); :class:`AlreadyAnswered` when it is no longer pending."""
    seconds = parse_duration(duration)
    if scope not in ("url", "host"):
        raise ValueError("scope must be 'url' or 'host'")
    by = clean_message(by)[:80] or "unknown"
    now = time.time() if now is None else now
    expires = None if seconds is None else now + seconds
    with store.transaction() as conn:
        _consume(conn, nonce, now)
        req = _pending(conn, request_id)
        if req["category"] in ALWAYS_BLOCKED:
            raise ValueError(f"{req['category']} content cannot be approved")
        target = normalize_url(req["url"]) if scope == "url" else req["host"]
        conn.execute(t.access_requests.update().where(_rq.id == request_id).values(
            status="approved", decided_by=by, decided_at=now, expires=expires, scope=scope))
        aid = insert_id(conn, t.approvals, request_id=request_id, created=now,
                        profile=req["profile"], scope=scope, target=target, expires=expires,
                        approved_by=by)
        bump_approvals(conn)
    return Approval(aid, request_id, req["profile"], scope, target, expires, by)


def deny(store: Store, request_id: int, by: str, *, now: float | None = None,
         nonce: tuple[str, float] | None = None) -> AccessRequest:
    """Deny a pending request; ``nonce`` and errors as for :func:`approve`."""
    now = time.time() if now is None else now
    with store.transaction() as conn:
        _consume(conn, nonce, now)
        _pending(conn, request_id)
        conn.execute(t.access_requests.update().where(_rq.id == request_id).values(
            status="denied", decided_by=clean_message(by)[:80] or "unknown", decided_at=now))
    return get_request(store, request_id)


def revoke(store: Store, approval_id: int) -> None:
    with store.transaction() as conn:
        if conn.execute(t.approvals.update().where(_ap.id == approval_id)
                        .values(revoked=1)).rowcount == 0:
            raise KeyError(f"no approval {approval_id}")
        bump_approvals(conn)


def revoke_request(store: Store, request_id: int, by: str, *,
                   now: float | None = None) -> AccessRequest:
    """Take back an approval: its request becomes denied and the proxy stops allowing the page
    within a second (the approval index polls). A parent who clicked "always" by mistake, or
    a teacher whose lesson is over, needs this."""
    now = time.time() if now is None else now
    with store.transaction() as conn:
        status = conn.execute(sa.select(_rq.status).where(_rq.id == request_id)).scalar()
        if status is None:
            raise KeyError(f"no access request {request_id}")
        if status != "approved":
            raise ValueError(f"access request {request_id} is {status}, not approved")
        conn.execute(t.approvals.update().where(_ap.request_id == request_id).values(revoked=1))
        conn.execute(t.access_requests.update().where(_rq.id == request_id).values(
            status="denied", decided_by=f"{clean_message(by)[:60] or 'unknown'} (revoked)",
            decided_at=now, expires=None))
        bump_approvals(conn)
    return get_request(store, request_id)


def _pending(conn: sa.Connection, request_id: int) -> sa.RowMapping:
    row = conn.execute(sa.select(t.access_requests).where(_rq.id == request_id)
                       ).mappings().first()
    if row is None:
        raise KeyError(f"no access request {request_id}")
    if row["status"] != "pending":
        raise AlreadyAnswered(request_id, row["status"])
    return row


def _consume(conn: sa.Connection, nonce: tuple[str, float] | None, now: float) -> None:
    """Inside the decision's transaction: a used link changes nothing (rolled back)."""
    if nonce is not None and not use_nonce(conn, *nonce, now):
        raise TokenError("replayed", "the link was already used")


class ApprovalIndex:
    """In-memory view of active approvals, kept fresh by a thread of its own.

    The thread reads the database's approval counter every ``check_interval`` seconds and
    reloads the approvals only when it moved, so a lookup costs two dictionary probes and
    never waits for the database: an approval given through another proxy (or the admin app,
    or the command line) applies within about ``check_interval`` seconds. When the database
    cannot be read the last view is kept (a block stays a block) and the failure is logged.

    The first lookup waits at most ``first_wait`` seconds for the first load. With
    ``check_interval=0`` every lookup checks the counter itself (the command line's one-off
    checks and tests).
    """

    def __init__(self, store: Store, check_interval: float = 1.0, *,
                 first_wait: float = 5.0) -> None:
        self._store = store
        self._interval = check_interval
        self._first_wait = first_wait
        self._lock = threading.Lock()
        self._version: int | None = None
        self._by_url: dict[tuple[str, str], list[Approval]] = {}
        self._by_host: dict[tuple[str, str], list[Approval]] = {}
        self._loaded = threading.Event()
        self._stop = threading.Event()
        self._failing = False
        self._thread: threading.Thread | None = None
        if check_interval > 0:
            # The thread holds the index weakly: an index nobody uses any more stops polling.
            self._thread = threading.Thread(target=_poll, args=(weakref.ref(self), self._stop),
                                            name="kidgate-approvals", daemon=True)
            self._thread.start()

    def is_approved(self, profile_name: str, url: str, now: float | None = None) -> Approval | None:
        if self._thread is None:
            self._check()
        elif not self._loaded.is_set():
            self._loaded.wait(self._first_wait)
        if not self._by_url and not self._by_host:  # none at all: no URL to normalise
            return None
        now = time.time() if now is None else now
        by_url, by_host = self._by_url, self._by_host
        candidates = by_url.get((profile_name, normalize_url(url)), []) + \
            by_host.get((profile_name, host_of(url)), [])
        best: Approval | None = None
        for a in candidates:
            if a.active(now) and (best is None or _later(a, best)):
                best = a
        return best

    def refresh(self) -> None:
        """Reload now (tests and admin actions in the same process may call it)."""
        with self._lock:
            self._reload(self._read_version())

    def _poll_once(self) -> float:
        self._check()
        self._loaded.set()
        return self._interval

    def _check(self) -> None:
        """Reload when the counter moved; a failure keeps the last view and is logged once."""
        try:
            with self._lock:
                version = self._read_version()
                if version != self._version or not self._loaded.is_set():
                    self._reload(version)
            if self._failing:
                self._failing = False
                log.warning("kidgate: approvals are read from %s again", self._store.location)
        except Exception as e:  # noqa: BLE001 - a broken database never stops filtering
            if not self._failing:
                self._failing = True
                log.warning("kidgate: cannot read approvals from %s (keeping the last ones): %s",
                            self._store.location, e)

    def _read_version(self) -> int:
        c = t.approval_changes.c
        return int(self._store.scalar(sa.select(c.version).where(c.id == 1)) or 0)

    def _reload(self, version: int) -> None:
        query = (sa.select(_ap.id, _ap.request_id, _ap.profile, _ap.scope, _ap.target,
                           _ap.expires, _ap.approved_by)
                 .where(_ap.revoked == 0, sa.or_(_ap.expires.is_(None),
                                                 _ap.expires > time.time())))
        by_url: dict[tuple[str, str], list[Approval]] = {}
        by_host: dict[tuple[str, str], list[Approval]] = {}
        for r in self._store.query(query):
            a = Approval(*r)
            (by_url if a.scope == "url" else by_host).setdefault((a.profile, a.target), []).append(a)
        self._by_url, self._by_host = by_url, by_host
        self._version = version
        self._loaded.set()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


def _poll(ref: weakref.ref[ApprovalIndex], stop: threading.Event) -> None:
    while not stop.is_set():
        index = ref()
        if index is None:
            return
        interval = index._poll_once()
        del index
        stop.wait(interval)


def _later(a: Approval, b: Approval) -> bool:
    return b.expires is not None and (a.expires is None or a.expires > b.expires)


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
