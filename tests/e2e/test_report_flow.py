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
