"""Lists that stay fresh by themselves: a running kidgate updates them in the background.

Once a day at a quiet hour (03:00 local by default, plus a random delay of up to an hour so that
many homes do not all knock at the same minute), the configured sources are downloaded, verified
and compiled exactly as ``kidgate lists update`` does, in a separate low-priority process (the
compile is CPU work and must not compete with the proxy's event loop), and the new store is
swapped in atomically; the proxy's :class:`~lists.watch.ListWatcher` maps it within seconds. A
failure keeps the lists in use and retries with growing pauses (15 minutes, doubling, at most a
day). What happened is kept in ``lists-update.json`` beside the store: ``kidgate lists info``
and the admin app show the last update, its result and the next one.

```yaml
lists:
  auto_update: true          # or false, or {hour: 3, jitter_minutes: 60, first_delay_minutes: 5}
```
"""

from __future__ import annotations

import collections
import datetime as dt
import fcntl
import json
import logging
import os
import random
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = ["AutoUpdate", "AutoUpdater", "UpdateState", "next_run", "parse_auto_update",
           "read_state", "state_path"]

log = logging.getLogger("kidgate.lists")

STATE_FILE = "lists-update.json"
FIRST_BACKOFF = dt.timedelta(minutes=15)
MAX_BACKOFF = dt.timedelta(days=1)
#: A download and compile that takes longer than this is stopped and counts as a failure.
RUN_TIMEOUT = 3 * 3600.0


@dataclass(frozen=True, slots=True)
class AutoUpdate:
    """When to update. ``enabled`` false: never by itself (``kidgate lists update`` still works)."""

    enabled: bool = True
    hour: int = 3
    jitter_minutes: int = 60
    #: Lists never updated on this machine: the first update comes this soon after start.
    first_delay_minutes: float = 5.0


def parse_auto_update(value: Any) -> AutoUpdate:
    """``lists.auto_update`` from a config file; ValueError with the key for a bad value."""
    if value is None or value is True:
        return AutoUpdate()
    if value is False:
        return AutoUpdate(enabled=False)
    if not isinstance(value, Mapping):
        raise ValueError("lists.auto_update: expected true, false or a mapping")
    unknown = set(value) - {"enabled", "hour", "jitter_minutes", "first_delay_minutes"}
    if unknown:
        raise ValueError(f"lists.auto_update: unknown keys {', '.join(sorted(map(str, unknown)))}")
    enabled = value.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError("lists.auto_update.enabled: expected true or false")
    hour = value.get("hour", 3)
    if not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23:
        raise ValueError(f"lists.auto_update.hour: expected an hour from 0 to 23, got {hour!r}")
    jitter = value.get("jitter_minutes", 60)
    if not isinstance(jitter, int) or isinstance(jitter, bool) or not 0 <= jitter <= 720:
        raise ValueError(f"lists.auto_update.jitter_minutes: expected 0 to 720, got {jitter!r}")
    first = value.get("first_delay_minutes", 5)
    if not isinstance(first, (int, float)) or isinstance(first, bool) or not 0 <= first <= 1440:
        raise ValueError(f"lists.auto_update.first_delay_minutes: expected 0 to 1440, got {first!r}")
    return AutoUpdate(enabled, hour, jitter, float(first))


@dataclass(slots=True)
class UpdateState:
    """What ``lists-update.json`` holds (times are ISO 8601, UTC)."""

    last_attempt: str | None = None
    last_success: str | None = None
    result: str = "never updated"
    ok: bool | None = None
    failures: int = 0
    next_run: str | None = None
    entries: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def state_path(store: Path) -> Path:
    return store.with_name(STATE_FILE)


def read_state(store: Path) -> UpdateState:
    """The recorded state; a missing or unreadable file is 'never updated', not an error."""
    try:
        raw = json.loads(state_path(store).read_text(encoding="utf-8"))
        known = {k: raw[k] for k in UpdateState.__slots__ if k in raw}  # type: ignore[attr-defined]
        return UpdateState(**known)
    except (OSError, ValueError, TypeError):
        return UpdateState()


