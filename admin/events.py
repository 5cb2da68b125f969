"""The event log: decisions read from the proxy's decision log, filtered, newest first.

The log is the database's ``decisions`` table when it holds rows (a school's proxies all write
there, so the log shows every proxy's decisions), else this machine's ``decisions.jsonl`` files.
Reading goes through :func:`kidgate.stats.read_records`, the reader ``kidgate stats`` uses, so
the log and the dashboard agree on what a record is (and hotline entries are never shown as
their hash). Memory is bounded by the page asked for, not by the size of the log.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kidgate import stats
from pages import N_
from policies.categories import CATEGORIES

PER_PAGE = 50
#: A CSV export stops here: more than a spreadsheet is useful for.
MAX_EXPORT = 100_000
ACTIONS = ("allow", "block")
#: What a safeguarding lead sees: harm to the child, not their everyday browsing.
SAFEGUARDING_CATEGORIES = ("self_harm", "violence", "hate", "csam")


@dataclass(slots=True)
class Event(stats.Decision):
    """A decision as the event log shows it: the record statistics count (checked by the same
    reader, hotline hosts already replaced) and the reasons a parent reads."""

    reasons: tuple[str, ...]

    @classmethod
    def of(cls, d: stats.Decision, obj: dict[str, Any]) -> Event:
        """``d`` with the reasons of its log line ``obj``."""
        return cls(d.ts, d.client, d.profile, d.host, d.phase, d.action, d.category, d.sources,
                   _reasons(obj, d))

    def time_text(self, tz: dt.tzinfo | None = None) -> str:
        return dt.datetime.fromtimestamp(self.ts, tz).strftime("%Y-%m-%d %H:%M:%S")

    @property
    def hotline(self) -> bool:
        return self.host == stats.HOTLINE_ENTRY


@dataclass
class Filters:
    """What the visitor asked for, already checked; ``errors`` maps a field to a message."""

    profile: str = ""
    client: str = ""
    category: str = ""
    action: str = ""
    source: str = ""
    text: str = ""
    since: float | None = None
    until: float | None = None
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    #: Set by the role, not the visitor: limits that cannot be widened by a query string.
    only_profiles: tuple[str, ...] | None = None
    only_categories: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, args: Any, *, now: float, tz: dt.tzinfo | None = None) -> Filters:
        raw = {k: str(args.get(k, "")).strip()[:200] for k in
               ("profile", "client", "category", "action", "source", "q", "since", "until")}
        f = cls(profile=raw["profile"], client=raw["client"], text=raw["q"].lower(), raw=raw)
        if raw["category"] and raw["category"] not in (*CATEGORIES, stats.UNCATEGORISED):
            f.errors["category"] = N_("Choose a category from the list.")
        else:
            f.category = raw["category"]
        if raw["action"] and raw["action"] not in ACTIONS:
            f.errors["action"] = N_("Choose allowed or blocked.")
        else:
            f.action = raw["action"]
        if raw["source"] and raw["source"] not in stats.SOURCES:
            f.errors["source"] = N_("Choose a source from the list.")
        else:
            f.source = raw["source"]
        for key in ("since", "until"):
            if raw[key]:
                try:
                    setattr(f, key, stats.parse_time(raw[key], now=now, tz=tz))
                except ValueError:
                    f.errors[key] = N_("Write a time like 24h, 7d, today or 2024-05-01.")
        return f

    def match(self, e: Event) -> bool:
        if self.only_profiles is not None and e.profile not in self.only_profiles:
            return False
        if self.only_categories is not None and e.category not in self.only_categories:
            return False
        if self.category and e.category != self.category:
            return False
        if self.action and e.action != self.action:
            return False
        if self.source and self.source not in e.sources:
            return False
        if self.text and self.text not in e.host.lower() \
                and not any(self.text in r.lower() for r in e.reasons):
            return False
        return True


def _reasons(obj: dict[str, Any], d: stats.Decision) -> tuple[str, ...]:
    if d.host == stats.HOTLINE_ENTRY:
        return ("hotline list",)
    raw = obj.get("reasons")
    if not isinstance(raw, list):
        return ()
    return tuple(str(r)[:200] for r in raw[:5] if isinstance(r, str))


def iter_events(data_dir: Path, f: Filters, db: Any = None) -> Iterator[Event]:
    """Matching events, oldest first, from ``db`` (a :class:`storage.Database`) when it holds
    decision rows, else from the files in ``data_dir``."""
    report = stats.ReadReport()
    profiles: Sequence[str] = (f.profile,) if f.profile else ()
    clients: Sequence[str] = (f.client,) if f.client else ()
    for d, obj in stats.read_records(stats.log_source(data_dir, db), report, since=f.since,
                                     until=f.until, profiles=profiles, clients=clients):
        e = Event.of(d, obj)
        if f.match(e):
            yield e


@dataclass(frozen=True, slots=True)
class Page:
    events: list[Event]
    number: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))


def page(data_dir: Path, f: Filters, number: int = 1, db: Any = None) -> Page:
    """Page ``number`` (1 = newest) of the matching events, newest first. From decision rows
    the database pages and counts (unless a text search or the ``other`` source asks for what
    only the reader can judge); from files, one pass that keeps the page's worth."""
    number = max(1, number)
    source = stats.log_source(data_dir, db)
    if isinstance(source, stats.DatabaseLog) and not f.text and f.source != stats.OTHER:
        return _page_of_rows(source.db, f, number)
    keep: deque[Event] = deque(maxlen=number * PER_PAGE)
    total = 0
    for e in iter_events(data_dir, f, db):
        keep.append(e)
        total += 1
    newest_first = list(reversed(keep))
    return Page(newest_first[(number - 1) * PER_PAGE: number * PER_PAGE], number, total)


