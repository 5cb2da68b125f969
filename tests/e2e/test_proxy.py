"""End to end: a real mitmproxy with kidgate's addons, a real HTTP client, local sites."""

from __future__ import annotations

import json
import textwrap
import time

import httpx
import pytest

import subprocess
import sys

from tests.support.proxy import ADDON, Site, build_test_lists, free_port, make_tls, run_proxy

pytestmark = pytest.mark.e2e

PAGE = b"<!doctype html><html><head><title>Garden</title></head><body>" + \
    b"<p>How to grow tomatoes in a small garden. " * 700 + b"</p></body></html>"  # ~30 KB

CONFIG = textwrap.dedent("""\
    hotline_country: GB
    profiles:
      child:
        age: 10
        deny: [denied.test]
      teen: {age: 15, language: ro, deny: [denied.test]}
      adult: {age: 40}
    devices:
      - {user: teen, profile: teen}
      - {user: mum, profile: adult}
    default_profile: child
    """)


@pytest.fixture(scope="module")
def site():
    s = Site({"/": (200, {"Content-Type": "text/html; charset=utf-8"}, PAGE),
              "/plain": (200, {"Content-Type": "text/plain"}, b"hello")}).start()
    yield s
    s.stop()


LISTS = {"sexual": ["adult.test"], "gambling": ["casino.test"], "social": ["chat.test"],
         "allow": ["edu.casino.test"]}


@pytest.fixture(scope="module")
def test_lists(tmp_path_factory):
    return build_test_lists(tmp_path_factory.mktemp("lists"), LISTS)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, site, test_lists):
    tmp = tmp_path_factory.mktemp("proxy")
    routes = {h: site.port for h in ("garden.test", "denied.test", "www.denied.test",
                                     "chat.test", "edu.casino.test")}
    with run_proxy(tmp, config=CONFIG, routes=routes, classifier=False, lists=test_lists) as p:
        yield p


@pytest.mark.parametrize("url,category", [
    ("http://adult.test/", "sexual"), ("http://www.casino.test/play", "gambling"),
    ("http://chat.test/room", "social"), ("http://ADULT.test./", "sexual"),
    ("http://garden.test@adult.test/", "sexual"),
])
def test_listed_category_gets_block_page(proxy, url, category):
    with proxy.client() as c:
        r = c.get(url)
    assert r.status_code == 403, r.text[:300]
    assert r.headers["x-kidgate-category"] == category
    assert f'data-category="{category}"' in r.text


def test_bare_public_ip_address_is_blocked_for_a_child_before_connecting(proxy):
    """No route exists to this address here: only a decision before connecting gives a page."""
    with proxy.client() as c:
        r = c.get("http://93.184.216.34/")
    assert r.status_code == 403, r.text[:300]
    assert r.headers["x-kidgate-category"] == "bypass"
    assert "bare IP address" in r.text


def test_allow_list_beats_category_list(proxy):
    with proxy.client() as c:
        r = c.get("http://edu.casino.test/plain")
    assert r.status_code == 200 and r.text == "hello"


def test_teen_may_use_social_but_not_gambling(proxy):
    with proxy.client(headers={"Proxy-Authorization": "Basic dGVlbjpzZWNyZXQ="}) as c:
        assert c.get("http://chat.test/plain").status_code == 200
        assert c.get("http://casino.test/").status_code == 403


def test_allowed_page_passes_through_unchanged(proxy, site):
    with proxy.client() as c:
        r = c.get("http://garden.test/")
    assert r.status_code == 200
    assert r.content == PAGE
    assert site.requests and site.requests[-1][2].get("Host") == "garden.test"


def test_denied_host_gets_block_page_without_contacting_upstream(proxy, site):
    before = len(site.requests)
    with proxy.client() as c:
        r = c.get("http://www.denied.test/some/page?q=1")
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "This page is blocked" in r.text
    assert "deny list (denied.test)" in r.text
    assert "content-security-policy" in r.headers
    assert len(site.requests) == before


def test_block_page_in_profile_language_via_proxy_auth(proxy):
    with proxy.client(auth=None, headers={"Proxy-Authorization": "Basic dGVlbjpzZWNyZXQ="}) as c:
        r = c.get("http://denied.test/")
    assert r.status_code == 403
    assert "Această pagină este blocată" in r.text


def test_adult_profile_not_blocked_by_childs_list(proxy):
    with proxy.client(headers={"Proxy-Authorization": "Basic bXVtOng="}) as c:
        r = c.get("http://garden.test/plain")
    assert r.status_code == 200 and r.text == "hello"


def test_decisions_are_logged_without_bodies(proxy):
    time.sleep(0.5)  # the log is written in batches: earlier tests' records are on disk now
    before = len(proxy.decisions())
    with proxy.client() as c:
        c.get("http://denied.test/private/path")
    deadline = time.monotonic() + 5
    rows: list[dict] = []
    while time.monotonic() < deadline:
        rows = [r for r in proxy.decisions()[before:] if r["host"] == "denied.test"]
        if rows:
            break
        time.sleep(0.1)
    assert rows, "no decision logged"
    row = rows[-1]
    assert row["action"] == "block" and row["profile"] == "child" and row["client"] == "127.0.0.1"
    assert "private/path" not in json.dumps(row)