def _write_state(store: Path, state: UpdateState) -> None:
    path = state_path(store)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _parse(ts: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(ts) if ts else None
    except ValueError:
        return None


def next_run(now: dt.datetime, plan: AutoUpdate, state: UpdateState,
             rng: random.Random) -> dt.datetime:
    """When to update next (aware datetimes). Pure, apart from the random jitter it draws.

    After failures: 15 minutes, doubling, at most a day. Never updated: ``first_delay``.
    Otherwise: the next ``hour`` o'clock in ``now``'s time zone (give a ``ZoneInfo`` for
    daylight-saving days) at least 12 hours after the last success, plus the jitter.
    """
    if state.failures > 0:
        pause = min(FIRST_BACKOFF * (2 ** (state.failures - 1)), MAX_BACKOFF)
        return now + pause
    last = _parse(state.last_success)
    if last is None:
        return now + dt.timedelta(minutes=plan.first_delay_minutes)
    day = now.date()
    while True:
        at = dt.datetime.combine(day, dt.time(plan.hour), now.tzinfo)
        at += dt.timedelta(minutes=rng.uniform(0, plan.jitter_minutes))
        if at > now and at - last >= dt.timedelta(hours=12):
            return at
        day += dt.timedelta(days=1)


def update_command(config: Path | None, output: Path) -> list[str]:
    """The update as a command: the same code path as ``kidgate lists update``."""
    cmd = [sys.executable, "-m", "lists.cli", "lists", "update", "-o", str(output)]
    if config is not None:
        cmd += ["--config", str(config)]
    return cmd


class AutoUpdater:
    """A sleeping thread that starts the update process when it is due.

    The thread only waits; the work happens in a child process at low priority (``nice``),
    so the proxy's process does no download or compile work at all.
    """

    def __init__(self, store: Path, plan: AutoUpdate, *, config: Path | None = None,
                 clock: Callable[[], dt.datetime] | None = None,
                 command: Sequence[str] | None = None, seed: int | None = None,
                 run_timeout: float = RUN_TIMEOUT) -> None:
        self.store, self.plan, self.config = store, plan, config
        self.run_timeout = run_timeout
        self._clock = clock or (lambda: dt.datetime.now().astimezone())
        self._command = list(command) if command else update_command(config, store)
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> "AutoUpdater":
        if not self.plan.enabled:
            return self
        self._thread = threading.Thread(target=self._loop, name="kidgate-lists-update",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
        if self._thread is not None:
            self._thread.join(timeout)

    def _schedule(self, state: UpdateState) -> dt.datetime:
        due = next_run(self._clock(), self.plan, state, self._rng)
        state.next_run = due.isoformat()
        self.record(state)
        return due

    def _loop(self) -> None:
        due = self._schedule(read_state(self.store))
        log.info("kidgate: next list update at %s", due.isoformat(timespec="minutes"))
        while not self._stop.is_set():
            wait = (due - self._clock()).total_seconds()
            if wait > 0:
                self._stop.wait(min(wait, 60.0))  # wake up now and then: clocks jump
                continue
            # The recorded state, not one kept here: an adult may have updated in between.
            state = self.run_once()
            if state.result == ALREADY_RUNNING:
                due = self._clock() + dt.timedelta(minutes=1)
                continue
            due = self._schedule(state)

    def run_once(self, state: UpdateState | None = None,
                 progress: Callable[[str], None] | None = None) -> UpdateState:
        """One update now; returns the new state (:meth:`record` keeps it). Never raises.

        ``progress`` receives each line the update prints as it goes (the admin app shows the
        latest). One update at a time per store: a second caller, in this process or another,
        is told that one is running and changes nothing.
        """
        state = state or read_state(self.store)
        try:
            self.store.parent.mkdir(parents=True, exist_ok=True)
            # The folder itself is the lock: nothing is left behind in it.
            lock = os.open(self.store.parent, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as e:
            state.ok, state.result = False, f"cannot start the update: {e}"
            return state
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return replace(state, result=ALREADY_RUNNING)
            return self._run_locked(state, progress or (lambda _line: None))
        finally:
            os.close(lock)

    def _run_locked(self, state: UpdateState, progress: Callable[[str], None]) -> UpdateState:
        started = self._clock()
        state.last_attempt = started.astimezone(dt.timezone.utc).isoformat()
        try:
            self._proc = subprocess.Popen(
                self._command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                preexec_fn=lambda: os.nice(10), env={**os.environ, "PYTHONUNBUFFERED": "1"})
            code, out, err = _wait(self._proc, self.run_timeout, progress)
        except OSError as e:
            code, out, err = -1, b"", str(e).encode()
        finally:
            self._proc = None
        self.runs += 1
        message = _last_line(err if code else out)
        if code == 0:
            state.ok, state.failures, state.result = True, 0, message or "updated"
            state.last_success = state.last_attempt
            state.entries = _entries(self.store)
            log.info("kidgate: lists updated: %s", state.result)
        else:
            _sweep(self.store.parent)
            state.ok, state.failures = False, state.failures + 1
            state.result = message or f"update failed (exit code {code})"
            log.warning("kidgate: list update failed, keeping the lists in use: %s",
                        state.result)
        return state

    def record(self, state: UpdateState) -> None:
        """Keep ``state`` in ``lists-update.json`` for ``lists info`` and the admin app."""
        try:
            self.store.parent.mkdir(parents=True, exist_ok=True)
            _write_state(self.store, state)
        except OSError as e:
            log.warning("kidgate: cannot record the list update state: %s", e)


#: What :meth:`AutoUpdater.run_once` says when another update of the same store is under way.
ALREADY_RUNNING = "an update is already running"
_KEEP_LINES = 50


def _wait(proc: subprocess.Popen[bytes], timeout: float,
          progress: Callable[[str], None]) -> tuple[int, bytes, bytes]:
    """Wait for the update, passing each line of its progress on as it comes; stop it (SIGTERM,
    then SIGKILL) when it takes longer than ``timeout``. Returns (exit code, stdout, stderr)."""
    out: list[bytes] = []
    err: collections.deque[bytes] = collections.deque(maxlen=_KEEP_LINES)

    def pump_stdout() -> None:
        assert proc.stdout is not None
        out.append(proc.stdout.read())

    def pump_stderr() -> None:
        assert proc.stderr is not None
        pending = b""
        for chunk in iter(lambda: proc.stderr.read1(4096), b""):  # type: ignore[union-attr]
            *lines, pending = re.split(rb"[\r\n]", pending + chunk)
            for line in lines:
                if line.strip():
                    err.append(line)
                    try:
                        progress(line.decode("utf-8", "replace").strip()[:300])
                    except Exception:  # noqa: BLE001 - a display must never stall the update
                        log.debug("kidgate: list update progress not shown", exc_info=True)
        if pending.strip():
            err.append(pending)

    pumps = [threading.Thread(target=f, daemon=True) for f in (pump_stdout, pump_stderr)]
    for t in pumps:
        t.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()  # the update cleans up after itself on SIGTERM
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for t in pumps:
            t.join(5)
        return -1, b"", f"stopped: the update took longer than {timeout:.0f} s".encode()
    for t in pumps:
        t.join(5)
    return code, b"".join(out), b"\n".join(err)


def _sweep(folder: Path) -> None:
    """Temporary folders of an update that was killed before it could remove them."""
    import shutil
    for leftover in folder.glob(".kidgate-update-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _last_line(data: bytes) -> str:
    lines = [ln.strip() for ln in data.decode("utf-8", "replace").replace("\r", "\n").splitlines()
             if ln.strip()]
    return lines[-1][:300] if lines else ""


def _entries(store: Path) -> int | None:
    from lists.store import ListStore, StoreError
    try:
        with ListStore.open(store) as s:
            return int(s.entries)
    except (StoreError, OSError):
        return None


def describe(store: Path) -> str:
    """One line for ``kidgate lists info``: last update, result, next one."""
    s = read_state(store)
    if s.last_attempt is None and s.next_run is None:
        return "automatic update: no update recorded yet"
    parts = [f"last attempt {s.last_attempt or 'never'}: {s.result}"]
    if s.last_success and s.last_success != s.last_attempt:
        parts.append(f"last success {s.last_success}")
    if s.next_run:
        parts.append(f"next {s.next_run}")
    return "automatic update: " + "; ".join(parts)
