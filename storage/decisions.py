"""The decision log as rows of the ``decisions`` table: written in batches by the decision
log's own thread (never by the proxy's event loop), read by the admin app's event log and
dashboard and by ``kidgate stats``.

A row holds what a line of ``decisions.jsonl`` holds: time, device, profile, host, verdict and
reasons, never page content; hotline (csam) hosts arrive hashed. With ``drop_queries`` the
query string of any address quoted in a reason is cut off before it is stored.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from storage.db import Database, DatabaseError
from storage.tables import decisions

_QUERY = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#)]*)\?[^\s#)]*")
_c = decisions.c
_COLUMNS = tuple(c.name for c in decisions.columns if c.name != "id")


def without_queries(text: str) -> str:
    """``https://a.example/p?x=1 seen`` → ``https://a.example/p seen``."""
    return _QUERY.sub(r"\1", text)


def to_row(rec: dict[str, Any], *, proxy: str, drop_queries: bool = False) -> dict[str, Any]:
    """A decision-log record as a row (missing or odd fields become empty, never an error)."""
    reasons = [str(r) for r in rec.get("reasons") or []][:5]
    if drop_queries:
        reasons = [without_queries(r) for r in reasons]
    min_age = rec.get("min_age")
    category = rec.get("category")
    return {
        "ts": float(rec.get("ts") or 0.0), "proxy": _text(proxy)[:128],
        "client": _text(rec.get("client", "")), "profile": _text(rec.get("profile", "")),
        "host": _text(rec.get("host", "")), "phase": _text(rec.get("phase", ""))[:16],
        "method": _text(rec.get("method", ""))[:16], "action": _text(rec.get("action", ""))[:8],
        "category": None if category is None else _text(category),
        "min_age": min_age if isinstance(min_age, int) and not isinstance(min_age, bool) else None,
        "sources": _json([str(s) for s in rec.get("sources") or []]),
        "reasons": _json(reasons),
    }


def _text(value: object) -> str:
    """Text every database stores: a lone surrogate (from a broken host name) is escaped,
    and NUL, which PostgreSQL refuses in text, is written out."""
    text = value if isinstance(value, str) else str(value)
    if text.isascii() and "\x00" not in text:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _json(items: list[str]) -> str:
    try:
        return orjson.dumps(items).decode()
    except TypeError:  # a lone surrogate: the slow path escapes it
        return json.dumps(items)


def to_record(row: sa.RowMapping) -> dict[str, Any]:
    """A row in the shape of a decision-log line, for the readers of the log."""
    return {"ts": row["ts"], "client": row["client"], "profile": row["profile"],
            "host": row["host"], "phase": row["phase"], "method": row["method"],
            "action": row["action"], "category": row["category"], "min_age": row["min_age"],
            "sources": json.loads(row["sources"] or "[]"),
            "reasons": json.loads(row["reasons"] or "[]"), "proxy": row["proxy"]}


