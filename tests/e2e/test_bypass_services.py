"""'Proxy through a service' and DNS-over-HTTPS through the running proxy: a translation proxy,
a web cache, an archive or a redirector carrying a blocked site gets that site's block page; a
DoH query gets a bypass block for a child; the same services carrying a harmless site, and an
adult, are not blocked by kidgate."""

from __future__ import annotations

import pytest

from tests.support.proxy import build_test_lists, run_proxy

pytestmark = pytest.mark.e2e

CONFIG = "default_profile: kid\nprofiles:\n  kid: {age: 10}\n  mum: {age: 40}\n"


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bypass")
    with run_proxy(tmp, config=CONFIG, classifier=False,
                   lists=build_test_lists(tmp, {"sexual": ["adult.test"],
                                                "allow": ["school.test"]})) as p:
        yield p


@pytest.mark.parametrize("url", [
    "http://translate.google.com/translate?sl=auto&tl=en&u=http://adult.test/videos",
    "http://webcache.googleusercontent.com/search?q=cache:adult.test/videos",
    "http://www-adult-test.translate.goog/videos?_x_tr_sl=auto",
    "http://web.archive.org/web/2024/http://adult.test/",
    "http://archive.ph/newest/http://adult.test/",
    "http://r.jina.ai/http://adult.test/",
    "http://www.google.com/url?q=http%3A%2F%2Fadult.test%2F&sa=D",
])
def test_a_service_carrying_a_blocked_site_gets_its_block_page(proxy, url):
    with proxy.client() as c:
        r = c.get(url)
    assert r.status_code == 403, r.text[:300]
    assert r.headers["x-kidgate-category"] == "sexual"
    assert "adult.test" in r.text  # the block page names the carried site's entry


def test_a_carried_allow_listed_site_does_not_unblock_the_wrapper(proxy):
    with proxy.client() as c:
        r = c.get("http://adult.test/go?next=http://school.test/")
    assert r.status_code == 403 and r.headers["x-kidgate-category"] == "sexual"


@pytest.mark.parametrize("url, headers", [
    ("http://doh.example/dns-query?dns=q80BAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB", {}),
    ("http://doh.example/resolve?name=adult.test&type=A", {}),
    ("http://doh.example/q", {"Accept": "application/dns-message"}),
])
def test_dns_over_https_is_a_bypass_for_a_child(proxy, url, headers):
    with proxy.client() as c:
        r = c.get(url, headers=headers)
    assert r.status_code == 403 and r.headers["x-kidgate-category"] == "bypass", r.text[:300]


def test_a_harmless_carried_site_is_not_blocked(proxy):
    with proxy.client() as c:
        r = c.get("http://translate.google.com/translate?u=http://garden.test/")
    # No route to the real service here: kidgate let it through (502 from the upstream).
    assert r.status_code != 403 and "x-kidgate-category" not in r.headers
