"""Structured decision log: one JSON object per line, no bodies, written off the event loop."""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from pathlib import Path
from typing import Any

from policies.core import Verdict


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
        "min_age": verdict.to_dict()["min_age"],
        "sources": sorted({r.source for r in verdict.reasons}),
        "reasons": [r.detail[:200] for r in verdict.reasons[:5]]
        if verdict.category != "csam" else ["hotline list"],
    }


class DecisionLog:
    """Appends records to a JSONL file from a background thread, so a slow disk never
    stalls the proxy. The queue is bounded: if the disk stops, records are counted as dropped
    rather than filling memory."""

    def __init__(self, path: Path, max_queue: int = 10_000) -> None:
        self.path = path
        self.dropped = 0
        self._q: queue.Queue[dict[str, Any] | None] = queue.Queue(max_queue)
        self._thread = threading.Thread(target=self._run, name="kidgate-decision-log", daemon=True)
        self._thread.start()

    def write(self, rec: dict[str, Any]) -> None:
        try:
            self._q.put_nowait(rec)
        except queue.Full:
            self.dropped += 1

    def close(self, timeout: float = 2.0) -> None:
        self._q.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            while True:
                rec = self._q.get()
                if rec is None:
                    return
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                if self._q.empty():
                    f.flush()