class DecisionRows:
    """The database side of :class:`kidgate.decisionlog.DecisionLog`; called from its thread.

    ``where`` is a database URL or an open :class:`Database`; the database is opened (and
    migrated) on the first write, so a server that is down at start delays rows, not the
    proxy."""

    def __init__(self, where: str | Database, *, proxy: str | None = None,
                 drop_queries: bool = False) -> None:
        self._where = where
        self.proxy = proxy or socket.gethostname()
        self.drop_queries = drop_queries

    @property
    def db(self) -> Database:
        if not isinstance(self._where, Database):
            self._where = Database.shared(self._where)
        return self._where

    @property
    def location(self) -> str:
        """The database, for messages, without its password."""
        if isinstance(self._where, Database):
            return self._where.display
        try:
            return sa.make_url(self._where).render_as_string(hide_password=True)
        except (sa.exc.ArgumentError, ValueError):
            return "(an invalid database URL)"

    def insert(self, records: Sequence[dict[str, Any]]) -> int:
        """All of ``records`` in one transaction; returns how many were refused.

        A database that cannot be reached raises (the batch is retried later). A batch the
        database refuses for what is in it is written row by row instead, so one odd record
        never holds back the others.

        Rows go to the driver as tuples (``COPY`` on PostgreSQL): this thread shares the
        interpreter with the proxy's event loop, so per-row work is kept to the minimum."""
        if not records:
            return 0
        names = _COLUMNS
        rows = [tuple(row[n] for n in names) for row in
                (to_row(r, proxy=self.proxy, drop_queries=self.drop_queries) for r in records)]
        try:
            self._write(rows)
            return 0
        except Exception as e:  # noqa: BLE001 - sorted out just below
            if _unreachable(e) or len(rows) == 1:
                raise
        refused = 0
        for row in rows:
            try:
                self._write([row])
            except Exception as e:  # noqa: BLE001
                if _unreachable(e):
                    raise
                refused += 1
        return refused

    def _write(self, rows: list[tuple[Any, ...]]) -> None:
        names = _COLUMNS
        with self.db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # COPY: the cheapest way in, per row
                with conn.connection.dbapi_connection.cursor() as cur, cur.copy(  # type: ignore[union-attr]
                        f"COPY {decisions.name} ({', '.join(names)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                conn.exec_driver_sql(
                    f"INSERT INTO {decisions.name} ({', '.join(names)}) VALUES "
                    f"({', '.join(['?'] * len(names))})", rows)

    def prune(self, before: float) -> int:
        """Delete the rows older than ``before`` (the retention's cut-off)."""
        with self.db.engine.begin() as conn:
            return int(conn.execute(decisions.delete().where(_c.ts < before)).rowcount or 0)

    def purge(self) -> int:
        """``retention_days: 0``: keep no decision rows at all."""
        with self.db.engine.begin() as conn:
            return int(conn.execute(decisions.delete()).rowcount or 0)


def _unreachable(e: BaseException) -> bool:
    """A failure of the database rather than of the rows: retry the batch later."""
    import psycopg
    return isinstance(e, (sa.exc.OperationalError, sa.exc.InterfaceError, DatabaseError,
                          psycopg.OperationalError, psycopg.InterfaceError, OSError))


def has_rows(db: Database) -> bool:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(_c.id).limit(1)).first() is not None


def iter_records(db: Database, *, since: float | None = None, until: float | None = None,
                 profiles: Sequence[str] = (), clients: Sequence[str] = (),
                 batch: int = 5000) -> Iterator[dict[str, Any]]:
    """Records in time order, filtered by the database; streamed in batches (memory bounded
    by ``batch``, however long the log)."""
    query = (sa.select(decisions).where(*_filtered(since, until, profiles, clients))
             .order_by(_c.ts, _c.id))
    with db.engine.connect() as conn:
        result = conn.execution_options(yield_per=batch).execute(query).mappings()
        for row in result:
            yield to_record(row)


#: The times a decision-log reader accepts (:func:`kidgate.stats.parse_record`): rows outside
#: them are not decisions, so a page and its count leave them out as the reader does.
_MIN_TS, _MAX_TS = 946_684_800.0, 4_102_444_800.0


def _filtered(since: float | None, until: float | None, profiles: Sequence[str],
              clients: Sequence[str]) -> list[sa.ColumnElement[bool]]:
    where = []
    if since is not None:
        where.append(_c.ts >= since)
    if until is not None:
        where.append(_c.ts < until)
    if profiles:
        where.append(_c.profile.in_(list(profiles)))
    if clients:
        where.append(_c.client.in_(list(clients)))
    return where


@dataclass(frozen=True)
class Counts:
    """Decisions counted by the database, in the few groupings statistics need (valid rows
    only; ``bad`` counts the others by the reason a reader gives)."""

    #: (first ts, last ts, count, phase, action, category) per quarter hour: every zone's
    #: hours and days are whole quarter hours, so local times are exact.
    times: list[tuple[float, float, int, str, str, str | None]]
    sources: list[tuple[list[str], int]]  # blocks per stored source list
    profiles: list[tuple[str, str, str, int]]  # (profile, phase, action, count)
    clients: list[tuple[str, str, str, int]]
    hosts: list[tuple[str, str | None, int]]  # blocks per (host, category)
    bad: list[tuple[str, int]]


