"""The admin app in a real browser against a real ``kidgate run``: Debian's Chromium driven by
Playwright, real requests through the proxy, sites served on 127.0.0.1."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import time

import pytest

from kidgate import stats
from tests.support.kidgate_run import run_kidgate
from tests.support.proxy import Site, build_test_lists

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PASSWORD = "a long family password"
CONFIG = """\
# Our family
profiles:
  child: {age: 9, deny: [blocked.test]}   # Ana
"""
HOSTILE = "<img src=x onerror=alert(1)>\"'&amp;.test"


def _wait(predicate, timeout: float = 15.0,  # type: ignore[no-untyped-def]
          what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def kg(tmp_path_factory):  # type: ignore[no-untyped-def]
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright
    site = Site({"/": (200, {"Content-Type": "text/html"},
                       b"<html><head><title>Ok</title></head><body><h1>Fine</h1></body></html>")}
                ).start()
    tmp = tmp_path_factory.mktemp("admin-browser")
    lists = build_test_lists(tmp, {"gambling": ["casino.test", "bets.test"]})
    routes = {h: site.port for h in ("fine.test", "blocked.test", "casino.test", "bets.test")}
    with run_kidgate(tmp, CONFIG, routes=routes, lists=lists) as kidgate, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        dialogs: list[str] = []
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
        yield kidgate, browser, page, dialogs, tmp
        context.close()
        browser.close()
    site.stop()


def test_first_start_asks_for_the_setup_code_then_the_owner_signs_in(kg) -> None:
    kidgate, _, page, _, _ = kg
    code = kidgate.setup_code()
    page.goto(kidgate.admin_url + "/")
    assert page.url.endswith("/setup")
    page.fill("#f-code", "WRONG-CODE-1234")
    page.fill("#f-username", "mum")
    page.fill("#f-password", PASSWORD)
    page.fill("#f-confirm", PASSWORD)
    page.click("#setup button[type=submit]")
    assert "not the setup code" in page.locator("#e-code").inner_text()
    page.fill("#f-code", code)
    page.fill("#f-password", PASSWORD)
    page.fill("#f-confirm", PASSWORD)
    page.click("#setup button[type=submit]")
    assert page.locator("h1").inner_text() == "Dashboard"
    # Signing out and in again works with the password just chosen.
    page.click(".signout button")
    assert "/sign-in" in page.url
    page.fill("#f-username", "mum")
    page.fill("#f-password", PASSWORD)
    page.click("#sign-in button[type=submit]")
    assert page.locator("h1").inner_text() == "Dashboard"
    cookie = [c for c in page.context.cookies() if c["name"] == "kidgate_admin"][0]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"


def test_the_dashboard_shows_the_requests_just_made(kg) -> None:
    kidgate, _, page, _, tmp = kg
    with kidgate.client() as c:
        assert c.get("http://fine.test/").status_code == 200
        assert c.get("http://blocked.test/").status_code == 403
        assert c.get("http://casino.test/").status_code == 403
        assert c.get("http://casino.test/again").status_code == 403
    log = kidgate.data_dir / "decisions.jsonl"
    _wait(lambda: log.exists() and len(log.read_text().splitlines()) >= 4, what="the log")
    expected = stats.collect(stats.log_files(kidgate.data_dir))
    page.goto(kidgate.admin_url + "/")
    assert page.locator("#total-requests").inner_text() == str(expected["totals"]["requests"])
    assert page.locator("#total-blocked").inner_text() == "3"
    bar = page.locator('[data-chart="categories"] g[data-label="gambling"]')
    assert bar.get_attribute("data-value") == "2"
    day = page.locator('[data-chart="daily"] g.day').last
    assert day.get_attribute("data-blocked") == "3"
    assert "casino.test" in page.locator("#top-sites").inner_text()
    page.screenshot(path=str(tmp / "dashboard-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.screenshot(path=str(tmp / "dashboard-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the dashboard scrolls sideways on a phone"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_this_was_wrong_lets_the_next_request_through(kg) -> None:
    kidgate, _, page, dialogs, tmp = kg
    page.goto(kidgate.admin_url + "/events?action=block&q=casino")
    rows = page.locator("#events tbody tr")
    assert rows.count() == 2
    assert "list gambling" in rows.first.inner_text() or "gambling" in rows.first.inner_text()
    page.screenshot(path=str(tmp / "events-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp / "events-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})
    rows.first.locator("form.wrong button[value=profile]").click()
    assert dialogs and "casino.test" in dialogs[-1]
    assert "casino.test is now allowed for child" in page.locator("#notice").inner_text()
    text = kidgate.config_path.read_text()
    assert "allow: [casino.test]" in text and "# Ana" in text
    assert kidgate.config_path.with_name("kidgate.yaml.bak").exists()
    with kidgate.client() as c:
        _wait(lambda: c.get("http://casino.test/").status_code == 200, 20,
              "the proxy to apply the allow entry")
    # Ana's deny entry for blocked.test is untouched: it still blocks.
    with kidgate.client() as c:
        assert c.get("http://blocked.test/").status_code == 403


def test_csv_export_holds_the_events(kg) -> None:
    kidgate, _, page, _, _ = kg
    r = page.request.get(kidgate.admin_url + "/events.csv")
    assert r.status == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text())))
    hosts = {row[3] for row in rows[1:]}
    assert {"fine.test", "blocked.test", "casino.test"} <= hosts


def test_hostile_names_in_the_log_are_text_in_the_browser(kg) -> None:
    kidgate, _, page, dialogs, _ = kg
    before = len(dialogs)
    rec = {"ts": time.time(), "client": "<script>alert(2)</script>", "profile": "child",
           "host": HOSTILE, "phase": "request", "action": "block", "category": "gambling",
           "sources": ["list"], "reasons": [f"list gambling ({HOSTILE})"]}
    with (kidgate.data_dir / "decisions.jsonl").open("a") as f:
        f.write(json.dumps(rec) + "\n")
    for url in ("/events?q=onerror", "/"):
        page.goto(kidgate.admin_url + url)
        assert HOSTILE in page.locator("body").inner_text()
        assert page.locator("img[src=x]").count() == 0 and page.locator("main script").count() == 0
    page.wait_for_timeout(300)
    assert len(dialogs) == before, "a script in a host name ran"


def test_approving_a_request_lets_the_page_through(kg) -> None:
    kidgate, _, page, _, tmp = kg
    with kidgate.client() as c:
        blocked = c.get("http://bets.test/")
        assert blocked.status_code == 403
        ask = re.search(r'<a class="ask" href="([^"]+)"', blocked.text)[1].replace("&amp;", "&")
        form = c.get(ask)
        token = re.search(r'name="t" value="([^"]+)"', form.text)[1]
        assert c.post("http://kidgate.internal/ask",
                      data={"t": token, "message": "maths homework"}).status_code == 200
    page.goto(kidgate.admin_url + "/")
    assert "waiting for an answer: 1" in page.locator("#pending-requests").inner_text()
    page.click("#pending-requests a")
    row = page.locator("#pending tr", has_text="maths homework")
    assert "http://bets.test/" in row.inner_text()
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp / "requests-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    row.locator("select[name=duration]").select_option("15m")
    row.locator("button.approve").click()
    assert "approved" in page.locator("#notice").inner_text()
    with kidgate.client() as c:
        _wait(lambda: c.get("http://bets.test/").status_code == 200, 20,
              "the proxy to apply the approval")
        assert c.get("http://bets.test/other").status_code == 403  # that page only
    page.locator("#answered tr", has_text="bets.test").locator("button.revoke").click()
    assert "revoked" in page.locator("#notice").inner_text()
    with kidgate.client() as c:
        _wait(lambda: c.get("http://bets.test/").status_code == 403, 20,
              "the proxy to block the page again")


def test_editing_the_age_changes_the_next_verdict_and_a_bad_edit_changes_nothing(kg) -> None:
    kidgate, _, page, _, _ = kg
    with kidgate.client() as c:
        assert c.get("http://bets.test/").status_code == 403  # gambling: 18 and over
    page.goto(kidgate.admin_url + "/profiles")
    page.locator('#profiles tr[data-profile="child"] a.edit').click()
    before = kidgate.config_path.read_text()
    page.fill("#f-age", "ten")
    page.click("#profile button[type=submit]")
    assert "expected a whole number from 0 to 120, got 'ten'" in \
        page.locator("#e-age").inner_text()
    assert kidgate.config_path.read_text() == before
    page.fill("#f-age", "18")
    page.click("#profile button[type=submit]")
    assert "Profile child saved" in page.locator("#notice").inner_text()
    assert page.locator('#profiles tr[data-profile="child"] td.age').inner_text() == "18"
    with kidgate.client() as c:
        _wait(lambda: c.get("http://bets.test/").status_code == 200, 20,
              "the proxy to apply the new age")
        assert c.get("http://blocked.test/").status_code == 403  # her deny list still holds


def test_dark_mode_follows_the_system_setting(kg) -> None:
    kidgate, browser, page, _, _ = kg
    context = browser.new_context(color_scheme="dark", storage_state=page.context.storage_state())
    dark = context.new_page()
    dark.goto(kidgate.admin_url + "/")
    bg = dark.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(15, 20, 25)"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    context.close()


def test_pausing_a_child_blocks_the_next_request_until_resumed(kg) -> None:
    kidgate, _, page, _, _ = kg
    with kidgate.client() as c:
        assert c.get("http://fine.test/").status_code == 200
    page.goto(kidgate.admin_url + "/profiles")
    page.locator('#profiles tr[data-profile="child"] a.controls').click()
    page.select_option("#f-pause-length", "15m")
    page.click("#pause-form button[type=submit]")
    assert "Saved" in page.locator("#notice").inner_text()
    assert "Paused until" in page.locator("#paused").inner_text()
    assert "pause: {until:" in kidgate.config_path.read_text()
    with kidgate.client() as c:
        blocked = _wait(lambda: (r := c.get("http://fine.test/")).status_code == 403 and r, 20,
                        "the proxy to apply the pause")
        assert "paused by a parent until" in blocked.text
    page.click("#resume button")
    assert page.locator("#paused").count() == 0
    with kidgate.client() as c:
        _wait(lambda: c.get("http://fine.test/").status_code == 200, 20,
              "the proxy to end the pause")


def test_five_failed_sign_ins_lock_the_address_out(kg) -> None:
    kidgate, browser, _, _, _ = kg
    context = browser.new_context()
    page = context.new_page()
    page.goto(kidgate.admin_url + "/")
    assert "/sign-in" in page.url
    for i in range(5):
        page.fill("#f-username", "mum")
        page.fill("#f-password", f"guess {i}")
        page.click("#sign-in button[type=submit]")
    assert "Too many failed sign-ins" in page.locator("#locked").inner_text()
    page.fill("#f-username", "mum")
    page.fill("#f-password", PASSWORD)
    page.click("#sign-in button[type=submit]")
    assert "Too many failed sign-ins" in page.locator("#locked").inner_text()
    page.goto(kidgate.admin_url + "/events")
    assert "/sign-in" in page.url
    context.close()
