"""Hostile traffic through the running proxy, with memory watched: bodies far larger than any
page (chunked, no length given), a 30 MB single line, an upstream that trickles, clients that
open connections and send nothing. The proxy must stay within bounded memory, answer the
next request, and still block what it should."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.proxy import Site, build_test_lists, run_proxy

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HUGE = 300 * 1024 * 1024  # bytes of HTML, sent chunked without a length


def _rss_kb(pid: int) -> int:
    """Resident memory of a process and its children (the classifier workers), in KB."""
    total = 0
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def _endless(h: http.server.BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    chunk = b"<p>" + b"garden tomatoes " * 4000 + b"</p>\n"
    sent = 0
    try:
        while sent < HUGE:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        h.wfile.write(b"0\r\n\r\n")
    except OSError:
        pass


def _trickle(h: http.server.BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
    time.sleep(3)  # a slow upstream holds only its own request
    return 200, {"Content-Type": "text/html"}, b"<p>slow but fine</p>"


class _Raw(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/endless":
            _endless(self)
            self.close_connection = True
            return
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstreams():
    raw = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Raw)
    threading.Thread(target=raw.serve_forever, daemon=True).start()
    line = b"<html><body><p>" + b"x" * (30 * 1024 * 1024) + b"</p></body></html>"
    site = Site({"/line": (200, {"Content-Type": "text/html"}, line),
                 "/slow": _trickle,
                 "/ok": (200, {"Content-Type": "text/html"}, b"<p>hello</p>")}).start()
    yield raw.server_address[1], site
    raw.shutdown()
    site.stop()


@pytest.fixture(scope="module")
def proxy(upstreams, tmp_path_factory):
    raw_port, site = upstreams
    tmp = tmp_path_factory.mktemp("traffic")
    with run_proxy(tmp, config="profiles: {child: {age: 10}}\n",
                   routes={"huge.test": raw_port, "site.test": site.port},
                   lists=build_test_lists(tmp, {"sexual": ["adult.test"]})) as p:
        with p.client() as c:  # warm up: workers loaded, first page classified
            assert c.get("http://site.test/ok").status_code == 200
        yield p


def _still_serving(proxy) -> None:  # type: ignore[no-untyped-def]
    with proxy.client() as c:
        assert c.get("http://site.test/ok").status_code == 200
        assert c.get("http://adult.test/").status_code == 403


def test_a_body_of_hundreds_of_megabytes_streams_in_bounded_memory(proxy):
    before = _rss_kb(proxy.proc.pid)
    peak = before
    got = 0
    with httpx.Client(proxy=proxy.url, timeout=120) as c:
        with c.stream("GET", "http://huge.test/endless") as r:
            assert r.status_code == 200
            for chunk in r.iter_raw(1 << 20):
                got += len(chunk)
                if got % (16 << 20) < (1 << 20):
                    peak = max(peak, _rss_kb(proxy.proc.pid))
    assert got >= HUGE // 2, got
    assert peak - before < 200 * 1024, (before, peak)  # far less than the 300 MB sent
    _still_serving(proxy)


def test_a_thirty_megabyte_single_line(proxy):
    with httpx.Client(proxy=proxy.url, timeout=60) as c:
        r = c.get("http://site.test/line")
    assert r.status_code in (200, 403) and r.elapsed.total_seconds() < 30
    _still_serving(proxy)


def test_a_slow_upstream_holds_only_its_own_request(proxy):
    result: dict[str, int] = {}

    def slow() -> None:
        with httpx.Client(proxy=proxy.url, timeout=30) as c:
            result["slow"] = c.get("http://site.test/slow").status_code
    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.3)
    started = time.monotonic()
    _still_serving(proxy)  # answered while the slow one waits
    assert time.monotonic() - started < 2.5
    t.join(30)
    assert result["slow"] == 200


def _open_files_soft_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    return 0


def test_ten_thousand_idle_connections(proxy):
    """Clients that connect and never send: the proxy accepts them all, keeps answering
    others, and its memory stays bounded."""
    import resource
    want = 10_000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want + 200:
        pytest.skip(f"the open-files hard limit here is {hard}")
    if soft < want + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want + 200, hard))
    assert _open_files_soft_limit(proxy.proc.pid) >= want  # kidgate raised its own limit
    before = _rss_kb(proxy.proc.pid)
    socks = []
    try:
        for _ in range(want):
            socks.append(socket.create_connection(("127.0.0.1", proxy.port), timeout=5))
        deadline = time.monotonic() + 30  # until the proxy has accepted them all
        while len(list(Path(f"/proc/{proxy.proc.pid}/fd").iterdir())) < want:
            assert time.monotonic() < deadline, "the proxy did not accept every connection"
            time.sleep(0.2)
        _still_serving(proxy)
        grown = _rss_kb(proxy.proc.pid) - before
        assert grown < 400 * 1024, grown  # bounded: well under 40 kB per idle connection
    finally:
        for s in socks:
            s.close()
    _still_serving(proxy)
