"""The reporting database: one SQLite file shared by every proxy worker and the CLI.

Why these settings: WAL lets readers run while one worker writes; ``busy_timeout`` makes a
writer wait for another process instead of failing; ``synchronous=FULL`` plus one
transaction per write means a report or request is either fully on disk or absent, even if
the proxy is killed in the middle. Only addresses and metadata are stored, never content.

Nothing grows for ever: :meth:`Store.prune` (run by :class:`Pruner` on its own thread while the
proxy runs, and by ``kidgate prune``) deletes what no longer serves a purpose. Reports to
hotlines are kept: they are the parent's record of what was reported.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import astuple, dataclass
from pathlib import Path

from kidgate.paths import PRIVATE_MODE

SCHEMA_VERSION = 1
DEFAULT_DB_NAME = "kidgate.db"
BUSY_TIMEOUT_MS = 10_000
#: At most this long in all, waits and retries together, before a locked database is an error.
LOCK_BUDGET = 15.0
DAY = 86_400.0
#: A used token's nonce is kept this long after the token expired. An expired token is refused
#: anyway; the margin covers a clock set back (a Raspberry Pi has no battery-backed clock).
NONCE_GRACE = DAY
#: Alert rows are kept at least this long whatever the retention: rate limiting looks back at
#: recent claims and suppressed events, and the digest is daily.
ALERT_LOG_MIN_DAYS = 1.0
#: How often the proxy prunes the database.
PRUNE_EVERY = 6 * 3600.0

log = logging.getLogger("kidgate")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    url TEXT NOT NULL,
    category TEXT,
    profile TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    hotline_country TEXT,
    hotline_name TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS reports_profile_time ON reports(profile, created);

CREATE TABLE IF NOT EXISTS access_requests (
    id INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    profile TEXT NOT NULL,
    url TEXT NOT NULL,
    host TEXT NOT NULL,
    category TEXT,
    reason TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'denied')),
    decided_by TEXT,
    decided_at REAL,
    expires REAL,
    scope TEXT CHECK (scope IS NULL OR scope IN ('url', 'host'))
);
CREATE INDEX IF NOT EXISTS access_requests_status ON access_requests(status, created);

CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY,
    request_id INTEGER REFERENCES access_requests(id),
    created REAL NOT NULL,
    profile TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('url', 'host')),
    target TEXT NOT NULL,
    expires REAL,
    approved_by TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS approvals_profile ON approvals(profile, revoked);

CREATE TABLE IF NOT EXISTS alert_log (
    id INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    rule TEXT NOT NULL,
    rate_key TEXT NOT NULL,
    profile TEXT NOT NULL,
    category TEXT,
    url TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    event_time REAL NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('pending', 'sent', 'failed', 'suppressed', 'queued', 'digesting',
                          'digested')),
    channel TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alert_log_key ON alert_log(rate_key, status, created);

CREATE TABLE IF NOT EXISTS used_tokens (
    nonce TEXT PRIMARY KEY,
    expires REAL NOT NULL
);
"""


