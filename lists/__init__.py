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
    "load_mapping", "normalize_host", "normalize_url", "to_evidence", "updated_store_path",
    "watch_lists",
]

DEFAULT_STORE = "default.kglist"
#: Where ``kidgate lists update`` and the automatic update put the lists they download.
UPDATED_STORE = "lists.kglist"


def default_store_path() -> Path:
    """The compiled default lists shipped with kidgate (UT1 subset, porn and drug lists)."""
    return Path(__file__).resolve().parent / "data" / DEFAULT_STORE


def updated_store_path(data_dir: Path) -> Path:
    """Downloaded lists live in the data directory, never inside the installed package: an
    upgrade keeps them, and the package may be read-only."""
    return Path(data_dir) / UPDATED_STORE


def watch_lists(configured: Path | None, data_dir: Path) -> "ListWatcher":
    """The store the proxy uses: a configured ``lists.path``, else the downloaded lists in the
    data directory, else (until the first update) the shipped default."""
    if configured is not None:
        return ListWatcher(configured)
    return ListWatcher(updated_store_path(data_dir), fallback=default_store_path())


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