def count_rows(db: Database, *, since: float | None = None, until: float | None = None,
               profiles: Sequence[str] = (), clients: Sequence[str] = ()) -> Counts:
    """What ``kidgate stats`` and the dashboard count, counted by the database: a few grouped
    queries with small answers instead of every row (a school's week is millions)."""
    where = _filtered(since, until, profiles, clients)
    in_range = sa.and_(_c.ts >= _MIN_TS, _c.ts <= _MAX_TS)
    valid = [*where, in_range, _c.action.in_(("allow", "block"))]
    blocks = [*valid, _c.action == "block"]
    if db.backend == "postgresql":
        quarter = sa.func.floor(_c.ts / 900)
    else:  # SQLite may lack floor(); valid times are positive, so truncation is the floor
        quarter = sa.cast(_c.ts / 900, sa.Integer)
    n = sa.func.count()

    def grouped(*keys: Any, where: list[Any]) -> sa.Select[Any]:
        return sa.select(*keys, n).where(*where).group_by(*keys)
    why = sa.case((sa.not_(in_range), "ts out of range"),
                  else_="action is not allow or block")
    with db.engine.connect() as conn:
        times = [(first, last, count, phase, action, category) for first, last, count, phase,
                 action, category in conn.execute(
                     sa.select(sa.func.min(_c.ts), sa.func.max(_c.ts), n, _c.phase, _c.action,
                               _c.category).where(*valid)
                     .group_by(quarter, _c.phase, _c.action, _c.category))]
        return Counts(
            times=times,
            sources=[(json.loads(raw or "[]"), count) for raw, count in
                     conn.execute(grouped(_c.sources, where=blocks))],
            profiles=[tuple(r) for r in conn.execute(grouped(_c.profile, _c.phase, _c.action,
                                                             where=valid))],
            clients=[tuple(r) for r in conn.execute(grouped(_c.client, _c.phase, _c.action,
                                                            where=valid))],
            hosts=[tuple(r) for r in conn.execute(grouped(_c.host, _c.category,
                                                          where=blocks))],
            bad=[tuple(r) for r in conn.execute(
                sa.select(why, n).where(*where, sa.not_(sa.and_(*valid[len(where):])))
                .group_by(why))])


def page_records(db: Database, *, offset: int, limit: int, since: float | None = None,
                 until: float | None = None, profiles: Sequence[str] = (),
                 clients: Sequence[str] = (), categories: Sequence[str] | None = None,
                 uncategorised: bool = False, action: str = "", source: str = ""
                 ) -> tuple[list[dict[str, Any]], int]:
    """One page of records, newest first, and how many match in all, both decided by the
    database (the ``ts`` index, LIMIT/OFFSET and COUNT): a school's event log of millions of
    rows shows a page without reading them all. ``categories`` (None: any) and
    ``uncategorised`` (no category) narrow by category; ``source`` must be a plain source
    name (it is matched in the stored JSON list)."""
    where = [_c.ts >= _MIN_TS, _c.ts <= _MAX_TS, _c.action.in_(("allow", "block")),
             *_filtered(since, until, profiles, clients)]
    if uncategorised:
        where.append(_c.category.is_(None))
    if categories is not None:
        where.append(_c.category.in_(list(categories)))
    if action:
        where.append(_c.action == action)
    if source:
        if not source.isalnum():
            raise ValueError(f"not a source name: {source!r}")
        where.append(_c.sources.contains(f'"{source}"', autoescape=True))
    rows = (sa.select(decisions).where(*where).order_by(_c.ts.desc(), _c.id.desc())
            .offset(max(0, offset)).limit(max(0, limit)))
    count = sa.select(sa.func.count()).select_from(decisions).where(*where)
    with db.engine.connect() as conn:
        total = conn.execute(count).scalar_one()
        page = [to_record(row) for row in conn.execute(rows).mappings()]
    return page, total