class Store:
    """Thread-safe handle on the database; each thread gets its own connection.

    The file and its schema are created on first use. Safe to open from several processes.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._init_lock = threading.Lock()
        self._ready = False

    # -- connections -------------------------------------------------------------------

    def connect(self) -> sqlite3.Connection:
        """A new connection with kidgate's settings (callers that need their own, e.g. an index)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            # SQLite gives its -wal and -shm files the database file's mode.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, PRIVATE_MODE))
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                               isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        if not self._ready:
            with self._init_lock:
                if not self._ready:
                    self._migrate(conn)
                    self._ready = True
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.connect()
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _migrate(self, conn: sqlite3.Connection) -> None:
        with _transaction(conn):
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path}: schema version {version} is newer than this "
                                   f"kidgate ({SCHEMA_VERSION}); upgrade kidgate")
            if version < SCHEMA_VERSION:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``: one atomic, serialised write."""
        with _transaction(self.conn) as conn:
            yield conn

    def query(self, sql: str, params: tuple[object, ...] | dict[str, object] = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    # -- reports -----------------------------------------------------------------------

    def add_report(self, *, url: str, category: str | None, profile: str, reason: str,
                   hotline_country: str | None, hotline_name: str = "",
                   nonce: tuple[str, float] | None = None, now: float | None = None) -> int | None:
        """Insert a report; with ``nonce`` (nonce, expiry) the token is consumed in the same
        transaction, and ``None`` is returned (nothing written) when it was already used."""
        with self.transaction() as conn:
            if nonce is not None and not use_nonce(conn, *nonce):
                return None
            cur = conn.execute(
                "INSERT INTO reports (created, url, category, profile, reason, hotline_country,"
                " hotline_name) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (now if now is not None else time.time(), url, category, profile, reason,
                 hotline_country, hotline_name))
            return int(cur.lastrowid or 0)

    def list_reports(self, limit: int = 100) -> list[sqlite3.Row]:
        return self.query("SELECT * FROM reports ORDER BY id DESC LIMIT ?", (limit,))

    def count_reports(self, *, profile: str, since: float) -> int:
        return int(self.query("SELECT count(*) FROM reports WHERE profile = ? AND created >= ?",
                              (profile, since))[0][0])

    # -- one-shot tokens ---------------------------------------------------------------

    def consume_nonce(self, nonce: str, expires: float, now: float | None = None) -> bool:
        """Mark a one-shot token as used; False when it was used before (a replay)."""
        with self.transaction() as conn:
            return use_nonce(conn, nonce, expires, now)

    # -- retention ---------------------------------------------------------------------

    def prune(self, now: float | None = None, *, keep_days: float = 30.0) -> Pruned:
        """Delete, in one transaction, what is no longer needed; ``keep_days`` is the history
        retention (the config's ``log.retention_days``).

        Deleted: nonces of tokens expired for more than :data:`NONCE_GRACE`; alert rows older
        than ``keep_days`` (at least :data:`ALERT_LOG_MIN_DAYS`); approvals expired, or
        revoked, more than ``keep_days`` ago; answered access requests older than that.
        Kept whatever their age: reports, pending requests, requests an approval still points
        to, digest events not yet delivered and, per rate key, the latest sent alert (the rate
        limit and the digest's "sent today" both read it)."""
        if keep_days < 0:
            raise ValueError("keep_days must not be negative")
        now = time.time() if now is None else now
        history = now - keep_days * DAY
        alerts = now - max(keep_days, ALERT_LOG_MIN_DAYS) * DAY
        with self.transaction() as conn:
            tokens = conn.execute("DELETE FROM used_tokens WHERE expires < ?",
                                  (now - NONCE_GRACE,)).rowcount
            alert_rows = conn.execute(
                "DELETE FROM alert_log WHERE created < ? AND status NOT IN ('queued', 'digesting')"
                " AND id NOT IN (SELECT a.id FROM alert_log a JOIN (SELECT rate_key,"
                " max(created) AS last FROM alert_log WHERE status = 'sent' GROUP BY rate_key) l"
                " ON a.rate_key = l.rate_key AND a.created = l.last WHERE a.status = 'sent')",
                (alerts,)).rowcount
            approvals = conn.execute(
                "DELETE FROM approvals WHERE (expires IS NOT NULL AND expires < ?)"
                " OR (revoked = 1 AND created < ?)", (history, history)).rowcount
            requests = conn.execute(
                "DELETE FROM access_requests WHERE status IN ('approved', 'denied')"
                " AND coalesce(decided_at, created) < ? AND id NOT IN"
                " (SELECT request_id FROM approvals WHERE request_id IS NOT NULL)",
                (history,)).rowcount
        return Pruned(tokens, alert_rows, approvals, requests)


@dataclass(frozen=True, slots=True)
class Pruned:
    """Rows deleted by one :meth:`Store.prune`, per table."""

    used_tokens: int = 0
    alert_log: int = 0
    approvals: int = 0
    access_requests: int = 0

    @property
    def total(self) -> int:
        return sum(astuple(self))

    def describe(self) -> str:
        return (f"{self.used_tokens} used token(s), {self.alert_log} alert log row(s), "
                f"{self.approvals} expired approval(s), {self.access_requests} answered "
                "access request(s)")


class Pruner:
    """Prunes the database at start and then every ``every`` seconds on its own thread, so
    the proxy's event loop never waits for a delete. ``keep_days`` is asked each time, so a
    reloaded configuration applies. Failures are logged, never raised."""

    def __init__(self, store: Store, keep_days: Callable[[], float], *,
                 every: float = PRUNE_EVERY, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.runs = 0
        self.last: Pruned | None = None
        self._keep_days, self._every, self._clock = keep_days, every, clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kidgate-prune", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self.last = self.store.prune(self._clock(), keep_days=self._keep_days())
                    if self.last.total:
                        log.info("kidgate: pruned %s: %s", self.store.path, self.last.describe())
                except Exception as e:  # noqa: BLE001 - a broken database never stops filtering
                    log.warning("kidgate: cannot prune %s: %s", self.store.path, e)
                self.runs += 1
                self._stop.wait(self._every)
        finally:
            self.store.close()  # this thread's connection


def use_nonce(conn: sqlite3.Connection, nonce: str, expires: float,
              now: float | None = None) -> bool:
    """Inside a write transaction: record ``nonce``; False if it was recorded before."""
    try:
        conn.execute("INSERT INTO used_tokens (nonce, expires) VALUES (?, ?)", (nonce, expires))
    except sqlite3.IntegrityError:
        return False
    # Expired nonces can never verify again, so they need not be remembered.
    conn.execute("DELETE FROM used_tokens WHERE expires < ?",
                 ((time.time() if now is None else now) - NONCE_GRACE,))
    return True


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    _retry_locked(lambda: conn.execute("BEGIN IMMEDIATE"))
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        try:
            _retry_locked(lambda: conn.execute("COMMIT"))
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _retry_locked(fn):  # type: ignore[no-untyped-def]
    """Retry on 'database is locked' beyond busy_timeout (WAL switch, many writers), for at
    most :data:`LOCK_BUDGET` seconds in all: a database that another program keeps locked
    fails the request in seconds (the caller answers "try again") instead of holding it for
    minutes."""
    deadline = time.monotonic() + LOCK_BUDGET
    i = 0
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e) or time.monotonic() > deadline:
                raise
            i += 1
            time.sleep(min(0.02 * i, 0.5))


def default_path(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / DEFAULT_DB_NAME
