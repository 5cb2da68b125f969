"""The reporting database: reports to hotlines, access requests, approvals, alerts and used
link tokens, in kidgate's one database (:mod:`storage`: ``kidgate.db`` by default, PostgreSQL
by URL for a school with several proxies).

Why writes are serialised: each write is one transaction that first takes the database's write
lock (``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on PostgreSQL), so that
"read, then decide, then write" (a rate limit, a one-shot token, a pending request) holds across
every proxy process. A report or request is either fully stored or absent, even if the proxy is
killed in the middle, and a database another program keeps locked fails the write within
:data:`LOCK_BUDGET` seconds: the caller answers "not saved, try again". Only addresses and
metadata are stored, never content.

Nothing grows for ever: :meth:`Store.prune` (run by :class:`Pruner` on its own thread while the
proxy runs, and by ``kidgate prune``) deletes what no longer serves a purpose. Reports to
hotlines are kept: they are the parent's record of what was reported.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from storage import Database
from storage import tables as t
from storage.db import DEFAULT_DB_NAME

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
#: pg_advisory_xact_lock key of reporting writes on a server shared by several proxies.
_PG_WRITE_LOCK = 0x6B6964676174_01  # "kidgat" + 1

log = logging.getLogger("kidgate")
T = TypeVar("T")


class Store:
    """Thread- and process-safe handle on the reporting tables.

    ``where`` is a SQLite file's path, a database URL or an open :class:`storage.Database`.
    The database and its schema are created (or upgraded, adopting the tables of earlier
    versions) on first use, so constructing a store never fails.
    """

    def __init__(self, where: str | os.PathLike[str] | Database) -> None:
        self._db: Database | None = None
        if isinstance(where, Database):
            self._db = where
            self.url = where.url.render_as_string(hide_password=False)
        elif isinstance(where, str) and "://" in where:
            self.url = where
        else:
            self.url = f"sqlite:///{Path(where)}"
        try:
            parsed: sa.URL | None = sa.make_url(self.url)
        except (sa.exc.ArgumentError, ValueError):
            parsed = None  # Database says what is wrong with it on first use
        self.path: Path | None = (Path(parsed.database) if parsed is not None
                                  and parsed.get_backend_name() == "sqlite"
                                  and parsed.database else None)
        #: Where the data lives, for messages: the file, or the URL without its password.
        self.location = str(self.path) if self.path is not None else (
            parsed.render_as_string(hide_password=True) if parsed is not None else self.url)
        self._init_lock = threading.Lock()

    @classmethod
    def open(cls, data_dir: str | os.PathLike[str], url: str | None = None) -> Store:
        """The configured database (``database.url``), else ``kidgate.db`` in ``data_dir``."""
        return cls(url) if url else cls(default_path(data_dir))

    # -- connections -------------------------------------------------------------------

    @property
    def db(self) -> Database:
        if self._db is None:
            with self._init_lock:
                if self._db is None:
                    self._db = Database.shared(self.url)
        return self._db

    @property
    def engine(self) -> sa.Engine:
        return self.db.engine

    @property
    def backend(self) -> str:
        return self.db.backend

    def close(self) -> None:
        """Close idle pooled connections (a file system remounted, a server restarted); the
        next use opens new ones."""
        if self._db is not None:
            self._db.dispose()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One atomic write, serialised with every other writer of the database."""
        deadline = time.monotonic() + LOCK_BUDGET
        with self.engine.connect() as conn:
            try:
                if conn.dialect.name == "sqlite":
                    _retry_locked(lambda: conn.exec_driver_sql("BEGIN IMMEDIATE"), deadline)
                else:
                    left = max(1, int((deadline - time.monotonic()) * 1000))
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {left}")
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_WRITE_LOCK)))
                yield conn
                if conn.dialect.name == "sqlite":
                    _retry_locked(lambda: conn.exec_driver_sql("COMMIT"), deadline)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise

    def query(self, statement: sa.Executable | str,
              params: dict[str, Any] | None = None) -> Sequence[sa.Row[Any]]:
        """Rows of one read (``statement`` may be SQL text with ``:name`` parameters)."""
        if isinstance(statement, str):
            statement = sa.text(statement)
        with self.engine.connect() as conn:
            return conn.execute(statement, params or {}).all()

    def scalar(self, statement: sa.Executable) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(statement).scalar()

    def revision(self) -> str | None:
        """The schema revision of the database (see :mod:`storage.migrations`)."""
        return self.db.revision()

    # -- reports -----------------------------------------------------------------------

    def add_report(self, *, url: str, category: str | None, profile: str, reason: str,
                   hotline_country: str | None, hotline_name: str = "",
                   nonce: tuple[str, float] | None = None, now: float | None = None) -> int | None:
        """Insert a report; with ``nonce`` (nonce, expiry) the token is consumed in the same
        transaction, and ``None`` is returned (nothing written) when it was already used."""
        with self.transaction() as conn:
            if nonce is not None and not use_nonce(conn, *nonce):
                return None
            return insert_id(conn, t.reports, created=now if now is not None else time.time(),
                             url=url, category=category, profile=profile, reason=reason,
                             hotline_country=hotline_country, hotline_name=hotline_name)

    def list_reports(self, limit: int = 100) -> list[sa.RowMapping]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(t.reports).order_by(t.reports.c.id.desc())
                                     .limit(limit)).mappings())

    def count_reports(self, *, profile: str, since: float) -> int:
        r = t.reports.c
        return int(self.scalar(sa.select(sa.func.count()).select_from(t.reports)
                               .where(r.profile == profile, r.created >= since)) or 0)

    # -- one-shot tokens ---------------------------------------------------------------

    def consume_nonce(self, nonce: str, expires: float, now: float | None = None) -> bool:
        """Mark a one-shot token as used; False when it was used before (a replay)."""
        with self.transaction() as conn:
            return use_nonce(conn, nonce, expires, now)

    def nonce_used(self, nonce: str) -> bool:
        return self.scalar(sa.select(t.used_tokens.c.nonce)
                           .where(t.used_tokens.c.nonce == nonce)) is not None

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
        a, ap, rq = t.alert_log.c, t.approvals.c, t.access_requests.c
        last_sent = (sa.select(a.rate_key, sa.func.max(a.created).label("last"))
                     .where(a.status == "sent").group_by(a.rate_key).subquery())
        kept_sent = (sa.select(t.alert_log.c.id).join(
            last_sent, sa.and_(a.rate_key == last_sent.c.rate_key, a.created == last_sent.c.last))
            .where(a.status == "sent"))
        with self.transaction() as conn:
            tokens = conn.execute(t.used_tokens.delete().where(
                t.used_tokens.c.expires < now - NONCE_GRACE)).rowcount
            alert_rows = conn.execute(t.alert_log.delete().where(
                a.created < alerts, a.status.not_in(("queued", "digesting")),
                a.id.not_in(kept_sent.scalar_subquery()))).rowcount
            approvals = conn.execute(t.approvals.delete().where(sa.or_(
                sa.and_(ap.expires.is_not(None), ap.expires < history),
                sa.and_(ap.revoked == 1, ap.created < history)))).rowcount
            if approvals:
                bump_approvals(conn)
            referenced = sa.select(ap.request_id).where(ap.request_id.is_not(None))
            requests = conn.execute(t.access_requests.delete().where(
                rq.status.in_(("approved", "denied")),
                sa.func.coalesce(rq.decided_at, rq.created) < history,
                rq.id.not_in(referenced.scalar_subquery()))).rowcount
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
        while not self._stop.is_set():
            try:
                self.last = self.store.prune(self._clock(), keep_days=self._keep_days())
                if self.last.total:
                    log.info("kidgate: pruned %s: %s", self.store.location, self.last.describe())
            except Exception as e:  # noqa: BLE001 - a broken database never stops filtering
                log.warning("kidgate: cannot prune %s: %s", self.store.location, e)
            self.runs += 1
            self._stop.wait(self._every)


