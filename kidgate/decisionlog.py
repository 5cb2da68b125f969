"""Structured decision log: one JSON object per line, no bodies, written off the event loop.

The files, in the proxy's data directory:

* ``decisions.jsonl``: the current day. The name never changes, so ``tail -f`` keeps working.
* ``decisions-2026-11-30.jsonl``: one closed file per past day, rotated at local midnight (or at
  the first write of a new day). A day that outgrows a tenth of the size cap is closed early
  and goes on in ``decisions-2026-11-30.1.jsonl``, ``.2`` …, so parts sort in time order.

Retention (config section ``log``): dated files more than ``retention_days`` days before today
are deleted, and the oldest go first whenever all files together exceed ``max_mb``: children's
browsing history is not kept for ever and never fills a gateway's SD card. ``retention_days: 0``
keeps no log at all: nothing is written and existing log files are deleted.

Rotation and deletion run on the log's own thread. A failure (permissions, disk full) is logged
and retried, never raised: filtering goes on, and records keep their order (when the disk stays
broken, the bounded queue fills and newer records are counted as dropped).

With a database (``database.decisions: database`` or ``both``), the same thread also writes
each batch of records as rows of the ``decisions`` table (:mod:`storage.decisions`), in one
transaction, and applies the retention to them: the proxies of a school share one log. A
database that does not answer is retried like a failing disk.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import queue
import re
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from kidgate.paths import PRIVATE_MODE
from policies.core import NEVER, Verdict
from policies.retention import DEFAULT_MAX_MB, DEFAULT_RETENTION_DAYS, MB, Retention

__all__ = ["DEFAULT_MAX_MB", "DEFAULT_RETENTION_DAYS", "MB", "DecisionLog", "LogFiles",
           "Retention", "record"]

log = logging.getLogger("kidgate")

#: Retention and the size cap are re-checked this often even when nothing rotates.
PRUNE_EVERY = 3600.0
#: The same failure is logged at most this often: a broken disk must not flood the logs.
WARN_EVERY = 3600.0
#: Records waiting for a failing disk; beyond this the queue fills and new records are dropped.
_BUFFER_LIMIT = 1 * MB
_WAKE = object()
#: The writer sleeps this long after each batch (records are on disk within about this).
BATCH_WAIT = 0.2
#: Records waiting for a database that does not answer (about 1 MB of lines' worth).
_ROWS_LIMIT = 5000


def record(*, client: str, profile: str, host: str, verdict: Verdict, phase: str,
           method: str = "", now: float | None = None) -> dict[str, Any]:
    """The log line for one decision. Hotline (csam) hosts are never written in clear."""
    shown = host
    if verdict.category == "csam":
        shown = "sha256:" + hashlib.sha256(host.encode()).hexdigest()[:16]
    return {
        "ts": round(now if now is not None else time.time(), 3),
        "client": client,
        "profile": profile,
        "host": shown,
        "phase": phase,
        "method": method,
        "action": verdict.action,
        "category": verdict.category,
        "min_age": None if verdict.min_age is None or verdict.min_age >= NEVER
        else verdict.min_age,  # as Verdict.to_dict has it, without building the whole dict
        "sources": sorted({r.source for r in verdict.reasons}),
        "reasons": [r.detail[:200] for r in verdict.reasons[:5]]
        if verdict.category != "csam" else ["hotline list"],
    }


@dataclass(frozen=True, slots=True)
class Rotated:
    path: Path
    day: dt.date
    part: int


@dataclass
class Pruned:
    """What one retention pass deleted, and what it could not delete (and why)."""

    deleted: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, OSError]] = field(default_factory=list)


class LogFiles:
    """The current log file and the dated files it was rotated into, in one directory.

    Shared by the writer thread, ``kidgate prune`` and ``kidgate stats``, so all three agree on
    the names. A user who compresses a dated file (``….jsonl.gz``) keeps it under retention."""

    def __init__(self, current: Path) -> None:
        self.current = current
        self._pattern = re.compile(re.escape(current.stem) + r"-(\d{4}-\d{2}-\d{2})(?:\.(\d+))?"
                                   + re.escape(current.suffix) + r"(?:\.gz)?")

    def parse(self, name: str) -> tuple[dt.date, int] | None:
        """(day, part) of a dated file name, else None."""
        m = self._pattern.fullmatch(name)
        if m is None:
            return None
        try:
            return dt.date.fromisoformat(m[1]), int(m[2] or 0)
        except ValueError:
            return None

    def name_for(self, day: dt.date, part: int = 0) -> Path:
        extra = f".{part}" if part else ""
        return self.current.with_name(f"{self.current.stem}-{day.isoformat()}{extra}"
                                      f"{self.current.suffix}")

    def rotated(self) -> list[Rotated]:
        """The dated files, oldest first. Raises OSError when the directory cannot be read."""
        found = []
        with os.scandir(self.current.parent) as entries:
            for entry in entries:
                key = self.parse(entry.name)
                if key is not None:
                    found.append(Rotated(Path(entry.path), *key))
        return sorted(found, key=lambda r: (r.day, r.part))

    def rotate(self, day: dt.date) -> Path:
        """Rename the current file to the next part for ``day`` (after any existing part, even
        if older parts were deleted, so names keep sorting in time order). Raises OSError."""
        parts = [r.part for r in self.rotated() if r.day == day]
        target = self.name_for(day, max(parts) + 1 if parts else 0)
        if target.exists():  # os.rename would silently replace it
            raise FileExistsError(f"{target} already exists")
        os.rename(self.current, target)
        return target

    def prune(self, retention: Retention, today: dt.date, current_size: int = 0) -> Pruned:
        """Delete dated files past the retention period, then the oldest ones while all files
        exceed the size cap. The current file counts as at least one part (it grows to that
        before it is rotated), so the cap holds between passes too. Never raises: what could
        not be deleted is returned, and the next file is tried."""
        out = Pruned()
        try:
            files = self.rotated()
        except FileNotFoundError:  # no directory yet, so no files
            return out
        except OSError as e:
            out.failed.append((self.current.parent, e))
            return out
        keep_from = retention.oldest_kept(today)
        kept: list[tuple[Rotated, int]] = []
        for r in files:
            if not retention.enabled or r.day < keep_from:
                self._delete(r.path, out)
            else:
                kept.append((r, _size(r.path)))
        total = max(current_size, retention.part_bytes) + sum(size for _, size in kept)
        for r, size in kept:  # oldest first
            if total <= retention.max_bytes:
                break
            if self._delete(r.path, out):
                total -= size
        return out

    def remove_current(self) -> OSError | None:
        try:
            self.current.unlink(missing_ok=True)
        except OSError as e:
            return e
        return None

    @staticmethod
    def _delete(path: Path, out: Pruned) -> bool:
        try:
            path.unlink()
        except FileNotFoundError:
            return True
        except OSError as e:
            out.failed.append((path, e))
            return False
        out.deleted.append(path)
        return True


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class DecisionLog:
    """Appends records to a JSONL file from a background thread, so a slow disk never stalls
    the proxy; rotates and prunes the files on that thread too. The queue is bounded: if the
    disk stops, records are counted as dropped rather than filling memory.

    ``clock`` and ``tz`` (None: this machine's local time) decide the day; ``tick`` is the
    longest the thread sleeps between checks (tests make it short)."""

    def __init__(self, path: Path, max_queue: int = 10_000, *, retention: Retention | None = None,
                 clock: Callable[[], float] = time.time, tz: dt.tzinfo | None = None,
                 tick: float = 60.0, rows: Any = None, files: bool = True) -> None:
        """``rows`` (a :class:`storage.decisions.DecisionRows`) also writes the records to the
        database; ``files=False`` (with ``rows``) writes no JSONL file at all."""
        self.path = path
        self.files = LogFiles(path)
        self.dropped = 0  # refused because the queue was full
        self.lost = 0  # taken from the queue but never written (closed while the disk failed)
        self._retention = retention or Retention()
        self._clock, self._tz, self._tick = clock, tz, tick
        self._retry = min(tick, 5.0)
        self._q: queue.Queue[object] = queue.Queue(max_queue)
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._changed.set()  # prune once at start
        # Owned by the thread from here on.
        self._fd: int | None = None
        self._ino = 0
        self._size = 0
        self._day: dt.date | None = None
        self._buf = bytearray()
        self._rows = rows
        self._files = files or rows is None
        self._rows_buf: list[dict[str, Any]] = []
        self._rows_at = 0.0  # monotonic: when a failed database write is retried
        self._midline = False  # the file ends inside a line whose rest is at the buffer's head
        self._write_at = 0.0  # monotonic times: when a failed write / rotation is retried,
        self._rotate_at = 0.0  # the next retention pass and the next check that the file is
        self._prune_at = 0.0  # still ours (not moved or deleted by someone else)
        self._check_at = 0.0
        self._warned: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, name="kidgate-decision-log", daemon=True)
        self._thread.start()

    # -- caller side: cheap, never blocks --

    @property
    def retention(self) -> Retention:
        return self._retention

    def write(self, rec: dict[str, Any]) -> None:
        if not self._retention.enabled:
            return
        try:
            self._q.put_nowait(rec)
        except queue.Full:
            self.dropped += 1

    def apply(self, retention: Retention) -> None:
        """New limits (a config reload); the thread applies them at once."""
        if retention != self._retention:
            self._retention = retention
            self._changed.set()
            self._wake()

    def close(self, timeout: float = 2.0) -> None:
        """Write what was queued before this call, then stop."""
        self._stop.set()
        self._wake()
        self._thread.join(timeout)

    def _wake(self) -> None:
        try:
            self._q.put_nowait(_WAKE)
        except queue.Full:
            pass  # the thread has work queued, it will look soon anyway

    # -- the thread --

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                took = self._take(self._timeout(), limit=_BUFFER_LIMIT)
                self._step()
                if took:
                    # Let records gather: one wake-up, one encode loop and one write per batch,
                    # not a thread switch (and a fight for the interpreter lock) per record.
                    self._stop.wait(BATCH_WAIT)
            except Exception:  # noqa: BLE001 - a bug here must not end the log for good
                if self._should_warn("error"):
                    log.exception("kidgate: decision log error")
                self._stop.wait(self._retry)
        try:
            self._take(None, limit=None)
            self._step(final=True)
        except Exception:  # noqa: BLE001
            log.exception("kidgate: decision log error")
        self.lost += self._buf.count(b"\n") + (1 if self._buf and not self._buf.endswith(b"\n")
                                               else 0)
        self.lost += len(self._rows_buf)
        self._close_file()

    def _timeout(self) -> float:
        """Sleep until a record arrives, the next tick, local midnight or a due retry."""
        if self._changed.is_set():
            return 0.0
        wait = min(self._tick, self._until_midnight(self._clock()) + 0.05)
        if self._buf:
            wait = min(wait, self._write_at - time.monotonic())
        if self._rows_buf:
            wait = min(wait, self._rows_at - time.monotonic())
        return max(wait, 0.0)

    def _take(self, timeout: float | None, limit: int | None) -> int:
        """Move queued records to the write buffer, in order; ``timeout`` None: do not wait.
        A full buffer (the disk is failing) is left alone, so the queue fills and drops.
        Returns how many records were taken."""
        if limit is not None and self._full(limit):
            self._stop.wait(timeout or 0.0)
            return 0
        try:
            item = self._q.get_nowait() if timeout is None else self._q.get(timeout=timeout)
        except queue.Empty:
            return 0
        taken = 0
        while True:
            if item is not _WAKE and self._retention.enabled:
                if self._files:
                    self._buf += _encode(item)  # type: ignore[arg-type]
                if self._rows is not None:
                    self._rows_buf.append(item)  # type: ignore[arg-type]
                taken += 1
            if limit is not None and self._full(limit):
                return taken
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                return taken

    def _full(self, limit: int) -> bool:
        """A sink is failing and its buffer is full: stop taking, so the queue fills and
        drops (counted) instead of memory growing."""
        return len(self._buf) >= limit or len(self._rows_buf) >= _ROWS_LIMIT

    def _step(self, final: bool = False) -> None:
        changed = self._changed.is_set()
        self._changed.clear()
        r = self._retention
        now, mono = self._clock(), time.monotonic()
        today = dt.datetime.fromtimestamp(now, self._tz).date()
        if not r.enabled:
            self._purge(r, today, mono, changed)
            return
        rotated = False
        if self._files:
            if self._day is None:
                self._start(today)
            if mono >= self._check_at:
                self._check_at = mono + self._tick
                self._check_moved()
            if not self._midline and mono >= self._rotate_at and (
                    self._day != today or self._size >= r.part_bytes):
                rotated = self._rotate(today, mono)
        if rotated or changed or mono >= self._prune_at:
            self._prune(r, today, mono)
        if self._buf and (final or mono >= self._write_at):
            self._flush(mono)
        if self._rows_buf and (final or mono >= self._rows_at):
            self._flush_rows(mono)

    def _start(self, today: dt.date) -> None:
        """The current file's day is that of its last write (a file left by an earlier run, or
        by a version without rotation, is rotated under the day it was last written)."""
        self._day, self._size = today, 0
        try:
            st = self.path.stat()
        except OSError:
            return
        if stat.S_ISREG(st.st_mode):
            self._day = dt.datetime.fromtimestamp(st.st_mtime, self._tz).date()
            self._size = st.st_size

    def _check_moved(self) -> None:
        """Someone deleted or moved the current file (by hand, logrotate): start a new one
        instead of writing into a file nobody can see."""
        if self._fd is None or self._midline:
            return
        try:
            moved = self.path.stat().st_ino != self._ino
        except FileNotFoundError:
            moved = True
        except OSError:
            return
        if moved:
            self._close_file()
            self._size = 0

    def _rotate(self, today: dt.date, mono: float) -> bool:
        self._close_file()
        if self._size == 0 or self._day is None:
            self._day = today
            return False
        try:
            target = self.files.rotate(self._day)
        except FileNotFoundError:  # deleted by hand: nothing to rotate
            self._day, self._size = today, 0
            return False
        except OSError as e:
            self._rotate_at = mono + self._tick
            self._warn("rotate", f"kidgate: cannot rotate the decision log {self.path}: {e}; "
                                 "still writing to it, retrying")
            return False
        self._day, self._size = today, 0
        self._recovered("rotate", f"kidgate: decision log rotated to {target.name}")
        return True

    def _prune(self, r: Retention, today: dt.date, mono: float) -> None:
        self._prune_at = mono + PRUNE_EVERY
        result = self.files.prune(r, today, self._size)
        self._report(result)
        if self._rows is not None:
            # Today plus the last ``days`` days, as for the files: rows from before the local
            # midnight that starts the oldest day kept go.
            first = dt.datetime.combine(today - dt.timedelta(days=r.days), dt.time(), self._tz)
            self._rows_call("prune", lambda: self._rows.prune(first.timestamp()))

    def _purge(self, r: Retention, today: dt.date, mono: float, changed: bool) -> None:
        """``retention_days: 0``: forget what is queued and delete every log file."""
        self._buf.clear()
        self._rows_buf.clear()
        self._midline = False
        if not changed and mono < self._prune_at:
            return
        self._prune_at = mono + PRUNE_EVERY
        if self._rows is not None:
            self._rows_call("prune", self._rows.purge)
        self._close_file()
        self._day, self._size = None, 0
        result = self.files.prune(r, today)
        error = self.files.remove_current()
        if error is not None:
            result.failed.append((self.path, error))
        self._report(result)

    def _report(self, result: Pruned) -> None:
        for path in result.deleted:
            log.info("kidgate: deleted old decision log %s", path.name)
        for path, error in result.failed:
            self._warn(f"delete {path}", f"kidgate: cannot delete old decision log {path}: "
                                         f"{error}")

    def _flush(self, mono: float) -> None:
        data = bytes(self._buf)
        written = 0
        try:
            if self._fd is None:
                self._open()
                data = bytes(self._buf)  # _open may have started a new line
            while written < len(data):
                written += os.write(self._fd, data[written:])  # type: ignore[arg-type]
        except OSError as e:
            self._close_file()
            self._write_at = mono + self._retry
            self._warn("write", f"kidgate: cannot write the decision log {self.path}: {e}; "
                                "records wait and are written when it works again")
        else:
            self._recovered("write", f"kidgate: decision log {self.path} written again")
        finally:
            if written:
                self._midline = data[written - 1] != 0x0A
                self._size += written
                del self._buf[:written]

    def _flush_rows(self, mono: float) -> None:
        """One transaction per batch; on failure the batch waits and is retried whole."""
        batch = self._rows_buf
        refused: list[int] = []
        if self._rows_call("rows", lambda: refused.append(self._rows.insert(batch) or 0)):
            del self._rows_buf[:len(batch)]
            if refused and refused[0]:
                self.lost += refused[0]
                self._warn("refused", f"kidgate: the database {self._rows.location} refused "
                                      f"{refused[0]} decision record(s)")
        else:
            self._rows_at = mono + self._retry

    def _rows_call(self, key: str, fn: Callable[[], object]) -> bool:
        """Run a database step; a failure is logged (once an hour) and reported, not raised."""
        where = self._rows.location
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - a database that fails never stops filtering
            self._warn(key, f"kidgate: cannot write decisions to the database {where}: {e}; "
                            "records wait and are written when it works again"
                       if key == "rows" else
                       f"kidgate: cannot delete old decisions in the database {where}: {e}; "
                       "retrying later")
            return False
        self._recovered(key, f"kidgate: decisions written to the database {where} again"
                        if key == "rows" else f"kidgate: old decisions deleted in {where}")
        return True

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, PRIVATE_MODE)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise IsADirectoryError(f"{self.path} is not a regular file")
            if st.st_size and not self._midline and os.pread(fd, 1, st.st_size - 1) != b"\n":
                self._buf[:0] = b"\n"  # an earlier run was cut off mid-line: start a new one
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._ino, self._size = fd, st.st_ino, st.st_size

    def _close_file(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    def _until_midnight(self, now: float) -> float:
        local = dt.datetime.fromtimestamp(now, self._tz)
        midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), self._tz)
        return max(midnight.timestamp() - now, 0.0)

    def _warn(self, key: str, message: str) -> None:
        if self._should_warn(key):
            log.warning(message)

    def _should_warn(self, key: str) -> bool:
        """Once per :data:`WARN_EVERY` for the same kind of failure."""
        mono = time.monotonic()
        last = self._warned.get(key)
        if last is None or mono - last >= WARN_EVERY:
            self._warned[key] = mono
            return True
        return False

    def _recovered(self, key: str, message: str) -> None:
        if self._warned.pop(key, None) is not None:
            log.warning(message)


def _encode(rec: dict[str, Any]) -> bytes:
    """One line; a record that cannot be written as UTF-8 JSON is escaped, never fatal."""
    try:
        return orjson.dumps(rec, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:  # orjson refuses lone surrogates and unknown types: the slow path
        pass
    try:
        return (json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in a host name
        return (json.dumps(rec) + "\n").encode("ascii")
    except (TypeError, ValueError):
        return (json.dumps({k: str(v) for k, v in rec.items()}) + "\n").encode("ascii")
