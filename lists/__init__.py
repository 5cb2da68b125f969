"""kidgate's list engine: categorized block- and allow-lists compiled into a memory-mapped store.

Typical use by the proxy::

    watcher = lists.ListWatcher(lists.default_store_path())
    hits = watcher.current().lookup(flow.request.pretty_url)
    evidence = lists.to_evidence(hits)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from policies.core import Evidence

from lists.build import BuildReport, Source, build_store, load_mapping
from lists.normalize import InvalidURL, NormalizedURL, normalize_host, normalize_url
from lists.store import ListHit, ListInfo, ListStore, StoreError
from lists.watch import ListWatcher

__all__ = [
    "BuildReport", "InvalidURL", "ListHit", "ListInfo", "ListStore", "ListWatcher",
    "NormalizedURL", "Source", "StoreError", "build_store", "default_store_path",
    "load_mapping", "normalize_host", "normalize_url", "to_evidence",
]

DEFAULT_STORE = "default.kglist"


def default_store_path() -> Path:
    """The compiled default lists shipped with kidgate (UT1 subset, porn and drug lists)."""
    return Path(__file__).resolve().parent / "data" / DEFAULT_STORE


def to_evidence(hits: Iterable[ListHit]) -> list[Evidence]:
    """Decision-core evidence for list hits; hotline entries stay masked in ``detail``.

    A ``known`` list's hit has no category: it blocks and allows nothing, but tells the
    engine that a list knows the host, so the URL/host model does not guess about it.
    """
    out = []
    for hit in hits:
        what = "allow-list" if hit.allow else (hit.category or "known, not harmful")
        detail = f"{hit.list_name} ({what}): {hit.kind} {hit.entry}"
        out.append(Evidence(source="list", category=hit.category, detail=detail,
                            allow=hit.allow, kind=hit.list_name))
    return out
