"""Hostile upstream responses through the running proxy: bombs, garbage, lies about types.

Each must get an answer quickly (the page or a block page), never hang or crash the proxy.
"""

from __future__ import annotations

import gzip
import os
import time
import zlib

import pytest

from tests.support.proxy import Site, build_test_lists, run_proxy

pytestmark = pytest.mark.e2e

BOMB = gzip.compress(b"<html><body>" + b"a" * (200 * 1024 * 1024), compresslevel=9)
HTML = {"Content-Type": "text/html; charset=utf-8"}
RESPONSES = {
    "/bomb": (200, {**HTML, "Content-Encoding": "gzip"}, BOMB),
    "/brokengzip": (200, {**HTML, "Content-Encoding": "gzip"}, b"\x1f\x8b\x08\x00garbage" * 100),
    "/unknownenc": (200, {**HTML, "Content-Encoding": "x-kidgate-unknown"}, b"<p>hi</p>"),
    "/binary": (200, HTML, os.urandom(300_000)),
    "/badcharset": (200, {"Content-Type": "text/html; charset=no-such-charset"}, b"<p>\xff\xfe caf\xe9</p>"),
    "/nested": (200, HTML, b"<div>" * 100_000 + b"text"),
    "/hugeattr": (200, HTML, b'<img alt="' + b"x" * 2_000_000 + b'">'),
    "/deflate": (200, {**HTML, "Content-Encoding": "deflate"}, zlib.compress(b"<p>ok</p>")),
    "/labelheader": (200, {**HTML, "Rating": "\x00" * 10 + "RTA-5042-1996-1400-1577-RTA"}, b"<p>x</p>"),
    "/pics": (200, {**HTML, "PICS-Label": "(PICS-1.1 " + "(" * 10_000}, b"<p>x</p>"),
}


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    site = Site(dict(RESPONSES)).start()
    tmp = tmp_path_factory.mktemp("hostile")
    with run_proxy(tmp, config="profiles: {child: {age: 10}}\n", routes={"evil.test": site.port},
                   lists=build_test_lists(tmp, {"sexual": ["adult.test"]})) as p:
        yield p
    site.stop()


@pytest.mark.parametrize("path", sorted(RESPONSES))
def test_hostile_response_gets_a_prompt_answer(proxy, path):
    start = time.monotonic()
    with proxy.client() as c, c.stream("GET", f"http://evil.test{path}") as r:
        body = b"".join(r.iter_raw())  # as sent: the client does not decode the bomb
    assert r.status_code in (200, 403), r.status_code
    assert time.monotonic() - start < 20
    if r.status_code == 403:
        assert b"This page is blocked" in body
    else:
        assert body == RESPONSES[path][2]  # passed through unchanged


def test_proxy_still_serves_after_hostile_responses(proxy):
    with proxy.client() as c:
        assert c.get("http://adult.test/").status_code == 403
        assert c.get("http://evil.test/deflate").status_code == 200
    assert proxy.proc.poll() is None


def test_rta_header_blocks(proxy):
    with proxy.client() as c:
        r = c.get("http://evil.test/labelheader")
    assert r.status_code == 403 and r.headers["x-kidgate-category"] == "sexual"
