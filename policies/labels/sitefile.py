"""Background fetch and cache of site label files (``/age-de.xml``, then ``/age.xml``).

The proxy never waits for a site file: :meth:`SiteLabelCache.lookup` answers from the cache at
once, :meth:`SiteLabelCache.request_fetch` starts at most one background fetch per site, and
:meth:`SiteLabelCache.evidence` waits at most ``max_wait`` seconds (a few ms) for a fetch already
under way. Until the file is known, the page is judged on its other evidence.

Fetches go straight to the site (``trust_env=False``: proxy environment variables are ignored,
so the proxy never routes its own fetches through itself), verify certificates (a CA bundle can
be given for tests), stop after ``max_bytes`` and ``timeout`` seconds, and follow no redirects.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from policies.core import Evidence
from policies.labels.agede import MAX_SITE_FILE, AgeDeclaration, LabelError, parse_age_de_xml

log = logging.getLogger(__name__)

SiteKey = tuple[str, str, int]
PATHS: tuple[str, ...] = ("/age-de.xml", "/age.xml")


@dataclass(slots=True)
class SiteEntry:
    """What is known about one site's label file, and until when."""

    declaration: AgeDeclaration | None  # None: the site has no usable label file
    expires: float
    note: str = ""


def site_key(url: str) -> SiteKey | None:
    """(scheme, host, port) of ``url``, the unit a site label file covers."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


class SiteLabelCache:
    """Positive and negative cache of site label files, filled by background fetches."""

    def __init__(self, *, timeout: float = 3.0, max_bytes: int = MAX_SITE_FILE,
                 verify: bool | str = True, max_wait: float = 0.005,
                 default_ttl: float = 86400.0, negative_ttl: float = 3600.0,
                 error_ttl: float = 300.0, max_ttl: float = 7 * 86400.0, min_ttl: float = 60.0,
                 max_entries: int = 20_000, paths: tuple[str, ...] = PATHS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.verify = verify
        self.max_wait = max_wait
        self.default_ttl, self.negative_ttl, self.error_ttl = default_ttl, negative_ttl, error_ttl
        self.max_ttl, self.min_ttl = max_ttl, min_ttl
        self.max_entries = max_entries
        self.paths = paths
        self.clock = clock
        self._entries: OrderedDict[SiteKey, SiteEntry] = OrderedDict()
        self._inflight: dict[SiteKey, asyncio.Task[AgeDeclaration | None]] = {}
        self._client_ready: asyncio.Task[httpx.AsyncClient] | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self.fetches = 0  # number of site fetches started, for statistics and tests

    # --- answers, never blocking ------------------------------------------------------

    def entry(self, key: SiteKey) -> SiteEntry | None:
        e = self._entries.get(key)
        if e is None:
            return None
        if e.expires <= self.clock():
            del self._entries[key]
            return None
        return e

    def known(self, url: str) -> bool:
        """True when a fresh answer (file or no file) is cached for the site of ``url``."""
        key = site_key(url)
        return key is not None and self.entry(key) is not None

    def lookup(self, url: str) -> Evidence | None:
        """Evidence from the cached site file for ``url``; ``None`` if none or not yet known."""
        key = site_key(url)
        e = self.entry(key) if key else None
        if e is None or e.declaration is None:
            return None
        return e.declaration.evidence(url)

    # --- background fetching ----------------------------------------------------------

    def request_fetch(self, url: str) -> asyncio.Task[AgeDeclaration | None] | None:
        """Start a background fetch for the site of ``url`` unless cached or already running.

        Must be called from the event loop thread; returns the task (do not await it on the
        request path) or ``None`` when nothing needs fetching.
        """
        key = site_key(url)
        if key is None or self.entry(key) is not None:
            return None
        task = self._inflight.get(key)
        if task is not None:
            return task
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        task = loop.create_task(self._fetch(key), name=f"kidgate age-de.xml {key[1]}")
        self._inflight[key] = task
        task.add_done_callback(lambda _t, k=key: self._inflight.pop(k, None))
        return task

    async def ensure(self, scheme: str, host: str, port: int) -> AgeDeclaration | None:
        """Fetch (or join the running fetch) and wait for the result; for tools and tests."""
        url = f"{scheme}://{host}:{port}/"
        key = site_key(url)
        if key is None:
            return None
        if (e := self.entry(key)) is not None:
            return e.declaration
        task = self.request_fetch(url)
        return await asyncio.shield(task) if task is not None else None

    async def evidence(self, url: str) -> Evidence | None:
        """Cached evidence for ``url``, starting a fetch and waiting at most ``max_wait``."""
        if (ev := self.lookup(url)) is not None or self.known(url):
            return ev
        task = self.request_fetch(url)
        if task is not None and self.max_wait > 0:
            try:
                await asyncio.wait_for(asyncio.shield(task), self.max_wait)
            except (TimeoutError, asyncio.TimeoutError):
                pass
        return self.lookup(url)

    def _store(self, key: SiteKey, decl: AgeDeclaration | None, ttl: float, note: str) -> None:
        self._entries[key] = SiteEntry(decl, self.clock() + ttl, note)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def _make_client(self) -> httpx.AsyncClient:
        """Built off the event loop: loading CA certificates takes tens of milliseconds."""
        if self.verify is False:
            verify: ssl.SSLContext | bool = False
        elif isinstance(self.verify, str):
            verify = ssl.create_default_context(cafile=self.verify)
        else:
            verify = ssl.create_default_context()
        return httpx.AsyncClient(
            verify=verify, trust_env=False, follow_redirects=False, timeout=self.timeout,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=0),
            headers={"User-Agent": "kidgate-label-check/1", "Accept-Encoding": "identity"})

    async def _get_client(self) -> httpx.AsyncClient:
        """One shared client per event loop, so no fetch pays for loading CA certificates."""
        loop = asyncio.get_running_loop()
        if self._client_loop is not loop or self._client_ready is None:
            self._client_loop = loop
            self._client_ready = loop.create_task(asyncio.to_thread(self._make_client))
        return await asyncio.shield(self._client_ready)

    async def aclose(self) -> None:
        """Cancel running fetches and close the shared client (on proxy shutdown)."""
        for task in list(self._inflight.values()):
            task.cancel()
        ready, self._client_ready = self._client_ready, None
        if ready is not None and ready.done() and not ready.cancelled() \
                and ready.exception() is None:
            await ready.result().aclose()

    async def _fetch(self, key: SiteKey) -> AgeDeclaration | None:
        scheme, host, port = key
        self.fetches += 1
        base = f"{scheme}://{host if ':' not in host else f'[{host}]'}:{port}"
        notes: list[str] = []
        errored = False
        try:
            client = await self._get_client()
            for path in self.paths:
                try:
                    data = await asyncio.wait_for(self._get(client, base + path), self.timeout)
                    if data is None:
                        notes.append(f"{path}: absent")
                        continue
                    decl = parse_age_de_xml(data, source=path.lstrip("/"))
                except (httpx.HTTPError, OSError, TimeoutError, asyncio.TimeoutError) as e:
                    notes.append(f"{path}: {type(e).__name__}")
                    errored = True
                    break
                except LabelError as e:
                    notes.append(str(e))
                    log.info("kidgate: %s%s refused: %s", base, path, e)
                    continue
                ttl = decl.revisit_after or self.default_ttl
                self._store(key, decl, min(max(ttl, self.min_ttl), self.max_ttl), path)
                return decl
        except Exception as e:  # a label file must never break the proxy
            log.warning("kidgate: label fetch for %s failed: %r", base, e)
            notes.append(repr(e))
            errored = True
        self._store(key, None, self.error_ttl if errored else self.negative_ttl, "; ".join(notes))
        return None

    async def _get(self, client: httpx.AsyncClient, url: str) -> bytes | None:
        """The body of ``url`` if 200, ``None`` otherwise; :class:`LabelError` past the limit."""
        async with client.stream("GET", url) as resp:
            if resp.status_code != 200:
                return None
            if resp.headers.get("content-encoding", "identity").lower() != "identity":
                raise LabelError(f"{url}: compressed label files are refused")
            length = resp.headers.get("content-length", "")
            if length.isdigit() and int(length) > self.max_bytes:
                raise LabelError(f"{url}: {length} bytes exceeds the {self.max_bytes} byte limit")
            buf = bytearray()
            async for chunk in resp.aiter_raw():
                buf += chunk
                if len(buf) > self.max_bytes:
                    raise LabelError(f"{url}: more than the {self.max_bytes} byte limit")
            return bytes(buf)
