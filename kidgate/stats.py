"""``kidgate stats``: what was blocked, for whom and when, read from the decision log.

Parents and school admins want charts, not log lines. This module streams every retained file
of the decision log in time order: rotations made by another tool (``decisions.jsonl.1``,
``decisions.jsonl.2.gz``, ``decisions.jsonl-20240501.gz`` …), kidgate's daily files
(``decisions-2024-05-01.jsonl``, ``decisions-2024-05-01.1.jsonl`` …, also ``.gz``) and the
current ``decisions.jsonl`` (the only file of versions before rotation). Lines are read one at a
time, so a log of any size is read in bounded memory on a small gateway: open
ended keys (hosts, clients, profiles) go through :class:`BoundedCounter`, the timeline is capped
in days, and an over-long line is skipped without being held in memory. A line that is not a
decision (truncated, binary, wrong types) is counted and skipped, never fatal.

Hotline (``csam``) hosts are logged as hashes; they are shown only as ``"hotline entry"`` here,
never as the hash, so neither the host nor anything that identifies it leaves this command.

Counting: the proxy logs one ``request`` record per request (allow or block) and a second,
``response`` record when a page allowed on its request is blocked on its content. So
``requests`` = records of the request phase, ``blocked`` = block records of either phase and
``allowed`` = ``requests - blocked``.

JSON output (``--json``), schema ``kidgate-stats/1``::

    {
      "schema": "kidgate-stats/1",
      "generated": ISO-8601 time, "timezone": zone name or "local",
      "filters": {"since": ISO|null, "until": ISO|null, "profiles": [str], "clients": [str]},
      "input": {"files": [{"path", "lines", "bad_lines", "error": str|null}],
                "lines": int, "bad_lines": int, "bad_examples": ["file:line: why"],
                "filtered_out": int, "records": int},
      "period": {"first": ISO|null, "last": ISO|null},
      "totals": {"requests", "allowed", "blocked", "blocked_request", "blocked_response": int,
                 "block_rate": float 0..1},
      "blocks_by_category": {category: int},  every vocabulary name, then "uncategorised"
                                              (schedule, own deny list, age-only label) and
                                              "other" (a name outside the vocabulary)
      "blocks_by_source": {source: int},      list label classifier policy schedule error other;
                                              a block with reasons from two sources counts in both
      "by_profile": [{"profile", "requests", "blocked"}],   most blocked first
      "by_client":  [{"client", "requests", "blocked"}],    most blocked first
      "top_blocked_hosts": [{"host", "category", "blocks"}],  hotline hosts as "hotline entry"
      "blocks_by_hour": [24 ints],                   local hour of day
      "blocks_by_weekday_hour": [7 x [24 ints]],     Monday first
      "daily": [{"date": "YYYY-MM-DD", "requests", "blocked", "by_category": {category: int}}],
      "approximate": {"hosts", "clients", "profiles", "days": bool},
      "charts": [paths]                              only with --charts
    }

``approximate`` is true when a bounded counter had to drop keys: the counts shown are then
lower bounds (at most the number of dropped increments low), and the ranking is that of
Misra-Gries heavy hitters.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import re
import sys
import zlib
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kidgate.decisionlog import LogFiles
from policies.categories import CATEGORIES

SCHEMA = "kidgate-stats/1"
LOG_NAME = "decisions.jsonl"
#: ``decisions.jsonl``, ``.1``, ``.2.gz``, ``.gz``, logrotate's ``-20240501`` and ``-20240501.gz``.
_LOG_FILE = re.compile(r"^decisions\.jsonl(?:[.-]\d+)?(?:\.gz)?$")

HOTLINE_ENTRY = "hotline entry"
UNCATEGORISED = "uncategorised"
OTHER = "other"
UNKNOWN = "(unknown)"
SOURCES: tuple[str, ...] = ("list", "label", "classifier", "policy", "schedule", "error", OTHER)
CATEGORY_KEYS: tuple[str, ...] = (*CATEGORIES, UNCATEGORISED, OTHER)
WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

#: A real record is a few hundred bytes; anything longer is garbage and is never held whole.
MAX_LINE = 64 * 1024
#: Timestamps outside 2000..2100 are corrupt, not decisions.
_MIN_TS, _MAX_TS = 946_684_800.0, 4_102_444_800.0
#: Bounds on what is remembered per distinct key: memory stays flat on any log.
HOST_CAPACITY = 5_000
CLIENT_CAPACITY = 2_000
PROFILE_CAPACITY = 500
MAX_DAYS = 4_000
MAX_BAD_EXAMPLES = 5
_MAX_KEY = 253  # longest DNS name; longer strings are cut so one key stays small

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

    def add(self, key: K) -> None:
        counts = self.counts
        if key in counts:
            counts[key] += 1
        elif len(counts) < self.capacity:
            counts[key] = 1
        else:
            # Decrement every key (and the new one) by one; at most n / (capacity + 1) times
            # over the whole stream, so the cost stays linear.
            self.error += 1
            self.counts = {k: v - 1 for k, v in counts.items() if v > 1}

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


@dataclass(slots=True)
class Decision:
    """One valid log record, reduced to what statistics need (no reasons, no hashes)."""

    ts: float
    client: str
    profile: str
    host: str
    phase: str
    action: str
    category: str
    sources: tuple[str, ...]


class BadRecord(ValueError):
    """A line that is not a decision record; the message says why (never the content)."""


_CATEGORY_SET = frozenset(CATEGORIES)
_SOURCE_SET = frozenset(SOURCES)
#: Source lists seen so far -> their normalised tuple; a log has only a handful of them.
_SOURCES_SEEN: dict[tuple[str, ...], tuple[str, ...]] = {(): ()}


def _text(value: object, name: str) -> str:
    if value is None or value == "":
        return UNKNOWN
    if type(value) is not str:
        raise BadRecord(f"{name} is not a string")
    return value[:_MAX_KEY]


def parse_record(obj: object) -> Decision:
    """Validate one decoded line. Missing optional fields become ``(unknown)``; a field of
    the wrong type makes the whole line bad, since its other fields cannot be trusted.
    Exact ``type`` checks (JSON yields no subclasses) keep this cheap: it runs per line."""
    if type(obj) is not dict:
        raise BadRecord("not a JSON object")
    get = obj.get
    ts = get("ts")
    kind = type(ts)
    if kind is not float and kind is not int:  # bool is neither
        raise BadRecord("ts is not a number")
    if not _MIN_TS <= ts <= _MAX_TS:  # also false for NaN
        raise BadRecord("ts out of range")
    action = get("action")
    if action != "allow" and action != "block":
        raise BadRecord("action is not allow or block")
    cat = get("category")
    if cat is None:
        category = UNCATEGORISED
    elif type(cat) is str:
        category = cat if cat in _CATEGORY_SET else OTHER
    else:
        raise BadRecord("category is not a string")
    client = _text(get("client"), "client")
    profile = _text(get("profile"), "profile")
    host = _text(get("host"), "host")
    phase = _text(get("phase"), "phase")
    raw = get("sources")
    if raw is None:
        sources: tuple[str, ...] = ()
    elif type(raw) is not list or not all(type(x) is str for x in raw):
        raise BadRecord("sources is not a list of strings")
    else:
        key = tuple(raw)
        cached = _SOURCES_SEEN.get(key)
        if cached is None:
            cached = tuple(sorted({x if x in _SOURCE_SET else OTHER for x in raw}))
            if len(_SOURCES_SEEN) < 256:
                _SOURCES_SEEN[key] = cached
        sources = cached
    if category == "csam" or host.startswith("sha256:"):
        host = HOTLINE_ENTRY  # never the hash, nor a clear host an older version may have logged
    return Decision(float(ts), client, profile, host, phase, action, category, sources)


def log_files(data_dir: Path) -> list[Path]:
    """The decision log's files in ``data_dir``, oldest first: another tool's rotations (by
    modification time), then kidgate's daily files (by the date and part in their names, which
    a copy does not change), then the current ``decisions.jsonl``."""
    dated = LogFiles(data_dir / LOG_NAME)
    try:
        found = [p for p in data_dir.iterdir() if p.is_file()]
    except OSError:
        return []

    def order(p: Path) -> tuple[int, float, int, str] | None:
        if p.name == LOG_NAME:
            return (2, 0.0, 0, p.name)
        if (day_part := dated.parse(p.name)) is not None:
            return (1, float(day_part[0].toordinal()), day_part[1], p.name)
        if _LOG_FILE.match(p.name):
            try:
                return (0, p.stat().st_mtime, 0, p.name)
            except OSError:
                return (0, 0.0, 0, p.name)
        return None
    keyed = [(k, p) for p in found if (k := order(p)) is not None]
    return [p for _, p in sorted(keyed)]


@dataclass(frozen=True)
class DatabaseLog:
    """The decision log as rows of a database (``database.decisions``), read in place of the
    files: every proxy sharing the database writes there."""

    db: Any  # storage.Database

    def __str__(self) -> str:
        return f"database {self.db.display}"


#: What the readers accept: the log's files, or its rows in a database.
LogSource = Sequence[Path] | DatabaseLog


def log_source(data_dir: Path, db: Any = None) -> LogSource:
    """Where the decision log is: the database ``db`` (a :class:`storage.Database`) when it
    holds decision rows, else the files in ``data_dir``. A database that cannot be read falls
    back to the files, which a home gateway keeps anyway."""
    if db is not None:
        try:
            from storage.decisions import has_rows
            if has_rows(db):
                return DatabaseLog(db)
        except Exception:  # noqa: BLE001 - the files are still there to read
            pass
    return log_files(data_dir)


@dataclass
class FileReport:
    path: str
    lines: int = 0
    bad_lines: int = 0
    error: str | None = None


@dataclass
class ReadReport:
    """What reading cost: per-file line counts, bad lines and a few examples of why."""

    files: list[FileReport] = field(default_factory=list)
    bad_examples: list[str] = field(default_factory=list)
    filtered_out: int = 0

    @property
    def lines(self) -> int:
        return sum(f.lines for f in self.files)

    @property
    def bad_lines(self) -> int:
        return sum(f.bad_lines for f in self.files)

    def bad(self, fr: FileReport, lineno: int, why: str) -> None:
        fr.bad_lines += 1
        if len(self.bad_examples) < MAX_BAD_EXAMPLES:
            self.bad_examples.append(f"{fr.path}:{lineno}: {why}")


def _open(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


def _lines(f: IO[bytes]) -> Iterator[bytes | None]:
    """Lines of at most MAX_LINE bytes; ``None`` for a longer one, skipped in pieces."""
    while True:
        line = f.readline(MAX_LINE)
        if not line:
            return
        if len(line) >= MAX_LINE and not line.endswith(b"\n"):
            while True:
                rest = f.readline(MAX_LINE)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        yield line


_decode = json.JSONDecoder().decode


def read_decisions(paths: Iterable[Path] | DatabaseLog, report: ReadReport, *,
                   since: float | None = None, until: float | None = None,
                   profiles: Sequence[str] = (), clients: Sequence[str] = ()
                   ) -> Iterator[Decision]:
    """Stream the valid decisions of ``paths`` that pass the filters. Bad lines and
    unreadable or truncated files are recorded in ``report``; reading always goes on."""
    for d, _ in read_records(paths, report, since=since, until=until, profiles=profiles,
                             clients=clients):
        yield d


def read_records(paths: Iterable[Path] | DatabaseLog, report: ReadReport, *,
                 since: float | None = None, until: float | None = None,
                 profiles: Sequence[str] = (), clients: Sequence[str] = ()
                 ) -> Iterator[tuple[Decision, dict[str, Any]]]:
    """As :func:`read_decisions`, with each decision's decoded line beside it, for readers
    that show more than statistics count (the admin app's event log shows the reasons)."""
    if isinstance(paths, DatabaseLog):
        yield from _read_rows(paths, report, since=since, until=until, profiles=profiles,
                              clients=clients)
        return
    want_profiles = set(profiles)
    want_clients = set(clients)
    for path in paths:
        fr = FileReport(str(path))
        report.files.append(fr)
        try:
            with _open(path) as f:
                for lineno, line in enumerate(_lines(f), 1):
                    fr.lines += 1
                    if line is None:
                        report.bad(fr, lineno, f"line longer than {MAX_LINE} bytes")
                        continue
                    if not line.strip():
                        fr.lines -= 1  # blank lines are not records
                        continue
                    try:
                        obj = _decode(line.decode("utf-8"))
                        d = parse_record(obj)
                    except BadRecord as e:
                        report.bad(fr, lineno, str(e))
                        continue
                    except (ValueError, RecursionError):  # also UnicodeDecodeError
                        report.bad(fr, lineno, "not valid JSON")
                        continue
                    if (since is not None and d.ts < since) \
                            or (until is not None and d.ts >= until) \
                            or (want_profiles and d.profile not in want_profiles) \
                            or (want_clients and d.client not in want_clients):
                        report.filtered_out += 1
                        continue
                    yield d, obj
        except (OSError, EOFError, zlib.error) as e:  # unreadable, bad or truncated gzip
            fr.error = f"{type(e).__name__}: {e}"


def _read_rows(source: DatabaseLog, report: ReadReport, *, since: float | None,
               until: float | None, profiles: Sequence[str], clients: Sequence[str]
               ) -> Iterator[tuple[Decision, dict[str, Any]]]:
    """The rows of the ``decisions`` table, filtered by the database, checked as lines are."""
    from storage.decisions import iter_records
    fr = FileReport(str(source))
    report.files.append(fr)
    try:
        for n, obj in enumerate(iter_records(source.db, since=since, until=until,
                                             profiles=profiles, clients=clients), 1):
            fr.lines += 1
            try:
                d = parse_record(obj)
            except BadRecord as e:
                report.bad(fr, n, str(e))
                continue
            yield d, obj
    except Exception as e:  # noqa: BLE001 - a server gone mid-read: what was read counts
        fr.error = f"{type(e).__name__}: {e}"


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
        bucket = self.daily.get(day)
        if bucket is None:
            if len(self.daily) < MAX_DAYS:
                bucket = self.daily[day] = [0, 0, {}]
            else:
                self.days_dropped = True
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
    """Read ``paths`` once and return the ``kidgate-stats/1`` summary."""
    report = ReadReport()
    agg = Aggregator(tz)
    for d in read_decisions(paths, report, since=since, until=until, profiles=profiles,
                            clients=clients):
        agg.add(d)

    def iso(ts: float | None) -> str | None:
        return None if ts is None else dt.datetime.fromtimestamp(ts, tz).isoformat(
            timespec="seconds")
    filters = {"since": iso(since), "until": iso(until), "profiles": list(profiles),
               "clients": list(clients)}
    return agg.summary(report, filters=filters, timezone=timezone, top=top, now=now)


# -- text output ---------------------------------------------------------------------------

def _table(headers: Sequence[str], rows: Iterable[Sequence[object]],
           right: Sequence[int] = ()) -> list[str]:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = []
    for n, row in enumerate(cells):
        parts = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        out.append("  " + "  ".join(parts).rstrip())
        if n == 0:
            out.append("  " + "  ".join("-" * w for w in widths))
    return out


def _fmt(value: object) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def _short(ts: str | None) -> str:
    return "-" if ts is None else ts[:16].replace("T", " ")


def describe_filters(summary: dict[str, Any]) -> str:
    """One line naming the period and filters, shown under every table and chart title."""
    f = summary["filters"]
    p = summary["period"]
    parts = []
    start = f["since"] or p["first"]
    end = f["until"] or p["last"]
    if start and end:
        parts.append(f"{_short(start)} to {_short(end)}")
    elif start or end:
        parts.append(f"from {_short(start)}" if start else f"until {_short(end)}")
    else:
        parts.append("no decisions")
    if f["profiles"]:
        parts.append("profile " + ", ".join(f["profiles"]))
    if f["clients"]:
        parts.append("device " + ", ".join(f["clients"]))
    zone = summary["timezone"]
    parts.append("local time" if zone == "local" else f"times in {zone}")
    return " · ".join(parts)


#: Days listed in the text summary; the JSON and the timeline chart have them all.
DAYS_SHOWN = 31


def render_text(summary: dict[str, Any], *, rows: int = 10) -> str:
    """Aligned tables for a terminal or an e-mail."""
    t = summary["totals"]
    inp = summary["input"]
    lines = ["kidgate: blocked and allowed requests", "  " + describe_filters(summary)]
    files = len(inp["files"])
    lines.append(f"  read {inp['lines']:,} lines from {files} file{'s' if files != 1 else ''}; "
                 f"{inp['bad_lines']:,} bad lines skipped; "
                 f"{inp['filtered_out']:,} outside the filters")
    for fr in inp["files"]:
        if fr["error"]:
            lines.append(f"  warning: {fr['path']}: stopped early ({fr['error']})")
    lines.append("")
    lines += _table(["requests", "allowed", "blocked", "blocked %"],
                    [[t["requests"], t["allowed"], t["blocked"],
                      _pct(t["blocked"], t["requests"])]], right=range(4))
    if t["blocked_response"]:
        lines.append(f"  ({t['blocked_response']:,} of the blocks were made after reading "
                     "the page)")
    blocked = t["blocked"]

    lines += ["", "Blocks by category"]
    cats = [(c, n) for c, n in summary["blocks_by_category"].items()
            if n or c in CATEGORIES]
    lines += _table(["category", "blocks", "share"],
                    [[c, n, _pct(n, blocked)] for c, n in cats], right=(1, 2))

    lines += ["", "Blocks by reason source (a block may have several)"]
    lines += _table(["source", "blocks"],
                    [[s, n] for s, n in summary["blocks_by_source"].items() if n], right=(1,))

    for key, title in (("by_profile", "profile"), ("by_client", "device")):
        lines += ["", f"By {title}" + (" (approximate)" if summary["approximate"][
            "profiles" if key == "by_profile" else "clients"] else "")]
        data = summary[key][:rows]
        name = "profile" if key == "by_profile" else "client"
        lines += _table([title, "requests", "blocked", "blocked %"],
                        [[r[name], r["requests"], r["blocked"], _pct(r["blocked"], r["requests"])]
                         for r in data], right=(1, 2, 3))
        if len(summary[key]) > rows:
            lines.append(f"  … and {len(summary[key]) - rows:,} more")

    hosts = summary["top_blocked_hosts"]
    lines += ["", "Most blocked sites" + (" (approximate)" if summary["approximate"]["hosts"]
                                          else "")]
    lines += _table(["site", "category", "blocks"],
                    [[h["host"], h["category"], h["blocks"]] for h in hosts], right=(2,))

    by_hour = summary["blocks_by_hour"]
    peak = max(by_hour) or 1
    lines += ["", "Blocks by hour of day"]
    lines += _table(["hour", "blocks", ""],
                    [[f"{h:02d}:00", n, "#" * round(30 * n / peak)] for h, n in enumerate(by_hour)],
                    right=(1,))

    daily = summary["daily"]
    lines += ["", "Per day" + (f" (last {DAYS_SHOWN} of {len(daily)} days; all in --json)"
                               if len(daily) > DAYS_SHOWN else "")]
    lines += _table(["date", "requests", "blocked", "top category"],
                    [[d["date"], d["requests"], d["blocked"], _top_category(d["by_category"])]
                     for d in daily[-DAYS_SHOWN:]], right=(1, 2))
    if inp["bad_examples"]:
        lines += ["", "Skipped lines (first few):"] + ["  " + e for e in inp["bad_examples"]]
    if "charts" in summary:
        lines += ["", "Charts:"] + ["  " + p for p in summary["charts"]]
    return "\n".join(lines) + "\n"


def _top_category(by_category: dict[str, int]) -> str:
    if not by_category:
        return "-"
    cat, n = max(by_category.items(), key=lambda kv: kv[1])
    return f"{cat} ({n:,})"


# -- charts --------------------------------------------------------------------------------

#: One colour per category, the same in every chart, chosen to be told apart and to hint at
#: the meaning (reds for the gravest).
COLOURS: dict[str, str] = {
    "csam": "#67000d", "sexual": "#e7298a", "violence": "#d62728", "hate": "#7b3294",
    "offensive": "#ff7f0e", "self_harm": "#8c564b", "drugs": "#2ca02c", "gambling": "#bcbd22",
    "weapons": "#525252", "dating": "#f4a6c8", "social": "#1f77b4", "bypass": "#17becf",
    "malware": "#000000", UNCATEGORISED: "#bdbdbd", OTHER: "#d9d9d9",
}

CHART_FILES = ("blocks_by_category.png", "timeline.png", "hours.png", "top_hosts.png")


def write_charts(summary: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write the four PNG charts to ``out_dir`` and return their paths. Uses matplotlib's
    object API with the Agg canvas: no display, no global pyplot state."""
    from kidgate.extras import require
    require("matplotlib", "charts", "kidgate stats --charts")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out_dir.mkdir(parents=True, exist_ok=True)
    subtitle = describe_filters(summary)
    written = []
    for name, draw, size in (("blocks_by_category.png", _chart_categories, (9, 6)),
                             ("timeline.png", _chart_timeline, (11, 6)),
                             ("hours.png", _chart_hours, (12, 5)),
                             ("top_hosts.png", _chart_hosts, (10, 7))):
        fig = Figure(figsize=size, dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        draw(fig, summary)
        fig.supxlabel(f"kidgate · {subtitle}", fontsize=8, color="#555555")
        path = out_dir / name
        fig.savefig(path, format="png")
        written.append(path)
    return written


def _empty(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"No {what} in this period", ha="center", va="center",
            transform=ax.transAxes, fontsize=14, color="#777777")
    ax.set_xticks([])
    ax.set_yticks([])


def _chart_categories(fig: Any, summary: dict[str, Any]) -> None:
    ax = fig.add_subplot()
    counts = summary["blocks_by_category"]
    cats = [c for c in CATEGORY_KEYS if c in CATEGORIES or counts.get(c)]
    values = [counts.get(c, 0) for c in cats]
    ax.set_title("Blocked requests by category", fontsize=14, loc="left")
    if not any(values):
        _empty(ax, "blocked requests")
        return
    y = list(range(len(cats)))
    bars = ax.barh(y, values, color=[COLOURS[c] for c in cats], edgecolor="#333333",
                   linewidth=0.4)
    ax.set_yticks(y, [c.replace("_", " ") if c in (UNCATEGORISED, OTHER) else c for c in cats])
    ax.invert_yaxis()
    ax.bar_label(bars, labels=[f"{v:,}" if v else "0" for v in values], padding=3, fontsize=9)
    ax.set_xlabel("blocked requests")
    ax.set_ylabel("category")
    ax.set_xlim(0, max(values) * 1.15)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)


def _chart_timeline(fig: Any, summary: dict[str, Any]) -> None:
    ax = fig.add_subplot()
    days = summary["daily"]
    if not days or not any(d["blocked"] for d in days):
        ax.set_title("Blocked requests per day, by category", fontsize=14, loc="left")
        _empty(ax, "blocked requests")
        return
    dates, series = _timeline_series(days)
    weekly = len(dates) > 1 and (dates[1] - dates[0]).days == 7
    unit = "week" if weekly else "day"
    ax.set_title(f"Blocked requests per {unit}, by category", fontsize=14, loc="left")
    width = 6.0 if weekly else 0.8
    bottom = [0] * len(dates)
    for cat in CATEGORY_KEYS:
        vals = series.get(cat)
        if not vals:
            continue
        ax.bar(dates, vals, width=width, bottom=bottom, color=COLOURS[cat],
               label=cat, edgecolor="white", linewidth=0.3, align="edge" if weekly else "center")
        bottom = [b + v for b, v in zip(bottom, vals)]
    import matplotlib.dates as mdates
    locator = mdates.AutoDateLocator(maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("week starting" if weekly else "date")
    ax.set_ylabel(f"blocked requests per {unit}")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(title="category", loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)


def _timeline_series(days: list[dict[str, Any]]) -> tuple[list[dt.date], dict[str, list[int]]]:
    """Every date from the first to the last (empty days as zero); weeks past 92 days so the
    bars stay wide enough to read."""
    by_date = {dt.date.fromisoformat(d["date"]): d["by_category"] for d in days}
    first, last = min(by_date), max(by_date)
    span = (last - first).days + 1
    if span > 92:
        first -= dt.timedelta(days=first.weekday())
        step = 7
    else:
        step = 1
    dates = [first + dt.timedelta(days=i) for i in range(0, (last - first).days + 1, step)]
    index = {d: i for i, d in enumerate(dates)}
    series: dict[str, list[int]] = {}
    for day, cats in by_date.items():
        i = index[first + dt.timedelta(days=((day - first).days // step) * step)]
        for cat, n in cats.items():
            series.setdefault(cat, [0] * len(dates))[i] += n
    return dates, series


def _chart_hours(fig: Any, summary: dict[str, Any]) -> None:
    grid = summary["blocks_by_weekday_hour"]
    gs = fig.add_gridspec(2, 2, height_ratios=(1, 3), width_ratios=(40, 1))
    top = fig.add_subplot(gs[0, 0])
    ax = fig.add_subplot(gs[1, 0], sharex=top)
    cax = fig.add_subplot(gs[1, 1])
    top.set_title(f"When requests were blocked (hour of day, {summary['timezone']} time)",
                  fontsize=14, loc="left")
    by_hour = summary["blocks_by_hour"]
    top.bar(range(24), by_hour, color="#d62728", width=0.8)
    top.set_ylabel("blocks")
    top.tick_params(labelbottom=False)
    top.grid(axis="y", alpha=0.3)
    top.set_axisbelow(True)
    peak = max(max(row) for row in grid)
    image = ax.imshow(grid, aspect="auto", cmap="YlOrRd", vmin=0, vmax=max(peak, 1),
                      extent=(-0.5, 23.5, 6.5, -0.5), interpolation="nearest")
    ax.set_xticks(range(24), [f"{h:02d}" for h in range(24)])
    ax.set_yticks(range(7), WEEKDAYS)
    ax.set_xlabel("hour of day")
    ax.set_ylabel("day of week")
    if 0 < peak:
        for d, row in enumerate(grid):
            for h, n in enumerate(row):
                if n:
                    ax.text(h, d, f"{n:,}", ha="center", va="center", fontsize=7,
                            color="white" if n > peak * 0.6 else "#222222")
    from matplotlib.ticker import MaxNLocator
    bar = fig.colorbar(image, cax=cax, label="blocked requests")
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    top.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))


def _chart_hosts(fig: Any, summary: dict[str, Any]) -> None:
    ax = fig.add_subplot()
    hosts = summary["top_blocked_hosts"][:20]
    ax.set_title(f"Most blocked sites (top {len(hosts)})" if hosts else "Most blocked sites",
                 fontsize=14, loc="left")
    if not hosts:
        _empty(ax, "blocked sites")
        return
    y = list(range(len(hosts)))
    values = [h["blocks"] for h in hosts]
    bars = ax.barh(y, values, color=[COLOURS.get(h["category"], COLOURS[OTHER]) for h in hosts],
                   edgecolor="#333333", linewidth=0.4)
    ax.set_yticks(y, [_ellipsize(h["host"], 40) for h in hosts], fontsize=9)
    ax.invert_yaxis()
    ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3, fontsize=9)
    ax.set_xlabel("blocked requests")
    ax.set_ylabel("site")
    ax.set_xlim(0, max(values) * 1.15)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    from matplotlib.patches import Patch
    present = [c for c in CATEGORY_KEYS if any(h["category"] == c for h in hosts)]
    ax.legend(handles=[Patch(color=COLOURS[c], label=c) for c in present], title="category",
              loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)


def _ellipsize(text: str, n: int) -> str:
    return text if len(text) <= n else "…" + text[-(n - 1):]


# -- command -------------------------------------------------------------------------------

def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``kidgate stats`` to the main command's subparsers."""
    p = subparsers.add_parser(
        "stats", help="statistics and charts of blocked and allowed requests",
        description="Summarise the decision log (decisions.jsonl and the daily files it is "
                    "rotated into) as tables, JSON or PNG charts.")
    # SUPPRESS: an absent option must not overwrite a --data-dir given to the main CLI.
    p.add_argument("--data-dir", dest="data_dir", metavar="DIR", type=Path,
                   default=argparse.SUPPRESS,
                   help="kidgate's data directory (default: the proxy's, $KIDGATE_HOME or "
                        "~/.local/share/kidgate); reads decisions.jsonl and its daily files")
    p.add_argument("--log", dest="stats_logs", metavar="PATH", type=Path, action="append",
                   default=[], help="read this log file instead (repeatable; .gz allowed)")
    p.add_argument("--database", dest="stats_database", metavar="URL",
                   help="read the decision rows of this database instead (the configuration's "
                        "database.url, e.g. postgresql+psycopg://USER@HOST/DB): every proxy "
                        "that shares it")
    p.add_argument("--since", metavar="WHEN",
                   help="only decisions from WHEN: 24h, 7d, 2w, today, or a date 2024-05-01")
    p.add_argument("--until", metavar="WHEN", help="only decisions before WHEN (same forms)")
    p.add_argument("--profile", dest="stats_profiles", metavar="NAME", action="append",
                   default=[], help="only this profile (repeatable)")
    p.add_argument("--client", dest="stats_clients", metavar="ADDR", action="append",
                   default=[], help="only this device, as logged (repeatable)")
    p.add_argument("--tz", dest="stats_tz", metavar="ZONE",
                   help="time zone for hours and days, e.g. Europe/Bucharest (default: local)")
    p.add_argument("--top", dest="stats_top", metavar="N", type=int, default=20,
                   help="how many blocked sites to list (default 20)")
    p.add_argument("--json", dest="stats_json", action="store_true",
                   help="print the summary as JSON (schema kidgate-stats/1)")
    p.add_argument("--charts", dest="stats_charts", metavar="DIR", type=Path,
                   help="also write PNG charts to DIR")
    p.set_defaults(func=cmd_stats)


def cmd_stats(args: argparse.Namespace, out: IO[str] | None = None,
              now: float | None = None) -> int:
    """Run ``kidgate stats``; 0 on success, 2 on a usage error or when there is no log."""
    out = out or sys.stdout
    now = dt.datetime.now().timestamp() if now is None else now
    try:
        tz, zone_name = load_zone(args.stats_tz)
        since = parse_time(args.since, now=now, tz=tz) if args.since else None
        until = parse_time(args.until, now=now, tz=tz) if args.until else None
    except ValueError as e:
        print(f"kidgate stats: {e}", file=sys.stderr)
        return 2
    if args.stats_top < 1:
        print("kidgate stats: --top must be at least 1", file=sys.stderr)
        return 2
    paths: LogSource
    if getattr(args, "stats_database", None):
        from storage import Database, DatabaseError
        try:
            paths = DatabaseLog(Database.shared(args.stats_database))
        except DatabaseError as e:
            print(f"kidgate stats: {e}", file=sys.stderr)
            return 2
    elif args.stats_logs:
        paths = list(args.stats_logs)
        missing = [p for p in paths if not p.is_file()]
        if missing:
            print(f"kidgate stats: no such log file: {missing[0]}", file=sys.stderr)
            return 2
    else:
        data_dir = getattr(args, "data_dir", None)
        if data_dir is None:
            from kidgate.paths import default_data_dir
            data_dir = default_data_dir()
        paths = log_files(Path(data_dir))
        if not paths and (Path(data_dir) / "kidgate.db").is_file():
            # No files: the proxy may write its log to the database (database.decisions).
            from storage import Database
            try:
                paths = log_source(Path(data_dir), Database.shared(
                    f"sqlite:///{Path(data_dir) / 'kidgate.db'}"))
            except Exception:  # noqa: BLE001 - then there is simply no log to read
                paths = []
        if not paths:
            print(f"kidgate stats: no {LOG_NAME} in {data_dir} (has the proxy run? "
                  "use --data-dir DIR or --log PATH)", file=sys.stderr)
            return 2
    summary = collect(paths, since=since, until=until, profiles=args.stats_profiles,
                      clients=args.stats_clients, tz=tz, timezone=zone_name,
                      top=args.stats_top, now=now)
    if args.stats_charts is not None:
        try:
            summary["charts"] = [str(p) for p in write_charts(summary, args.stats_charts)]
        except OSError as e:
            print(f"kidgate stats: cannot write charts to {args.stats_charts}: {e}",
                  file=sys.stderr)
            return 2
    text = (json.dumps(summary, ensure_ascii=False, indent=2) + "\n" if args.stats_json
            else render_text(summary))
    try:
        out.write(text)
    except UnicodeEncodeError:  # a host name with letters the terminal cannot show
        enc = getattr(out, "encoding", None) or "ascii"
        out.write(text.encode(enc, "replace").decode(enc))
    out.flush()
    return 0