def use_nonce(conn: sa.Connection, nonce: str, expires: float,
              now: float | None = None) -> bool:
    """Inside a write transaction: record ``nonce``; False if it was recorded before.

    Checked before inserting rather than by catching the duplicate key: on PostgreSQL a failed
    statement would abort the whole transaction. The write lock makes the check race-free."""
    u = t.used_tokens.c
    if conn.execute(sa.select(u.nonce).where(u.nonce == nonce)).first() is not None:
        return False
    conn.execute(t.used_tokens.insert().values(nonce=nonce, expires=expires))
    # Expired nonces can never verify again, so they need not be remembered.
    conn.execute(t.used_tokens.delete().where(
        u.expires < (time.time() if now is None else now) - NONCE_GRACE))
    return True


def insert_id(conn: sa.Connection, table: sa.Table, **values: Any) -> int:
    """Insert one row and return its new ``id``."""
    return int(conn.execute(table.insert().values(**values).returning(table.c.id)).scalar_one())


def bump_approvals(conn: sa.Connection) -> None:
    """Inside the transaction that changed ``approvals``: tell every proxy to reload them."""
    c = t.approval_changes.c
    conn.execute(t.approval_changes.update().where(c.id == 1).values(version=c.version + 1))


def _locked(e: BaseException) -> bool:
    text = str(getattr(e, "orig", None) or e)
    return "locked" in text or "busy" in text


def _retry_locked(fn: Callable[[], T], deadline: float) -> T:
    """Retry on 'database is locked' beyond busy_timeout (WAL switch, many writers) until
    ``deadline``: a database that another program keeps locked fails the request in seconds
    (the caller answers "try again") instead of holding it for minutes."""
    i = 0
    while True:
        try:
            return fn()
        except sa.exc.OperationalError as e:
            if not _locked(e) or time.monotonic() > deadline:
                raise
            i += 1
            time.sleep(min(0.02 * i, 0.5))


def default_path(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / DEFAULT_DB_NAME
