"""Reading the decision log: its files in time order (any rotation scheme, gzip too) or its
rows in a database, one bounded line at a time; bad lines are counted, never fatal."""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from kidgate.decisionlog import LogFiles
from kidgate.stats.records import BadRecord, Decision, parse_record


LOG_NAME = "decisions.jsonl"
#: ``decisions.jsonl``, ``.1``, ``.2.gz``, ``.gz``, logrotate's ``-20240501`` and ``-20240501.gz``.
_LOG_FILE = re.compile(r"^decisions\.jsonl(?:[.-]\d+)?(?:\.gz)?$")

#: A real record is a few hundred bytes; anything longer is garbage and is never held whole.
MAX_LINE = 64 * 1024
MAX_BAD_EXAMPLES = 5


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


