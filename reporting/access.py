"""Ask for access: a child asks from the block page, an adult approves or denies.

An approval covers either the exact URL (normalised: scheme and host lower-cased, default
port and fragment dropped, path and query kept) or the whole host (that exact host name, not
its subdomains); the adult chooses when approving. The proxy asks :class:`ApprovalIndex` on
every request; the index lives in memory and reloads when the database changed, so an
approval works on the next request without a restart.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from policies.categories import ALWAYS_BLOCKED
from policies.core import Evidence
from reporting.store import Store, use_nonce
from reporting.tokens import TokenError
from reporting.urls import check_url, host_of, normalize_url

Scope = Literal["url", "host"]
DURATIONS: dict[str, float | None] = {"15m": 15 * 60, "1h": 3600, "1d": 86400, "always": None}
STATUSES = ("pending", "approved", "denied")
MAX_MESSAGE = 500
MAX_PENDING_PER_PROFILE = 50


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
    def from_row(cls, row: sqlite3.Row) -> AccessRequest:
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
        row = conn.execute("SELECT id FROM access_requests WHERE profile = ? AND url = ? AND "
                           "status = 'pending'", (profile, url)).fetchone()
        new = row is None
        if row is not None:
            if message:
                conn.execute("UPDATE access_requests SET message = ? WHERE id = ?",
                             (message, row["id"]))
            rid = row["id"]
        else:
            pending = conn.execute("SELECT count(*) FROM access_requests WHERE profile = ? AND "
                                   "status = 'pending'", (profile,)).fetchone()[0]
            if pending >= MAX_PENDING_PER_PROFILE:
                raise ValueError("too many requests are waiting for an answer")
            rid = conn.execute(
                "INSERT INTO access_requests (created, profile, url, host, category, reason,"
                " message) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (now, profile, url, host_of(url), category, reason[:300], message)).lastrowid
    req = get_request(store, int(rid or 0))
    if new and on_new is not None:
        on_new(req)
    return req


def get_request(store: Store, request_id: int) -> AccessRequest:
    rows = store.query("SELECT * FROM access_requests WHERE id = ?", (request_id,))
    if not rows:
        raise KeyError(f"no access request {request_id}")
    return AccessRequest.from_row(rows[0])


def list_requests(store: Store, status: str | None = "pending",
                  limit: int = 200) -> list[AccessRequest]:
    if status is None:
        rows = store.query("SELECT * FROM access_requests ORDER BY id DESC LIMIT ?", (limit,))
    elif status in STATUSES:
        rows = store.query("SELECT * FROM access_requests WHERE status = ? ORDER BY id DESC "
                           "LIMIT ?", (status, limit))
    else:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    return [AccessRequest.from_row(r) for r in rows]


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
        conn.execute("UPDATE access_requests SET status = 'approved', decided_by = ?, "
                     "decided_at = ?, expires = ?, scope = ? WHERE id = ?",
                     (by, now, expires, scope, request_id))
        aid = conn.execute(
            "INSERT INTO approvals (request_id, created, profile, scope, target, expires,"
            " approved_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (request_id, now, req["profile"], scope, target, expires, by)).lastrowid
    return Approval(int(aid or 0), request_id, req["profile"], scope, target, expires, by)


def deny(store: Store, request_id: int, by: str, *, now: float | None = None,
         nonce: tuple[str, float] | None = None) -> AccessRequest:
    """Deny a pending request; ``nonce`` and errors as for :func:`approve`."""
    now = time.time() if now is None else now
    with store.transaction() as conn:
        _consume(conn, nonce, now)
        _pending(conn, request_id)
        conn.execute("UPDATE access_requests SET status = 'denied', decided_by = ?, "
                     "decided_at = ? WHERE id = ?",
                     (clean_message(by)[:80] or "unknown", now, request_id))
    return get_request(store, request_id)


def revoke(store: Store, approval_id: int) -> None:
    with store.transaction() as conn:
        if conn.execute("UPDATE approvals SET revoked = 1 WHERE id = ?",
                        (approval_id,)).rowcount == 0:
            raise KeyError(f"no approval {approval_id}")


def revoke_request(store: Store, request_id: int, by: str, *,
                   now: float | None = None) -> AccessRequest:
    """Take back an approval: its request becomes denied and the proxy stops allowing the page
    within a second (the approval index polls). A parent who clicked "always" by mistake, or
    a teacher whose lesson is over, needs this."""
    now = time.time() if now is None else now
    with store.transaction() as conn:
        row = conn.execute("SELECT status FROM access_requests WHERE id = ?",
                           (request_id,)).fetchone()
        if row is None:
            raise KeyError(f"no access request {request_id}")
        if row["status"] != "approved":
            raise ValueError(f"access request {request_id} is {row['status']}, not approved")
        conn.execute("UPDATE approvals SET revoked = 1 WHERE request_id = ?", (request_id,))
        conn.execute("UPDATE access_requests SET status = 'denied', decided_by = ?, "
                     "decided_at = ?, expires = NULL WHERE id = ?",
                     (f"{clean_message(by)[:60] or 'unknown'} (revoked)", now, request_id))
    return get_request(store, request_id)


def _pending(conn: sqlite3.Connection, request_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM access_requests WHERE id = ?", (request_id,)).fetchone()
    if row is None:
        raise KeyError(f"no access request {request_id}")
    if row["status"] != "pending":
        raise AlreadyAnswered(request_id, row["status"])
    return row


def _consume(conn: sqlite3.Connection, nonce: tuple[str, float] | None, now: float) -> None:
    """Inside the decision's transaction: a used link changes nothing (rolled back)."""
    if nonce is not None and not use_nonce(conn, *nonce, now):
        raise TokenError("replayed", "the link was already used")