def _page_of_rows(db: Any, f: Filters, number: int) -> Page:
    from storage.decisions import page_records
    profiles: tuple[str, ...] = (f.profile,) if f.profile else ()
    if f.only_profiles is not None:  # a teacher: what was asked, within their classes
        profiles = tuple(p for p in (profiles or f.only_profiles) if p in f.only_profiles)
        if not profiles:
            return Page([], number, 0)
    categories: tuple[str, ...] | None = f.only_categories
    if f.category and f.category != stats.UNCATEGORISED:
        categories = tuple(c for c in (categories or (f.category,)) if c == f.category)
    records, total = page_records(
        db, offset=(number - 1) * PER_PAGE, limit=PER_PAGE, since=f.since, until=f.until,
        profiles=profiles, clients=(f.client,) if f.client else (), categories=categories,
        uncategorised=f.category == stats.UNCATEGORISED, action=f.action, source=f.source)
    events: list[Event] = []
    for obj in records:
        try:
            d = stats.parse_record(obj)
        except stats.BadRecord:  # the query already leaves out what the reader refuses
            continue
        events.append(Event.of(d, obj))
    return Page(events, number, total)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    """A spreadsheet must not run a host name as a formula (``=HYPERLINK(...)``)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_rows(data_dir: Path, f: Filters, tz: dt.tzinfo | None = None,
             db: Any = None) -> Iterator[str]:
    """The CSV export, one line at a time, oldest first."""
    buf = io.StringIO()
    w = csv.writer(buf)

    def flush() -> str:
        out = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return out
    w.writerow(["time", "profile", "device", "site", "phase", "action", "category", "sources",
                "reasons"])
    yield flush()
    for n, e in enumerate(iter_events(data_dir, f, db)):
        if n >= MAX_EXPORT:
            break
        w.writerow([_cell(x) for x in (e.time_text(tz), e.profile, e.client, e.host, e.phase,
                                       e.action, e.category, " ".join(e.sources),
                                       " | ".join(e.reasons))])
        yield flush()
