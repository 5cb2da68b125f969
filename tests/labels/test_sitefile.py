"""Background fetch of site label files against local HTTP and HTTPS servers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from policies.core import Profile, decide
from policies.labels.sitefile import SiteLabelCache, site_key
from tests.support.proxy import Site, make_tls

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "labels"
AGE_16 = b"""<?xml version="1.0"?><age-declaration><ageblock-basic><revisit-after>7days</revisit-after>
</ageblock-basic><ageblock-labeltype><default-age>16</default-age></ageblock-labeltype></age-declaration>"""
XML = {"Content-Type": "application/xml"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def site():
    s = Site().start()
    yield s
    s.stop()


def paths(site: Site) -> list[str]:
    return [p for _, p, _ in site.requests]


async def test_fetch_then_cached(site):
    site.pages["/age-de.xml"] = (200, XML, AGE_16)
    cache = SiteLabelCache(verify=False)
    url = f"http://127.0.0.1:{site.port}/page"
    assert cache.lookup(url) is None  # unknown: judged on other evidence, no wait
    task = cache.request_fetch(url)
    assert task is not None
    assert cache.request_fetch(url) is task  # one fetch per site at a time
    await task
    ev = cache.lookup(url)
    assert ev is not None and ev.min_age == 16 and ev.kind == "age-de"
    assert decide(Profile("kid", 10), [ev]).blocked
    assert not decide(Profile("teen", 17), [ev]).blocked
    assert cache.request_fetch(url) is None  # cached: no second fetch
    assert paths(site) == ["/age-de.xml"]
    assert site.requests[0][2].get("User-Agent", "").startswith("kidgate")


async def test_falls_back_to_age_xml(site):
    site.pages["/age.xml"] = (200, XML, (FIXTURES / "age-de.xml").read_bytes())
    cache = SiteLabelCache(verify=False)
    decl = await cache.ensure("http", "127.0.0.1", site.port)
    assert decl is not None and decl.source == "age.xml"
    assert paths(site) == ["/age-de.xml", "/age.xml"]


async def test_negative_cache_and_expiry(site):
    clock = Clock()
    cache = SiteLabelCache(verify=False, negative_ttl=600, clock=clock)
    url = f"http://127.0.0.1:{site.port}/"
    assert await cache.ensure("http", "127.0.0.1", site.port) is None
    assert cache.known(url) and cache.lookup(url) is None
    assert cache.request_fetch(url) is None  # negative answer cached
    assert len(site.requests) == 2
    clock.now += 601
    assert not cache.known(url)
    site.pages["/age-de.xml"] = (200, XML, AGE_16)
    await cache.request_fetch(url)
    assert cache.lookup(url).min_age == 16


async def test_revisit_after_is_honoured(site):
    clock = Clock()
    site.pages["/age-de.xml"] = (200, XML, AGE_16)
    cache = SiteLabelCache(verify=False, clock=clock)
    url = f"http://127.0.0.1:{site.port}/"
    await cache.request_fetch(url)
    clock.now += 6 * 86400
    assert cache.lookup(url).min_age == 16 and cache.request_fetch(url) is None
    clock.now += 2 * 86400  # past revisit-after (7 days)
    assert cache.lookup(url) is None
    assert cache.request_fetch(url) is not None


async def test_size_limit_with_content_length(site):
    big = b'<?xml version="1.0"?><age-declaration><default-age>0</default-age>' \
        + b"<!-- pad -->" * 6000 + b"</age-declaration>"
    site.pages["/age-de.xml"] = (200, XML, big)
    cache = SiteLabelCache(verify=False)
    assert await cache.ensure("http", "127.0.0.1", site.port) is None
    entry = cache.entry(site_key(f"http://127.0.0.1:{site.port}/"))
    assert entry is not None and entry.declaration is None and "byte limit" in entry.note


async def test_size_limit_without_content_length():
    """A close-delimited 10 MB body: reading stops at the limit."""
    sent = 0

    async def handle(reader, writer):
        nonlocal sent
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nConnection: close\r\n\r\n"
                     b"<age-declaration>")
        try:
            for _ in range(160):
                writer.write(b"<x/>" * 16384)
                sent += 65536
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        cache = SiteLabelCache(verify=False, paths=("/age-de.xml",))
        t = time.monotonic()
        assert await cache.ensure("http", "127.0.0.1", port) is None
        assert time.monotonic() - t < 2
        assert "byte limit" in cache.entry(("http", "127.0.0.1", port)).note
        assert sent < 10_000_000
    finally:
        server.close()


async def test_timeout(site):
    def slow(handler):
        time.sleep(1.5)
        return 200, XML, AGE_16
    site.pages["/age-de.xml"] = slow
    cache = SiteLabelCache(verify=False, timeout=0.3, error_ttl=120)
    t = time.monotonic()
    assert await cache.ensure("http", "127.0.0.1", site.port) is None
    assert time.monotonic() - t < 1.0
    assert "Timeout" in cache.entry(("http", "127.0.0.1", site.port)).note


async def test_evidence_never_waits_longer_than_max_wait(site):
    def slow(handler):
        time.sleep(0.5)
        return 200, XML, AGE_16
    site.pages["/age-de.xml"] = slow
    cache = SiteLabelCache(verify=False, max_wait=0.005)
    url = f"http://127.0.0.1:{site.port}/x"
    t = time.monotonic()
    assert await cache.evidence(url) is None
    assert time.monotonic() - t < 0.1
    await asyncio.sleep(0.8)
    assert (await cache.evidence(url)).min_age == 16
    assert len(site.requests) == 1


async def test_connection_refused_is_cached_as_error():
    cache = SiteLabelCache(verify=False, timeout=0.5)
    assert await cache.ensure("http", "127.0.0.1", 9) is None
    assert cache.known("http://127.0.0.1:9/")


async def test_https_verifies_certificates(tmp_path):
    ca, server_ctx = make_tls(tmp_path, ["127.0.0.1", "localhost"])
    site = Site(tls=server_ctx).start()
    site.pages["/age-de.xml"] = (200, XML, AGE_16)
    try:
        trusted = SiteLabelCache(verify=str(ca))
        decl = await trusted.ensure("https", "127.0.0.1", site.port)
        assert decl is not None and decl.default_age == 16
        untrusted = SiteLabelCache()  # system CAs only: the test CA is not trusted
        assert await untrusted.ensure("https", "127.0.0.1", site.port) is None
        assert "Error" in untrusted.entry(("https", "127.0.0.1", site.port)).note
    finally:
        site.stop()


async def test_proxy_environment_is_ignored(site, monkeypatch):
    """The proxy's own fetches never go through a proxy (least of all itself)."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    site.pages["/age-de.xml"] = (200, XML, AGE_16)
    cache = SiteLabelCache(verify=False)
    assert (await cache.ensure("http", "127.0.0.1", site.port)).default_age == 16


def test_request_fetch_outside_event_loop_is_a_no_op():
    cache = SiteLabelCache()
    assert cache.request_fetch("https://example.org/") is None
    assert cache.request_fetch("ftp://example.org/") is None
    assert site_key("https://Example.ORG/x") == ("https", "example.org", 443)