class ApprovalIndex:
    """In-memory view of active approvals, reloaded when another connection committed.

    ``PRAGMA data_version`` on the index's own connection changes whenever any other
    connection (any process) commits; it is checked at most every ``check_interval`` seconds,
    so a lookup normally costs two dictionary probes.
    """

    def __init__(self, store: Store, check_interval: float = 1.0) -> None:
        self._store = store
        self._conn: sqlite3.Connection | None = None
        self._interval = check_interval
        self._lock = threading.Lock()
        self._checked = float("-inf")
        self._version: int | None = None
        self._by_url: dict[tuple[str, str], list[Approval]] = {}
        self._by_host: dict[tuple[str, str], list[Approval]] = {}

    def is_approved(self, profile_name: str, url: str, now: float | None = None) -> Approval | None:
        self._maybe_refresh()
        if not self._by_url and not self._by_host:  # none at all: no URL to normalise
            return None
        now = time.time() if now is None else now
        candidates = self._by_url.get((profile_name, normalize_url(url)), []) + \
            self._by_host.get((profile_name, host_of(url)), [])
        best: Approval | None = None
        for a in candidates:
            if a.active(now) and (best is None or _later(a, best)):
                best = a
        return best

    def refresh(self) -> None:
        """Reload now (tests and admin actions in the same process may call it)."""
        with self._lock:
            self._reload()

    def _maybe_refresh(self) -> None:
        mono = time.monotonic()
        if mono - self._checked < self._interval:
            return
        with self._lock:
            if mono - self._checked < self._interval:
                return
            self._checked = mono
            conn = self._connection()
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                self._reload()
                self._version = version

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._store.connect()
        return self._conn

    def _reload(self) -> None:
        rows = self._connection().execute(
            "SELECT id, request_id, profile, scope, target, expires, approved_by FROM approvals"
            " WHERE revoked = 0 AND (expires IS NULL OR expires > ?)", (time.time(),)).fetchall()
        by_url: dict[tuple[str, str], list[Approval]] = {}
        by_host: dict[tuple[str, str], list[Approval]] = {}
        for r in rows:
            a = Approval(r["id"], r["request_id"], r["profile"], r["scope"], r["target"],
                         r["expires"], r["approved_by"])
            (by_url if a.scope == "url" else by_host).setdefault((a.profile, a.target), []).append(a)
        self._by_url, self._by_host = by_url, by_host

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _later(a: Approval, b: Approval) -> bool:
    return b.expires is not None and (a.expires is None or a.expires > b.expires)


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
