"""End to end: safe-search and school rewrites through the running proxy, seen by the upstream."""

from __future__ import annotations

import textwrap
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.support.proxy import Site, run_proxy

pytestmark = pytest.mark.e2e

CONFIG = textwrap.dedent("""\
    profiles:
      kid:
        age: 10
        youtube: moderate
        school: {google_allowed_domains: [school.example], block_consumer_microsoft: true}
      parent: {age: 40}
    devices:
      - {user: parent, profile: parent}
    default_profile: kid
    """)
HOSTS = ("www.google.com", "www.youtube.com", "login.live.com", "duckduckgo.com")


@pytest.fixture(scope="module")
def upstream():
    s = Site({"/search": (200, {"Content-Type": "text/plain"}, b"results"),
              "/results": (200, {"Content-Type": "text/plain"}, b"videos"),
              "/login.srf": (200, {"Content-Type": "text/plain"}, b"login"),
              "/": (200, {"Content-Type": "text/plain"}, b"home")}).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, upstream):
    tmp = tmp_path_factory.mktemp("proxy")
    with run_proxy(tmp, config=CONFIG, routes={h: upstream.port for h in HOSTS},
                   classifier=False) as p:
        yield p


def seen(upstream: Site, client: httpx.Client, url: str, **kw) -> tuple[dict[str, str], list]:
    upstream.requests.clear()
    r = client.get(url, **kw)
    assert r.status_code == 200, r.text[:300]
    _, path, headers = upstream.requests[-1]
    return {k.lower(): v for k, v in headers.items()}, parse_qsl(urlsplit(path).query)


def test_child_requests_are_made_safe(proxy, upstream):
    with httpx.Client(proxy=proxy.url, timeout=15) as kid:
        headers, query = seen(upstream, kid, "http://www.google.com/search?q=cats&safe=off")
        assert query == [("q", "cats"), ("safe", "active"), ("ssui", "on")]
        assert headers["x-googapps-allowed-domains"] == "school.example"

        headers, _ = seen(upstream, kid, "http://www.youtube.com/results?search_query=x",
                          headers={"YouTube-Restrict": "off"})
        assert headers["youtube-restrict"] == "Moderate"
        assert "x-googapps-allowed-domains" not in headers

        headers, _ = seen(upstream, kid, "http://login.live.com/login.srf")
        assert headers["sec-restrict-tenant-access-policy"] == "restrict-msa"

        headers, query = seen(upstream, kid, "http://duckduckgo.com/?q=x&kp=-2",
                              headers={"Cookie": "p=-2"})
        assert query == [("q", "x"), ("kp", "1")] and headers["cookie"] == "p=1"


def test_parent_requests_untouched(proxy, upstream):
    with httpx.Client(proxy=f"http://parent:x@127.0.0.1:{proxy.port}", timeout=15) as parent:
        headers, query = seen(upstream, parent, "http://www.google.com/search?q=cats&safe=off")
        assert query == [("q", "cats"), ("safe", "off")]
        assert "x-googapps-allowed-domains" not in headers
