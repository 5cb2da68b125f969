"""Download list sources, verify them and swap the compiled store atomically.

Nothing replaces the current store until every download is complete, matches its announced size
and checksum, unpacks, and compiles into a store that opens and verifies. Any failure raises
:class:`UpdateError` and leaves the last good file untouched.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from lists.build import BuildReport, Source, build_store
from lists.store import ListStore, StoreError

__all__ = ["UT1_URL", "RemoteSource", "UpdateError", "download", "fetch_checksum", "update"]

#: The UT1 upstream tarball (all categories, including adult/domains).
UT1_URL = "https://dsi.ut-capitole.fr/blacklists/download/blacklists.tar.gz"
USER_AGENT = "kidgate-lists/0.1"


class UpdateError(Exception):
    """A download or its verification failed; the previous store is still in place."""


@dataclass(frozen=True, slots=True)
class RemoteSource:
    """A list to download. ``format``/``category``/``hotline`` as in :class:`lists.Source`.

    ``sha256`` or ``md5`` (hex) is checked when given; ``min_bytes`` rejects truncated or empty
    answers (error pages, captive portals).
    """

    name: str
    url: str
    format: str = "ut1"
    category: str | None = None
    hotline: bool = False
    sha256: str | None = None
    md5: str | None = None
    min_bytes: int = 1
    #: A published checksum file (``<hex>  <file name>`` lines, MD5 or SHA-256) to check against.
    checksum_url: str | None = None


def _progress(out: TextIO | None, name: str, done: int, total: int | None) -> None:
    if out is None:
        return
    if total:
        out.write(f"\r{name}: {done / 1e6:.1f}/{total / 1e6:.1f} MB ({100 * done // total}%)")
    else:
        out.write(f"\r{name}: {done / 1e6:.1f} MB")
    out.flush()


def fetch_checksum(source: RemoteSource, timeout: float = 30.0) -> RemoteSource:
    """``source`` with ``md5``/``sha256`` filled in from its ``checksum_url``."""
    if not source.checksum_url:
        return source
    request = urllib.request.Request(source.checksum_url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            text = resp.read(1 << 20).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise UpdateError(f"{source.name}: cannot fetch checksum: {e}") from e
    filename = source.url.rstrip("/").rsplit("/", 1)[-1]
    candidates = []
    for line in text.splitlines():
        fields = line.split()
        if fields and all(c in "0123456789abcdefABCDEF" for c in fields[0]) \
                and len(fields[0]) in (32, 64):
            named = len(fields) > 1 and fields[-1].lstrip("*").rsplit("/", 1)[-1] == filename
            candidates.append((named, fields[0].lower()))
    chosen = [h for named, h in candidates if named] or (
        [candidates[0][1]] if len(candidates) == 1 else [])
    if not chosen:
        raise UpdateError(f"{source.name}: no checksum for {filename} in {source.checksum_url}")
    digest = chosen[0]
    if len(digest) == 32:
        return dataclasses.replace(source, md5=digest)
    return dataclasses.replace(source, sha256=digest)


def download(source: RemoteSource, dest: Path, progress: TextIO | None = None,
             timeout: float = 60.0) -> Path:
    """Fetch ``source.url`` into ``dest`` and verify size, length and checksum.
    Progress goes to ``progress`` (the CLI passes stderr); None is silent."""
    source = fetch_checksum(source, timeout)
    request = urllib.request.Request(source.url, headers={"User-Agent": USER_AGENT})
    sha, md5 = hashlib.sha256(), hashlib.md5()
    done = 0
    last = 0.0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp, open(dest, "wb") as f:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                f.write(chunk)
                sha.update(chunk)
                md5.update(chunk)
                done += len(chunk)
                now = time.monotonic()
                if now - last > 0.2:
                    _progress(progress, source.name, done, total)
                    last = now
            _progress(progress, source.name, done, total)
            if progress is not None:
                progress.write("\n")
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise UpdateError(f"{source.name}: download failed: {e}") from e
    except Exception as e:  # http.client.IncompleteRead and similar
        raise UpdateError(f"{source.name}: download failed: {e!r}") from e
    if total is not None and done != total:
        raise UpdateError(f"{source.name}: incomplete download ({done} of {total} bytes)")
    if done < source.min_bytes:
        raise UpdateError(f"{source.name}: only {done} bytes, expected at least "
                          f"{source.min_bytes}")
    if source.sha256 and sha.hexdigest() != source.sha256.lower():
        raise UpdateError(f"{source.name}: SHA-256 mismatch")
    if source.md5 and md5.hexdigest() != source.md5.lower():
        raise UpdateError(f"{source.name}: MD5 mismatch")
    if source.format == "ut1":
        _check_tarball(source.name, dest)
    return dest


def _check_tarball(name: str, path: Path) -> None:
    """Format sanity: a complete gzip tar with at least one category ``domains`` file.

    The compressed stream is read to its end first: ``tarfile`` happily lists the members of
    an archive cut off after its first file, and that would replace millions of entries with
    a handful."""
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
        if gzipped:
            with gzip.open(path, "rb") as stream:
                while stream.read(1 << 20):
                    pass
        with tarfile.open(path, "r:*") as tar:
            names = tar.getnames()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise UpdateError(f"{name}: corrupt or truncated archive ({e})") from e
    if not any(n.endswith("/domains") for n in names):
        raise UpdateError(f"{name}: archive has no category 'domains' files")


def update(remote: list[RemoteSource], output: str | os.PathLike[str],
           local: Sequence[Source] = (),
           mapping: Mapping[str, str] | str | os.PathLike[str] | None = None,
           progress: TextIO | None = None, min_ratio: float = 0.5) -> BuildReport:
    """Download ``remote``, compile it with ``local`` sources, and replace ``output``.

    A result with fewer than ``min_ratio`` times the entries of the store it replaces is
    refused (0 accepts anything)."""
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".kidgate-update-", dir=out.parent))
    try:
        sources = list(local)
        for i, r in enumerate(remote):
            path = download(r, work / f"download-{i}", progress)
            sources.append(Source(r.name, str(path), r.format, r.category, r.hotline,
                                  origin=r.url))
        staged = work / out.name
        try:
            report = build_store(sources, staged, mapping)
            ListStore.open(staged, verify=True).close()
        except (ValueError, StoreError) as e:
            raise UpdateError(f"compiling the downloaded lists failed: {e}") from e
        if report.entries == 0:
            raise UpdateError("the downloaded lists have no entries")
        before = _entries(out)
        if before and report.entries < before * min_ratio:
            raise UpdateError(f"the downloaded lists have {report.entries} entries, the lists "
                              f"in use {before}: a source probably sent a partial file "
                              f"(--allow-shrink to accept it)")
        os.replace(staged, out)
        report.output = str(out)
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _entries(path: Path) -> int:
    """Entries of the store at ``path``; 0 when there is none (or it cannot be read)."""
    try:
        with ListStore.open(path) as store:
            return int(store.entries)
    except (StoreError, OSError):
        return 0
