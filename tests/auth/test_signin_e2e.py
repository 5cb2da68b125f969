"""Proxy sign-in through a real proxy: a parent signs in with kidgate's own password hash, a
pupil with the school directory's (a real OpenLDAP server); the signed-in user chooses the
profile over plain HTTP and inside HTTPS tunnels; a wrong password gets 407 and the site never
sees the request; the credentials never reach a site; with ``required`` nobody browses
without signing in, while kidgate's own pages stay open."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from kidgate.proxyauth import hash_password
from tests.support import ldap
from tests.support.proxy import Site, build_test_lists, make_tls, run_proxy

pytestmark = pytest.mark.e2e

MUM_PASSWORD = "correct horse battery"


def config(ldap_url: str, *, required: bool = False) -> str:
    return f"""\
profiles:
  child: {{age: 9}}
  pupil: {{age: 14}}
  parent: {{age: 42}}
default_profile: child
devices:
  - {{user: mum, profile: parent}}
  - {{user: ana, profile: pupil}}
proxy_auth:
  required: {str(required).lower()}
  users:
    mum: "{hash_password(MUM_PASSWORD)}"
  ldap: {{url: "{ldap_url}", user_dn: "{ldap.USER_DN}"}}
"""


@pytest.fixture(scope="module")
def sites(tmp_path_factory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("signin-sites")
    ca, ctx = make_tls(tmp, ["secure.casino.test", "secure.chat.test", "127.0.0.1"])
    plain = Site({"/": (200, {"Content-Type": "text/plain"}, b"hello")}).start()
    tls = Site({"/": (200, {"Content-Type": "text/plain"}, b"secure hello")}, tls=ctx).start()
    lists = build_test_lists(tmp, {"gambling": ["casino.test"], "social": ["chat.test"]})
    yield plain, tls, ca, lists
    plain.stop()
    tls.stop()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, sites, ldap_url):  # type: ignore[no-untyped-def]
    plain, tls, ca, lists = sites
    tmp = tmp_path_factory.mktemp("signin")
    with run_proxy(tmp, config=config(ldap_url), routes=_routes(sites),
                   classifier=False, lists=lists, upstream_ca=ca) as p:
        yield p


def _routes(sites) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Plain-HTTP sites on one server, their secure.* twins on a TLS server."""
    plain, tls = sites[0], sites[1]
    return {"casino.test": plain.port, "chat.test": plain.port,
            "secure.casino.test": tls.port, "secure.chat.test": tls.port}


def _as(proxy, user: str | None = None, password: str = "") -> httpx.Client:  # type: ignore[no-untyped-def]
    url = proxy.url if user is None else \
        proxy.url.replace("http://", f"http://{quote(user)}:{quote(password)}@")
    import ssl
    return httpx.Client(proxy=url, verify=ssl.create_default_context(cafile=str(proxy.ca_cert)),
                        timeout=15)


def _logged(proxy, host: str, since: int) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = [r for r in proxy.decisions()[since:] if r["host"] == host]
        if rows:
            return rows[-1]
        time.sleep(0.1)
    raise AssertionError(f"no decision logged for {host}")


def test_without_signing_in_a_device_gets_the_profile_of_its_address(proxy) -> None:
    with _as(proxy) as c:
        assert c.get("http://casino.test/").status_code == 403  # child: gambling blocked


def test_a_parent_signs_in_with_kidgates_own_password(proxy, sites) -> None:
    plain = sites[0]
    before, seen = len(proxy.decisions()), len(plain.requests)
    with _as(proxy, "mum", MUM_PASSWORD) as c:
        r = c.get("http://casino.test/")
        assert r.status_code == 200 and r.text == "hello"
        assert c.get("http://casino.test/").status_code == 200  # remembered: no second check
        secure = c.get("https://secure.casino.test/")  # inside a CONNECT tunnel that signed in
        assert secure.status_code == 200 and secure.text == "secure hello"
    row = _logged(proxy, "casino.test", before)
    assert row["profile"] == "parent" and row["client"] == "user:mum"
    # The credentials are the proxy's business: no site ever sees them.
    assert all("Proxy-Authorization" not in h and "proxy-authorization" not in h
               for _, _, h in plain.requests[seen:])


def test_a_pupil_signs_in_with_the_school_directorys_password(proxy) -> None:
    with _as(proxy, "ana", ldap.PUPILS["ana"]) as c:
        assert c.get("http://chat.test/").status_code == 200      # 14: social networks
        assert c.get("http://casino.test/").status_code == 403    # never gambling
        assert c.get("https://secure.chat.test/").status_code == 200


@pytest.mark.parametrize("user, password", [("mum", "wrong password"),
                                            ("ana", ldap.PUPILS["radu"]),
                                            ("nobody", "whatever")])
def test_a_wrong_password_gets_407_and_the_site_never_sees_it(proxy, sites, user,
                                                              password) -> None:
    plain = sites[0]
    seen = len(plain.requests)
    with _as(proxy, user, password) as c:
        r = c.get("http://chat.test/")
        assert r.status_code == 407 and "Proxy-Authenticate" in r.headers
        with pytest.raises(httpx.ProxyError):
            c.get("https://secure.chat.test/")  # the tunnel is refused
    assert len(plain.requests) == seen


def test_when_required_nobody_browses_without_signing_in(tmp_path: Path, sites,
                                                         ldap_url: str) -> None:
    plain, tls, ca, lists = sites
    with run_proxy(tmp_path, config=config(ldap_url, required=True), routes=_routes(sites),
                   classifier=False, lists=lists, upstream_ca=ca) as p:
        with _as(p) as c:
            r = c.get("http://chat.test/")
            assert r.status_code == 407 and "Sign in" in r.text
            # kidgate's own pages (certificate, proxy settings) stay reachable.
            assert c.get("http://kidgate.internal/").status_code == 200
        with _as(p, "ana", ldap.PUPILS["ana"]) as c:
            assert c.get("http://chat.test/").status_code == 200
        log = p.log()
    assert ldap.PUPILS["ana"] not in log and MUM_PASSWORD not in log
    assert json.dumps(ldap.PUPILS["ana"])[1:-1] not in (p.data_dir / "decisions.jsonl").read_text()
