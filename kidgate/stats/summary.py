"""The ``kidgate-stats/1`` summary, built in one pass with bounded state, and the time
arguments that choose its period."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Hashable, Sequence
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kidgate.stats.reading import DatabaseLog, FileReport, LogSource, ReadReport, read_decisions
from kidgate.stats.records import CATEGORY_KEYS, SOURCES, Decision, parse_record


SCHEMA = "kidgate-stats/1"
WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

#: Bounds on what is remembered per distinct key: memory stays flat on any log.
HOST_CAPACITY = 5_000
CLIENT_CAPACITY = 2_000
PROFILE_CAPACITY = 500
MAX_DAYS = 4_000

K = TypeVar("K", bound=Hashable)


class BoundedCounter(Generic[K]):
    """Counts at most ``capacity`` distinct keys (Misra-Gries), so a log with millions of
    distinct hosts still fits in a few hundred kilobytes. Every key seen more than
    ``n / (capacity + 1)`` times is kept; a kept count is low by at most ``error``."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.counts: dict[K, int] = {}
        self.error = 0

    def add(self, key: K, n: int = 1) -> None:
        """Count ``key`` ``n`` times (weighted Misra-Gries: ``n`` = 1 is the classic one)."""
        counts = self.counts
        if key in counts:
            counts[key] += n
        elif len(counts) < self.capacity:
            counts[key] = n
        else:
            # Decrement every key (and the new one) by the smallest count among them; the
            # decrements add up to at most total / (capacity + 1), so the cost stays linear.
            low = min(n, min(counts.values()))
            self.error += low
            self.counts = {k: v - low for k, v in counts.items() if v > low}
            if n > low:
                self.counts[key] = n - low

    def get(self, key: K) -> int:
        return self.counts.get(key, 0)

    @property
    def exact(self) -> bool:
        return self.error == 0

    def most_common(self, n: int | None = None) -> list[tuple[K, int]]:
        items = sorted(self.counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        return items if n is None else items[:n]

    def __len__(self) -> int:
        return len(self.counts)


class _LocalTime:
    """ts -> (date, weekday, hour) in one zone, cached per quarter hour: every zone offset is
    a multiple of 15 minutes and logs are in time order, so this is nearly always a hit."""

    def __init__(self, tz: dt.tzinfo | None) -> None:
        self.tz = tz
        self._key = -1
        self._value: tuple[str, int, int] = ("", 0, 0)

    def __call__(self, ts: float) -> tuple[str, int, int]:
        key = int(ts // 900)
        if key != self._key:
            t = dt.datetime.fromtimestamp(key * 900, self.tz)
            self._key, self._value = key, (t.date().isoformat(), t.weekday(), t.hour)
        return self._value


class Aggregator:
    """Everything ``kidgate stats`` reports, built in one pass with bounded state."""

    def __init__(self, tz: dt.tzinfo | None = None) -> None:
        self.local = _LocalTime(tz)
        self.records = 0
        self.requests = 0
        self.blocked = 0
        self.blocked_response = 0
        self.first: float | None = None
        self.last: float | None = None
        self.by_category = dict.fromkeys(CATEGORY_KEYS, 0)
        self.by_source = dict.fromkeys(SOURCES, 0)
        self.profile_requests: BoundedCounter[str] = BoundedCounter(PROFILE_CAPACITY)
        self.profile_blocks: BoundedCounter[str] = BoundedCounter(PROFILE_CAPACITY)
        self.client_requests: BoundedCounter[str] = BoundedCounter(CLIENT_CAPACITY)
        self.client_blocks: BoundedCounter[str] = BoundedCounter(CLIENT_CAPACITY)
        self.hosts: BoundedCounter[tuple[str, str]] = BoundedCounter(HOST_CAPACITY)
        self.by_weekday_hour = [[0] * 24 for _ in range(7)]
        # date -> [requests, blocked, {category: blocks}]
        self.daily: dict[str, list[Any]] = {}
        self.days_dropped = False

    def add(self, d: Decision) -> None:
        self.records += 1
        if self.first is None or d.ts < self.first:
            self.first = d.ts
        if self.last is None or d.ts > self.last:
            self.last = d.ts
        day, weekday, hour = self.local(d.ts)
        bucket = self._day(day)
        if d.phase != "response":
            self.requests += 1
            self.profile_requests.add(d.profile)
            self.client_requests.add(d.client)
            if bucket is not None:
                bucket[0] += 1
        if d.action != "block":
            return
        self.blocked += 1
        if d.phase == "response":
            self.blocked_response += 1
        self.by_category[d.category] += 1
        for s in d.sources:
            self.by_source[s] += 1
        self.profile_blocks.add(d.profile)
        self.client_blocks.add(d.client)
        self.hosts.add((d.host, d.category))
        self.by_weekday_hour[weekday][hour] += 1
        if bucket is not None:
            bucket[1] += 1
            bucket[2][d.category] = bucket[2].get(d.category, 0) + 1

    def _day(self, day: str) -> list[Any] | None:
        bucket = self.daily.get(day)
        if bucket is None:
            if len(self.daily) < MAX_DAYS:
                bucket = self.daily[day] = [0, 0, {}]
            else:
                self.days_dropped = True
        return bucket

    def add_counts(self, counts: Any) -> None:
        """What :meth:`add` makes of every row, from a database's grouped counts
        (:class:`storage.decisions.Counts`, valid rows only); every value is checked by
        :func:`parse_record`, as a row's would be."""
        def check(**fields: Any) -> Decision:
            return parse_record({"ts": _ANY_TS, "action": "allow", **fields})
        for first, last, n, phase, action, category in counts.times:
            d = check(ts=first, phase=phase, action=action, category=category)
            self.records += n
            if self.first is None or first < self.first:
                self.first = first
            if self.last is None or last > self.last:
                self.last = last
            day, weekday, hour = self.local(first)
            bucket = self._day(day)
            if d.phase != "response":
                self.requests += n
                if bucket is not None:
                    bucket[0] += n
            if d.action != "block":
                continue
            self.blocked += n
            if d.phase == "response":
                self.blocked_response += n
            self.by_category[d.category] += n
            self.by_weekday_hour[weekday][hour] += n
            if bucket is not None:
                bucket[1] += n
                bucket[2][d.category] = bucket[2].get(d.category, 0) + n
        for sources, n in counts.sources:
            for name in check(sources=sources).sources:
                self.by_source[name] += n
        for rows, requests, blocks, key in ((counts.profiles, self.profile_requests,
                                             self.profile_blocks, "profile"),
                                            (counts.clients, self.client_requests,
                                             self.client_blocks, "client")):
            for value, phase, action, n in rows:
                name = getattr(check(**{key: value}), key)
                if phase != "response":
                    requests.add(name, n)
                if action == "block":
                    blocks.add(name, n)
        for host, category, n in counts.hosts:
            d = check(host=host, category=category)
            self.hosts.add((d.host, d.category), n)

    def summary(self, report: ReadReport, *, filters: dict[str, Any], timezone: str,
                top: int = 20, now: float | None = None) -> dict[str, Any]:
        """The ``kidgate-stats/1`` document (see the module docstring)."""
        tz = self.local.tz
        requests = self.requests
        # A response block whose request record fell before --since would make this negative.
        allowed = max(requests - self.blocked, 0)

        def iso(ts: float | None) -> str | None:
            return None if ts is None else dt.datetime.fromtimestamp(ts, tz).isoformat(
                timespec="seconds")

        def ranked(requests_c: BoundedCounter[str], blocks_c: BoundedCounter[str],
                   name: str) -> list[dict[str, Any]]:
            keys = {k for k, _ in blocks_c.most_common()} | {k for k, _ in requests_c.most_common()}
            rows = [{name: k, "requests": requests_c.get(k), "blocked": blocks_c.get(k)}
                    for k in keys]
            rows.sort(key=lambda r: (-r["blocked"], -r["requests"], r[name]))
            return rows

        return {
            "schema": SCHEMA,
            "generated": iso(now if now is not None else dt.datetime.now().timestamp()),
            "timezone": timezone,
            "filters": filters,
            "input": {
                "files": [vars(f).copy() for f in report.files],
                "lines": report.lines,
                "bad_lines": report.bad_lines,
                "bad_examples": list(report.bad_examples),
                "filtered_out": report.filtered_out,
                "records": self.records,
            },
            "period": {"first": iso(self.first), "last": iso(self.last)},
            "totals": {
                "requests": requests,
                "allowed": allowed,
                "blocked": self.blocked,
                "blocked_request": self.blocked - self.blocked_response,
                "blocked_response": self.blocked_response,
                "block_rate": round(self.blocked / requests, 4) if requests else 0.0,
            },
            "blocks_by_category": dict(self.by_category),
            "blocks_by_source": dict(self.by_source),
            "by_profile": ranked(self.profile_requests, self.profile_blocks, "profile"),
            "by_client": ranked(self.client_requests, self.client_blocks, "client"),
            "top_blocked_hosts": [{"host": h, "category": c, "blocks": n}
                                  for (h, c), n in self.hosts.most_common(top)],
            "blocks_by_hour": [sum(row[h] for row in self.by_weekday_hour) for h in range(24)],
            "blocks_by_weekday_hour": [list(row) for row in self.by_weekday_hour],
            "daily": [{"date": day, "requests": b[0], "blocked": b[1],
                       "by_category": {c: b[2][c] for c in CATEGORY_KEYS if c in b[2]}}
                      for day, b in sorted(self.daily.items())],
            "approximate": {
                "hosts": not self.hosts.exact,
                "clients": not (self.client_blocks.exact and self.client_requests.exact),
                "profiles": not (self.profile_blocks.exact and self.profile_requests.exact),
                "days": self.days_dropped,
            },
        }


# -- time arguments ------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([mhdw])")
_UNIT = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_time(text: str, *, now: float, tz: dt.tzinfo | None) -> float:
    """``30m``, ``24h``, ``7d``, ``2w`` (ago), ``today`` (local midnight), or an ISO date or
    time (in ``tz`` when it names no offset). Raises ``ValueError`` with a readable message."""
    s = text.strip().lower()
    if m := _DURATION.fullmatch(s):
        return now - float(m.group(1)) * _UNIT[m.group(2)]
    if s == "today":
        local = dt.datetime.fromtimestamp(now, tz)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    try:
        t = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"expected a duration like 24h or 7d, 'today', or a date like "
                         f"2024-05-01, got {text!r}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=tz) if tz is not None else t.astimezone()
    return t.timestamp()


def load_zone(name: str | None) -> tuple[dt.tzinfo | None, str]:
    """The zone for hours and days: a named IANA zone, else this machine's local time."""
    if not name:
        return None, "local"
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use a name like Europe/Bucharest)") from None


def collect(paths: LogSource, *, since: float | None = None, until: float | None = None,
            profiles: Sequence[str] = (), clients: Sequence[str] = (),
            tz: dt.tzinfo | None = None, timezone: str = "local", top: int = 20,
            now: float | None = None) -> dict[str, Any]:
    """Read ``paths`` once and return the ``kidgate-stats/1`` summary. From a database the
    rows are counted there, grouped by quarter hour and by what is counted (the figures are
    the same; a school's week of decisions is not sent row by row)."""
    report = ReadReport()
    agg = Aggregator(tz)
    if isinstance(paths, DatabaseLog):
        _count_rows(paths, agg, report, since=since, until=until, profiles=profiles,
                    clients=clients)
    else:
        for d in read_decisions(paths, report, since=since, until=until, profiles=profiles,
                                clients=clients):
            agg.add(d)

    def iso(ts: float | None) -> str | None:
        return None if ts is None else dt.datetime.fromtimestamp(ts, tz).isoformat(
            timespec="seconds")
    filters = {"since": iso(since), "until": iso(until), "profiles": list(profiles),
               "clients": list(clients)}
    return agg.summary(report, filters=filters, timezone=timezone, top=top, now=now)




def _count_rows(source: DatabaseLog, agg: Aggregator, report: ReadReport, *,
                since: float | None, until: float | None, profiles: Sequence[str],
                clients: Sequence[str]) -> None:
    """Feed ``agg`` the database's grouped counts; rows the reader would refuse are counted
    as bad lines with the reader's reasons. A server gone mid-read is the report's error."""
    from storage.decisions import count_rows
    fr = FileReport(str(source))
    report.files.append(fr)
    try:
        counts = count_rows(source.db, since=since, until=until, profiles=profiles,
                            clients=clients)
    except Exception as e:  # noqa: BLE001 - the page shows the error, not a traceback
        fr.error = f"{type(e).__name__}: {e}"
        return
    fr.lines = sum(n for *_, n in counts.bad) + sum(t[2] for t in counts.times)
    for n, (why, count) in enumerate(counts.bad, 1):
        for _ in range(count):
            report.bad(fr, n, why)
    agg.add_counts(counts)


#: A valid time for :func:`parse_record` when other fields are checked.
_ANY_TS = 1_000_000_000.0
