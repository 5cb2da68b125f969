"""The compiled list store: a memory-mapped file of sorted 64-bit fingerprints.

File layout (little endian)::

    header   4096 bytes: magic, version, bucket bits, entry count, hash seed, offsets, checksum
    keys     n x uint64   fingerprints, sorted ascending
    lids     n x uint16   list id of each key: list index * 4 + kind (0 domain, 1 ip, 2 url);
                          0xFFFF marks "this host has URL entries"
    dir      (2**bits + 1) x uint32: index of the first key of each top-bits bucket
    meta     JSON: lists (name, category, allow, hotline, source, date, counts), expressions,
             build report

A key is ``xxh3_64(text, seed)`` of the canonical entry text: the host for domain and IP entries,
``host + path prefix`` for URL entries. The seed is random per build, so nobody can craft a host
that collides with a listed one offline. The store keeps no strings: a hit is shown with the
request's own matching text, which equals the entry unless two different texts share a 64-bit
fingerprint. For a store of ``n`` keys and a lookup of ``k`` candidate texts the probability of
any false match is at most ``k * n / 2**64``: with n = 5 million and k = 10, about 2.7e-12 per
request (one false match in ~370 billion requests).

Each process maps the file read-only, so the kernel page cache holds one copy for all of them and
opening costs a few header reads whatever the size.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import mmap
import os
import re
import secrets
import struct
import tempfile
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import xxhash

from lists.normalize import NormalizedURL, normalize_host, normalize_url, path_prefixes
from lists.regexguard import MAX_SUBJECT, compile_vetted

__all__ = ["ListHit", "ListStore", "StoreBuilder", "StoreError", "ListInfo", "FORMAT_VERSION"]

MAGIC = b"KGLIST\x00\x01"
FORMAT_VERSION = 1
HEADER_SIZE = 4096
_HEADER = struct.Struct("<8sIIQQQQQQQQQ")
MARKER = 0xFFFF
MAX_LISTS = (MARKER >> 2) - 1
Kind = Literal["domain", "ip", "url", "expression"]
KINDS: tuple[str, ...] = ("domain", "ip", "url")
_KIND_CODE = {k: i for i, k in enumerate(KINDS)}
_hash = xxhash.xxh3_64_intdigest


class StoreError(Exception):
    """The store file is missing, truncated, corrupt or of another format version."""


class ListHit(NamedTuple):
    """One list entry that matched a request (a named tuple: cheap to create per request).

    ``entry`` is the matching text (a domain, IP, ``host/path`` or pattern); for hotline lists
    it is a short hash, never the address itself.
    """

    category: str | None
    list_name: str
    entry: str
    kind: Kind
    allow: bool
    hotline: bool = False


@dataclass(slots=True)
class ListInfo:
    """Description of one compiled list (one per source and category)."""

    name: str
    category: str | None
    allow: bool = False
    hotline: bool = False
    source: str = ""
    date: str = ""
    counts: dict[str, int] = field(default_factory=lambda: {k: 0 for k in (*KINDS, "expression")})
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "category": self.category, "allow": self.allow,
                "hotline": self.hotline, "source": self.source, "date": self.date,
                "counts": dict(self.counts), "description": self.description}


def list_role(category: str | None, allow: bool) -> str:
    """How a list is shown: ``allow``, its category, or ``known`` (not harmful, no category)."""
    return "allow" if allow else (category or "known")


def mask_entry(text: str) -> str:
    """Display form of a hotline entry: a hash prefix, so logs never carry the address."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _bucket_bits(n: int) -> int:
    """About two keys per bucket: the directory costs ~2 bytes per key."""
    return max(0, (n // 2).bit_length() - 1)


class StoreBuilder:
    """Collects entries as fingerprints in flat arrays, then writes the store file."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = secrets.randbits(64) if seed is None else seed
        self.lists: list[ListInfo] = []
        self.expressions: list[tuple[int, str]] = []
        self._keys = array("Q")
        self._lids = array("H")
        self._url_hosts: set[str] = set()
        #: Bit k set when some domain entry or URL host has k labels (k >= 63 folded into 63):
        #: lookups skip parent domains of a length no entry has (usually the bare TLD).
        self.label_mask = 0

    def add_list(self, info: ListInfo) -> int:
        if len(self.lists) >= MAX_LISTS:
            raise ValueError(f"more than {MAX_LISTS} lists")
        self.lists.append(info)
        return len(self.lists) - 1

    def add(self, index: int, kind: str, text: str) -> None:
        """Add one canonical entry: a host (domain/ip) or ``host + path prefix`` (url)."""
        self._keys.append(_hash(text.encode("utf-8"), self.seed))
        self._lids.append(index * 4 + _KIND_CODE[kind])
        self.lists[index].counts[kind] += 1
        if kind == "domain":
            self.label_mask |= 1 << min(text.count(".") + 1, 63)

    def add_url(self, index: int, host: str, prefix: str) -> None:
        self.add(index, "url", host + prefix)
        if host not in self._url_hosts:
            self._url_hosts.add(host)
            self.label_mask |= 1 << min(host.count(".") + 1, 63)
            self._keys.append(_hash(host.encode("utf-8"), self.seed))
            self._lids.append(MARKER)

    def add_expression(self, index: int, pattern: str) -> None:
        self.expressions.append((index, pattern))
        self.lists[index].counts["expression"] += 1

    def write(self, path: str | os.PathLike[str], report: dict[str, Any] | None = None,
              created: str | None = None) -> dict[str, int]:
        """Sort, de-duplicate and write atomically (temp file + rename). Returns counts."""
        # Only building needs numpy (~9 MB resident): the proxy, which only reads compiled
        # lists, then never loads it.
        import numpy as np
        keys = np.frombuffer(self._keys, dtype=np.uint64) if self._keys else np.zeros(0, np.uint64)
        lids = np.frombuffer(self._lids, dtype=np.uint16) if self._lids else np.zeros(0, np.uint16)
        order = np.lexsort((lids, keys))
        keys, lids = keys[order], lids[order]
        if len(keys) > 1:
            dup = (keys[1:] == keys[:-1]) & (lids[1:] == lids[:-1])
            keep = np.concatenate(([True], ~dup))
            dropped = lids[1:][dup]
            keys, lids = keys[keep], lids[keep]
        else:
            dropped = np.zeros(0, np.uint16)
        dropped = dropped[dropped != MARKER]
        dup_counts = np.bincount((dropped >> 2).astype(np.int64), minlength=len(self.lists))
        for info, d in zip(self.lists, dup_counts.tolist()):
            info.counts["duplicates"] = int(d)
        # Counts are of unique entries.
        real = lids[lids != MARKER].astype(np.int64)  # list index * 4 + kind code
        per_list_kind = np.bincount(real, minlength=4 * len(self.lists)).reshape(-1, 4)
        for i, info in enumerate(self.lists):
            for kind in KINDS:
                info.counts[kind] = int(per_list_kind[i, _KIND_CODE[kind]])
        n = len(keys)
        if n >= 2**32:
            raise ValueError("too many entries for one store")
        bits = _bucket_bits(n)
        shift = 64 - bits
        if bits:
            starts = np.arange(1 << bits, dtype=np.uint64) << np.uint64(shift)
            directory = np.searchsorted(keys, starts, side="left").astype(np.uint32)
        else:
            directory = np.zeros(1, np.uint32)
        directory = np.concatenate((directory, np.array([n], np.uint32)))
        meta = {
            "format": FORMAT_VERSION,
            "label_mask": self.label_mask,
            "created": created or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "lists": [info.to_dict() for info in self.lists],
            "expressions": [[i, p] for i, p in self.expressions],
            "report": report or {},
        }
        meta_bytes = json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8")
        keys_off = HEADER_SIZE
        lids_off = keys_off + 8 * n
        dir_off = (lids_off + 2 * n + 7) // 8 * 8
        meta_off = dir_off + 4 * len(directory)
        size = meta_off + len(meta_bytes)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(b"\0" * HEADER_SIZE)
                digest = xxhash.xxh3_64()
                for chunk in (keys.tobytes(), lids.tobytes(),
                              b"\0" * (dir_off - lids_off - 2 * n), directory.tobytes(),
                              meta_bytes):
                    f.write(chunk)
                    digest.update(chunk)
                f.seek(0)
                f.write(_HEADER.pack(MAGIC, FORMAT_VERSION, bits, n, self.seed, keys_off,
                                     lids_off, dir_off, meta_off, len(meta_bytes), size,
                                     digest.intdigest()))
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return {"entries": n, "bytes": size, "lists": len(self.lists),
                "expressions": len(self.expressions)}


class ListStore:
    """A read-only, memory-mapped compiled store. Cheap to open; safe to share between threads."""

    def __init__(self, path: Path, mm: mmap.mmap, header: tuple[Any, ...],
                 meta: dict[str, Any]) -> None:
        (_, _, bits, n, seed, keys_off, lids_off, dir_off, _moff, _mlen, size, checksum) = header
        self.path = path
        self.size = size
        self.entries = n
        self.meta = meta
        self._checksum = checksum
        self._mm = mm
        self._seed = seed
        self._shift = 64 - bits
        view = memoryview(mm)
        self._keys = view[keys_off:keys_off + 8 * n].cast("Q")
        self._lids = view[lids_off:lids_off + 2 * n].cast("H")
        self._dir = view[dir_off:dir_off + 4 * ((1 << bits) + 1)].cast("I")
        self._label_mask = int(meta.get("label_mask", (1 << 64) - 1))
        self._lists = [ListInfo(d["name"], d["category"], d["allow"], d["hotline"],
                                d.get("source", ""), d.get("date", ""), d["counts"],
                                d.get("description", ""))
                       for d in meta["lists"]]
        self._expressions: list[tuple[re.Pattern[str], int, str]] = []
        for index, pattern in meta.get("expressions", []):
            self._expressions.append((compile_vetted(pattern), index, pattern))

    @classmethod
    def open(cls, path: str | os.PathLike[str], verify: bool = False) -> ListStore:
        """Map ``path``. ``verify`` also checks the checksum (reads the whole file)."""
        p = Path(path)
        try:
            with open(p, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < HEADER_SIZE:
                    raise StoreError(f"{p}: not a kidgate list store (too short)")
                mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as e:
            raise StoreError(f"{p}: {e.strerror or e}") from e
        try:
            header = _HEADER.unpack_from(mm, 0)
            if header[0] != MAGIC:
                raise StoreError(f"{p}: not a kidgate list store")
            if header[1] != FORMAT_VERSION:
                raise StoreError(f"{p}: format version {header[1]}, expected {FORMAT_VERSION}")
            if header[10] != size:
                raise StoreError(f"{p}: truncated or padded ({size} bytes, expected {header[10]})")
            meta_off, meta_len = header[8], header[9]
            try:
                meta = json.loads(mm[meta_off:meta_off + meta_len].decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                raise StoreError(f"{p}: corrupt metadata") from e
            store = cls(p, mm, header, meta)
        except BaseException:
            mm.close()
            raise
        if verify:
            store.verify()
        return store

    def verify(self) -> None:
        """Recompute the checksum of everything after the header; raise StoreError if wrong."""
        digest = xxhash.xxh3_64()
        view = memoryview(self._mm)
        for start in range(HEADER_SIZE, self.size, 1 << 24):
            digest.update(view[start:min(self.size, start + (1 << 24))])
        view.release()
        if digest.intdigest() != self._checksum:
            raise StoreError(f"{self.path}: checksum mismatch")

    def close(self) -> None:
        for v in (self._keys, self._lids, self._dir):
            v.release()
        self._mm.close()

    def __enter__(self) -> ListStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- lookups -------------------------------------------------------------------------

    def _find(self, text: str) -> list[int]:
        """List ids stored under ``text`` (usually none)."""
        h = _hash(text.encode("utf-8"), self._seed)
        b = h >> self._shift
        d = self._dir
        lo, hi = d[b], d[b + 1]
        if lo == hi:
            return []
        keys = self._keys
        j = bisect_left(keys, h, lo, hi)
        out: list[int] = []
        while j < hi and keys[j] == h:
            out.append(self._lids[j])
            j += 1
        return out

    def _hit(self, lid: int, text: str) -> ListHit:
        info = self._lists[lid >> 2]
        entry = mask_entry(text) if info.hotline else text
        return ListHit(info.category, info.name, entry, KINDS[lid & 3],  # type: ignore[arg-type]
                       info.allow, info.hotline)

    def _host_hits(self, host: str, is_ip: bool, marked: list[str] | None) -> list[ListHit]:
        """Hits for ``host`` and each parent domain. The hot path: ``_find`` inlined, the host
        encoded once and sliced."""
        hits: list[ListHit] = []
        seed, shift, d, keys, lids = self._seed, self._shift, self._dir, self._keys, self._lids
        raw = host.encode("utf-8")
        if is_ip:
            candidates = [raw]
        else:
            candidates = []
            mask = self._label_mask
            labels = raw.count(b".") + 1
            start = 0
            while True:
                if mask >> (labels if labels < 63 else 63) & 1:
                    candidates.append(raw[start:])
                i = raw.find(b".", start)
                if i == -1:
                    break
                start = i + 1
                labels -= 1
        for cand in candidates:
            h = _hash(cand, seed)
            b = h >> shift
            lo, hi = d[b], d[b + 1]
            if lo == hi:
                continue
            j = bisect_left(keys, h, lo, hi)
            while j < hi and keys[j] == h:
                lid = lids[j]
                j += 1
                if lid == MARKER:
                    if marked is not None:
                        marked.append(cand.decode("utf-8"))
                else:
                    hits.append(self._hit(lid, cand.decode("utf-8")))
        return hits

    def lookup_normalized(self, url: NormalizedURL) -> list[ListHit]:
        marked: list[str] = []
        hits = self._host_hits(url.host, url.is_ip, marked)
        if marked:
            prefixes = path_prefixes(url.match_path, url.query)
            for host in marked:
                for prefix in prefixes:
                    text = host + prefix
                    for lid in self._find(text):
                        if lid != MARKER:
                            hits.append(self._hit(lid, text))
        if self._expressions:
            subject = url.match_text[:MAX_SUBJECT]
            for rx, index, pattern in self._expressions:
                if rx.search(subject):
                    info = self._lists[index]
                    shown = mask_entry(pattern) if info.hotline else pattern[:120]
                    hits.append(ListHit(info.category, info.name, shown, "expression",
                                        info.allow, info.hotline))
        return hits

    def lookup(self, url: str) -> list[ListHit]:
        """All entries matching ``url`` (domain and parents, URL prefixes, expressions).

        Raises :class:`lists.normalize.InvalidURL` when ``url`` has no usable host.
        """
        return self.lookup_normalized(normalize_url(url))

    def lookup_host(self, host: str) -> list[ListHit]:
        """Domain and IP entries for ``host`` and its parents: what a TLS SNI decision can use."""
        canonical, is_ip = normalize_host(host)
        return self._host_hits(canonical, is_ip, None)

    def lists(self) -> list[ListInfo]:
        return list(self._lists)

    def info(self) -> dict[str, Any]:
        """Counts per list and per category, the build date and the build report."""
        per_category: dict[str, int] = {}
        for info in self._lists:
            key = list_role(info.category, info.allow)
            per_category[key] = per_category.get(key, 0) + sum(
                info.counts.get(k, 0) for k in (*KINDS, "expression"))
        return {"path": str(self.path), "created": self.meta.get("created", ""),
                "bytes": self.size, "entries": self.entries,
                "categories": per_category,
                "lists": [i.to_dict() for i in self._lists],
                "report": self.meta.get("report", {})}
