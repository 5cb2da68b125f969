"""Loaded once in the worker pool's fork server, never in the proxy's own process.

Every classifier worker is forked from that server, so the models are read, verified and
unpickled once and their arrays are shared copy-on-write by all workers; a replacement worker
starts in milliseconds. ``gc.freeze`` keeps the garbage collector from touching (and so
copying) the shared objects in the workers. Unpickling leaves freed blocks in the C heap
(~14 MB); they are handed back to the system before the first fork, or every worker would
share a copy of them that nothing uses.
"""

from __future__ import annotations

import gc

CLASSIFIER = None
ERROR: str | None = None

try:
    import classifier as _classifier

    CLASSIFIER = _classifier.load()
except Exception as e:  # noqa: BLE001 - reported by each worker; child profiles fail safe
    ERROR = f"{type(e).__name__}: {e}"

gc.collect()
try:
    import ctypes

    ctypes.CDLL(None).malloc_trim(0)  # glibc
except (OSError, AttributeError):  # pragma: no cover - another C library: nothing to trim
    pass
gc.freeze()
