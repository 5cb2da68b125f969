"""Pick up a replaced store file without restarting the proxy."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from lists.store import ListStore, StoreError

__all__ = ["ListWatcher"]

log = logging.getLogger("kidgate.lists")


class ListWatcher:
    """Holds the current :class:`ListStore` for ``path``.

    ``lists update`` replaces the file by rename, so a new inode or mtime means new lists. The
    file is checked at most every ``interval`` seconds; a file that fails to open is logged and
    the previous store kept. The old mapping is released when the last reference to it goes.
    """

    def __init__(self, path: str | os.PathLike[str], interval: float = 2.0, *,
                 fallback: str | os.PathLike[str] | None = None) -> None:
        """``fallback`` (the shipped default) is used while ``path`` does not exist yet: the
        first automatic update creates ``path`` and the watcher moves to it."""
        self.wanted = Path(path)
        self.fallback = Path(fallback) if fallback is not None else None
        self.interval = interval
        self._lock = threading.Lock()
        self.path = self._pick()
        self._store = ListStore.open(self.path)
        self._stamp = self._stat()
        self._checked = time.monotonic()
        self.reloads = 0

    def _pick(self) -> Path:
        if self.fallback is None or self.wanted.exists():
            return self.wanted
        return self.fallback

    def _stat(self) -> tuple[int, int, int, int] | None:
        self.path = self._pick()
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)

    def current(self) -> ListStore:
        """The store to use now; re-opens the file when it was replaced."""
        now = time.monotonic()
        if now - self._checked < self.interval:
            return self._store
        with self._lock:
            if now - self._checked < self.interval:
                return self._store
            self._checked = now
            stamp = self._stat()
            if stamp is None or stamp == self._stamp:
                return self._store
            try:
                store = ListStore.open(self.path)
            except StoreError as e:
                log.warning("keeping the previous lists: %s", e)
                self._stamp = stamp
                return self._store
            self._store, self._stamp = store, stamp
            self.reloads += 1
            log.info("lists reloaded from %s (%d entries)", self.path, store.entries)
            return store