def test_https_is_intercepted_and_blocked_with_a_page(tmp_path, site):
    ca, ctx = make_tls(tmp_path, ["secure.test", "denied.test", "127.0.0.1"])
    tls_site = Site({"/": (200, {"Content-Type": "text/plain"}, b"secure hello")}, tls=ctx).start()
    try:
        routes = {"secure.test": tls_site.port, "denied.test": tls_site.port}
        with run_proxy(tmp_path, config=CONFIG, routes=routes, classifier=False,
                       upstream_ca=ca, lists=build_test_lists(tmp_path, LISTS)) as p, p.client() as c:
            ok = c.get("https://secure.test/")
            blocked = c.get("https://denied.test/")
        assert ok.status_code == 200 and ok.text == "secure hello"
        assert blocked.status_code == 403 and "This page is blocked" in blocked.text
    finally:
        tls_site.stop()


def test_upstream_certificate_is_verified(tmp_path):
    """A site whose certificate the gateway does not trust is never shown: a forged or
    intercepted upstream must not get kidgate's own trusted certificate painted over it."""
    _ca, ctx = make_tls(tmp_path, ["secure.test", "127.0.0.1"])
    tls_site = Site({"/": (200, {"Content-Type": "text/plain"}, b"secure hello")}, tls=ctx).start()
    try:
        with run_proxy(tmp_path, config=CONFIG, routes={"secure.test": tls_site.port},
                       classifier=False, lists=build_test_lists(tmp_path, LISTS)) as p, \
                p.client() as c:
            r = c.get("https://secure.test/")
        assert r.status_code == 502 and "secure hello" not in r.text
        assert "certificate" in r.text.lower()
    finally:
        tls_site.stop()


def test_invalid_config_refuses_to_start_with_located_error(tmp_path):
    cfg = tmp_path / "kidgate.yaml"
    cfg.write_text("profiles:\n  kid:\n    age: old\n")
    proc = subprocess.run([sys.executable, "-m", "kidgate.cli", "run", "--config", str(cfg),
                           "--port", str(free_port())], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert f"{cfg}:3: profiles.kid.age: expected a whole number" in proc.stderr
    assert "Traceback" not in proc.stderr
    # The same file given to mitmdump directly: the proxy exits instead of running unfiltered.
    proc = subprocess.run([sys.executable, "-c", "from mitmproxy.tools.main import mitmdump; mitmdump()",
                           "-s", str(ADDON), "--listen-port", str(free_port()),
                           "--set", f"kidgate_config={cfg}", "--set", f"confdir={tmp_path}"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "profiles.kid.age" in proc.stdout + proc.stderr


def test_config_reload_keeps_serving_and_rejects_invalid(tmp_path, site):
    routes = {"garden.test": site.port, "later.test": site.port}
    with run_proxy(tmp_path, config=CONFIG, routes=routes, classifier=False,
                   lists=build_test_lists(tmp_path, LISTS)) as p:
        cfg = tmp_path / "kidgate.yaml"
        with p.client() as c:
            assert c.get("http://later.test/plain").status_code == 200
            cfg.write_text(CONFIG.replace("deny: [denied.test]", "deny: [denied.test, later.test]", 1))
            _wait_for(lambda: c.get("http://later.test/plain").status_code == 403)
            cfg.write_text("profiles: [broken")
            time.sleep(2.5)
            assert c.get("http://later.test/plain").status_code == 403  # old config kept
            assert c.get("http://garden.test/plain").status_code == 200
        assert "keeping the previous one" in p.log()


def _wait_for(cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.3)
    raise AssertionError("condition not met in time")


def _tls_through_proxy(proxy, host: str, cafiles: list) -> tuple[str, int]:
    """CONNECT through the proxy, TLS with SNI ``host``; returns (certificate issuer, status)."""
    import socket
    import ssl
    ctx = ssl.create_default_context()
    for f in cafiles:
        ctx.load_verify_locations(str(f))
    raw = socket.create_connection(("127.0.0.1", proxy.port), timeout=15)
    raw.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
    assert raw.recv(4096).startswith(b"HTTP/1.1 200")
    with ctx.wrap_socket(raw, server_hostname=host) as tls:
        issuer = dict(x[0] for x in tls.getpeercert()["issuer"])["commonName"]
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    return issuer, int(data.split(b" ", 2)[1])


def test_passthrough_hosts_are_not_decrypted_unless_blocked(tmp_path):
    ca, ctx = make_tls(tmp_path, ["bank.test", "adult.test"])
    tls_site = Site({"/": (200, {"Content-Type": "text/plain"}, b"bank")}, tls=ctx).start()
    cfg = CONFIG + "passthrough: [bank.test, adult.test]\n"
    try:
        routes = {"bank.test": tls_site.port, "adult.test": tls_site.port}
        with run_proxy(tmp_path, config=cfg, routes=routes, classifier=False, upstream_ca=ca,
                       lists=build_test_lists(tmp_path, LISTS)) as p:
            issuer, status = _tls_through_proxy(p, "bank.test", [ca, p.ca_cert])
            assert issuer == "kidgate test CA" and status == 200  # the bank's own certificate
            issuer, status = _tls_through_proxy(p, "adult.test", [ca, p.ca_cert])
            assert issuer == "mitmproxy" and status == 403  # intercepted to show the block page
    finally:
        tls_site.stop()
