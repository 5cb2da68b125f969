"""Report and ask-for-access through kidgate's real addon chain, as a child's browser meets it."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from reporting import access
from reporting.store import Store, default_path
from tests.support.proxy import Site, build_test_lists, run_proxy

pytestmark = pytest.mark.e2e


def _link(page: str, cls: str) -> str:
    m = re.search(rf'<a class="{cls}" href="([^"]+)"', page)
    assert m, f"no {cls} link on the block page"
    return m[1].replace("&amp;", "&")


@pytest.mark.parametrize("country,hotline", [("RO", "esc_ABUZ"), ("GB", "Internet Watch Foundation")])
def test_report_and_ask_for_access(tmp_path, country, hotline):
    site = Site({"/page": (200, {"Content-Type": "text/plain"}, b"the real page")}).start()
    cfg = f"hotline_country: {country}\nprofiles:\n  ana: {{age: 11}}\n"
    lists = build_test_lists(tmp_path, {"sexual": ["adult.test"], "gambling": ["bets.test"]})
    try:
        with run_proxy(tmp_path, config=cfg, routes={"bets.test": site.port}, classifier=False,
                       lists=lists) as p, p.client() as c:
            store = Store(default_path(p.data_dir))
            blocked = c.get("http://adult.test/video?id=7")
            assert blocked.status_code == 403
            report = _link(blocked.text, "report")
            assert report.startswith("http://kidgate.internal/report?t=")

            page = c.get(report)
            assert page.status_code == 200 and hotline in page.text
            assert "http://adult.test/video?id=7" in page.text
            [row] = store.list_reports()
            assert row["url"] == "http://adult.test/video?id=7" and row["category"] == "sexual"
            assert row["profile"] == "ana"
            assert c.get(report).status_code == 403                       # used once
            assert c.get(report[:-6] + "AAAAAA").status_code == 403      # tampered
            assert c.get("http://kidgate.internal/report?t=").status_code == 403  # missing

            # Gambling is not reported to a hotline, but the child may ask for access.
            casino = c.get("http://bets.test/page")
            assert casino.status_code == 403 and 'class="report"' not in casino.text
            form = c.get(_link(casino.text, "ask"))
            token = re.search(r'name="t" value="([^"]+)"', form.text)[1]
            assert c.post("http://kidgate.internal/ask",
                          data={"t": token, "message": "for homework"}).status_code == 200
            [req] = access.list_requests(store)
            assert req.message == "for homework" and req.category == "gambling"

            approve = subprocess.run(
                [sys.executable, "-m", "kidgate.cli", "requests", "approve", str(req.id),
                 "--for", "15m", "--db", str(default_path(p.data_dir))],
                capture_output=True, text=True, timeout=60)
            assert approve.returncode == 0, approve.stderr
            deadline = time.monotonic() + 10
            while c.get("http://bets.test/page").status_code != 200:
                assert time.monotonic() < deadline, "approval did not take effect"
                time.sleep(0.3)
            assert c.get("http://bets.test/page").text == "the real page"
            assert c.get("http://bets.test/other").status_code == 403    # that page only
    finally:
        site.stop()


def test_parent_answers_from_the_alert_with_one_click(tmp_path):
    """A child asks; the running proxy posts the alert to the parent's webhook; the parent
    opens the "always allow the site" link (a confirmation page, nothing changes), confirms,
    and the site opens for the child without a restart."""
    import http.server
    import json
    import threading

    posts: list[dict] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a: object) -> None:
            pass

    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    site = Site({"/page": (200, {"Content-Type": "text/plain"}, b"the real page"),
                 "/other": (200, {"Content-Type": "text/plain"}, b"another page")}).start()
    cfg = ("profiles:\n  ana: {age: 11}\nalerts:\n  rules:\n"
           f"    - {{profiles: [ana], access_requests: true,"
           f" webhook: 'http://127.0.0.1:{hook.server_address[1]}/hook'}}\n")
    lists = build_test_lists(tmp_path, {"gambling": ["bets.test"]})
    try:
        with run_proxy(tmp_path, config=cfg, routes={"bets.test": site.port}, classifier=False,
                       lists=lists) as p, p.client() as c:
            store = Store(default_path(p.data_dir))
            form = c.get(_link(c.get("http://bets.test/page?id=7").text, "ask"))
            token = re.search(r'name="t" value="([^"]+)"', form.text)[1]
            assert c.post("http://kidgate.internal/ask",
                          data={"t": token, "message": "for homework"}).status_code == 200
            deadline = time.monotonic() + 10
            while not posts:
                assert time.monotonic() < deadline, f"no alert was posted:\n{p.log()}"
                time.sleep(0.1)
            [alert] = posts
            assert alert["kind"] == "kidgate.access_request" and alert["profile"] == "ana"
            assert alert["url"] == "http://bets.test/page" and alert["message"] == "for homework"
            link = alert["links"]["approve_always"]

            page = c.get(link)  # what a mail scanner or the parent's first click does
            assert page.status_code == 200 and "always allow the whole site bets.test" in page.text
            assert [r.status for r in access.list_requests(store, status=None)] == ["pending"]
            assert c.get("http://bets.test/page?id=7").status_code == 403

            confirm = re.search(r'name="t" value="([^"]+)"', page.text)[1]
            done = c.post("http://kidgate.internal/decide", data={"t": confirm})
            assert done.status_code == 200 and "Done" in done.text
            [req] = access.list_requests(store, status=None)
            assert (req.status, req.scope, req.expires, req.decided_by) == (
                "approved", "host", None, "link")
            deadline = time.monotonic() + 10
            while c.get("http://bets.test/page?id=7").status_code != 200:
                assert time.monotonic() < deadline, "approval did not take effect"
                time.sleep(0.3)
            assert c.get("http://bets.test/other").text == "another page"  # the whole host
            assert c.post("http://kidgate.internal/decide",
                          data={"t": confirm}).status_code == 403  # used once
    finally:
        site.stop()
        hook.shutdown()
        hook.server_close()
