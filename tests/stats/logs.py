"""Generated decision logs for the stats tests, written the way the proxy writes them."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from policies.categories import CATEGORIES

#: 2024-05-06 00:00 UTC, a Monday.
T0 = 1_714_953_600.0
PROFILES = ("anna", "mihai", "parent")
CLIENTS = tuple(f"192.168.1.{i}" for i in range(10, 16))
SOURCES = ("list", "label", "classifier", "policy", "schedule", "error")


def csam_host(host: str) -> str:
    return "sha256:" + hashlib.sha256(host.encode()).hexdigest()[:16]


def make_records(n: int, seed: int = 1, days: int = 10) -> list[dict[str, Any]]:
    """Random but plausible records, with csam hosts hashed as decisionlog.record does, and a
    response-phase block following its request-phase allow."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for _ in range(n):
        ts = round(T0 + rng.random() * days * 86400, 3)
        profile = rng.choice(PROFILES)
        client = rng.choice(CLIENTS)
        block = rng.random() < 0.3
        cat = rng.choice((*CATEGORIES, None)) if block else None
        host = f"site{rng.randint(0, 40)}.{cat or 'ok'}.test"
        base = {"ts": ts, "client": client, "profile": profile, "method": "GET",
                "min_age": None}
        if block and cat == "csam":
            host = csam_host(host)
        if block and rng.random() < 0.2:
            out.append({**base, "host": host, "phase": "request", "action": "allow",
                        "category": None, "sources": [], "reasons": []})
            phase = "response"
        else:
            phase = "request"
        srcs = sorted(set(rng.sample(SOURCES, rng.randint(1, 2)))) if block else []
        out.append({**base, "host": host, "phase": phase,
                    "action": "block" if block else "allow", "category": cat,
                    "sources": srcs, "reasons": ["hotline list"] if cat == "csam" else
                    [f"{s} says {cat}" for s in srcs]})
    return out


def write_log(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    return path
