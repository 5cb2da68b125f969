"""The block page in a real browser: Debian's Chromium driven by Playwright through the proxy."""

from __future__ import annotations

import shutil
import textwrap

import pytest

from tests.support.proxy import Site, run_proxy

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

CONFIG = textwrap.dedent("""\
    profiles:
      child: {age: 9, deny: [blocked.test]}
    """)


@pytest.fixture(scope="module")
def browser_and_proxy(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright
    site = Site({"/": (200, {"Content-Type": "text/html"},
                       b"<html><head><title>Ok</title></head><body><h1>Fine page</h1></body></html>")}).start()
    tmp = tmp_path_factory.mktemp("browser")
    with run_proxy(tmp, config=CONFIG, routes={"fine.test": site.port, "blocked.test": site.port},
                   classifier=False) as proxy, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            proxy={"server": proxy.url})
        yield browser, proxy, tmp
        browser.close()
    site.stop()


def test_block_page_renders_with_reason_and_no_csp_violations(browser_and_proxy):
    browser, proxy, tmp = browser_and_proxy
    page = browser.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    resp = page.goto("http://blocked.test/")
    assert resp is not None and resp.status == 403
    assert page.title() == "This page is blocked"
    assert page.locator("h1").inner_text() == "This page is blocked"
    page.locator("details summary").click()
    assert "deny list (blocked.test)" in page.locator("ul.reasons").inner_text()
    # The page styles itself without breaking its own Content-Security-Policy.
    bg = page.evaluate("getComputedStyle(document.querySelector('main')).backgroundColor")
    assert bg == "rgb(255, 255, 255)"
    assert not [m for m in console if "Content Security Policy" in m]
    page.screenshot(path=str(tmp / "blockpage.png"), full_page=True)
    page.close()


def test_allowed_page_loads_normally(browser_and_proxy):
    browser, _, _ = browser_and_proxy
    page = browser.new_page()
    page.goto("http://fine.test/")
    assert page.locator("h1").inner_text() == "Fine page"
    page.close()
