"""The classifier through the running proxy: page text blocks at the response, real pages pass."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.proxy import Site, build_test_lists, run_proxy

pytestmark = pytest.mark.e2e

PAGES = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "pages" / "readability"

CASINO = (b"<html><head><title>Lucky Spin Online Casino</title></head><body><h1>Play roulette and "
          b"slots for real money</h1><p>Claim your casino bonus, place your bets on live blackjack "
          b"and poker, win the jackpot. Deposit now for free spins and betting odds.</p></body></html>")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    real = sorted(PAGES.glob("*.html"))[:6] if PAGES.is_dir() else []
    pages = {"/casino": (200, {"Content-Type": "text/html; charset=utf-8"}, CASINO)}
    for i, p in enumerate(real):
        pages[f"/real{i}"] = (200, {"Content-Type": "text/html; charset=utf-8"}, p.read_bytes())
    site = Site(pages).start()
    tmp = tmp_path_factory.mktemp("clf")
    cfg = textwrap.dedent("""\
        profiles:
          child: {age: 10}
          grown: {age: 30}
        devices: [{user: grown, profile: grown}]
        """)
    with run_proxy(tmp, config=cfg, routes={"fun.test": site.port},
                   lists=build_test_lists(tmp, {"sexual": ["adult.test"]})) as p:
        yield p, len(real)
    site.stop()


def test_page_text_blocks_for_a_child_with_explanation(proxy):
    p, _ = proxy
    with p.client() as c:
        r = c.get("http://fun.test/casino")
    assert r.status_code == 403
    assert r.headers["x-kidgate-category"] == "gambling"
    assert r.headers["x-kidgate-reason"] == "classifier"
    assert "weighted terms" in r.text or "page text model" in r.text
    assert "casino" in r.text.lower()


def test_adult_gets_the_same_page(proxy):
    p, _ = proxy
    with p.client(headers={"Proxy-Authorization": "Basic Z3Jvd246eA=="}) as c:
        r = c.get("http://fun.test/casino")
    assert r.status_code == 200 and r.content == CASINO


def test_real_pages_pass_unchanged(proxy):
    p, n = proxy
    if n == 0:
        pytest.skip("the shared real pages are not beside the repository")
    with p.client() as c:
        for i in range(n):
            r = c.get(f"http://fun.test/real{i}")
            assert r.status_code == 200, (i, r.headers.get("x-kidgate-category"), r.text[:500])
