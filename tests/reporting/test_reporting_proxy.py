"""End to end through a real mitmdump: block page links, report, refusal, ask, approval,
expiry. The wiring is the small test addon ``wiring_addon.py``."""

from __future__ import annotations

import html
import http.server
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from reporting import access
from reporting.store import Store
from tests.reporting.conftest import free_port
from tests.support.process import port_open, stop, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


class _Upstream(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = b"<html><body>the real page</body></html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a: object) -> None:
        pass


@pytest.fixture
def proxy(tmp_path):
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KG_DB": str(tmp_path / "kidgate.db"),
           "KG_DATA": str(tmp_path), "KG_UPSTREAM": str(upstream.server_address[1]),
           "KG_COUNTRY": "RO"}
    log = (tmp_path / "proxy.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from mitmproxy.tools.main import mitmdump; mitmdump()",
         "-s", str(Path(__file__).with_name("wiring_addon.py")), "--listen-host", "127.0.0.1",
         "--listen-port", str(port), "--set", f"confdir={tmp_path / 'mitm'}",
         "--set", "flow_detail=0"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(proc, lambda: port_open(port), what="proxy", timeout=60,
                         output=(tmp_path / "proxy.log").read_text)
        with httpx.Client(proxy=f"http://127.0.0.1:{port}", timeout=15) as client:
            yield client, Store(tmp_path / "kidgate.db")
    finally:
        stop(proc)
        log.close()
        upstream.shutdown()


def _link(page: str, name: str) -> str:
    return html.unescape(re.search(rf'id="{name}" href="([^"]+)"', page)[1])  # type: ignore[index]


def test_report_ask_approve_expire_through_the_proxy(proxy):
    client, store = proxy
    blocked = client.get("http://blocked.example/page?x=1")
    assert blocked.status_code == 403
    report = _link(blocked.text, "report")
    assert report.startswith("http://kidgate.internal/report?t=")

    css = client.get("http://kidgate.internal/static/kidgate.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]

    page = client.get(report)
    assert page.status_code == 200 and "esc_ABUZ" in page.text
    assert 'value="http://blocked.example/page?x=1"' in page.text
    assert "Content-Security-Policy" in page.headers
    assert [r["url"] for r in store.list_reports()] == ["http://blocked.example/page?x=1"]
    assert client.get(report).status_code == 403  # replayed
    assert client.get(report[:-4] + "AAAA").status_code == 403  # tampered

    ask = _link(client.get("http://blocked.example/page?x=1").text, "ask")
    form = client.get(ask)
    token = re.search(r'name="t" value="([^"]+)"', form.text)[1]  # type: ignore[index]
    sent = client.post("http://kidgate.internal/ask", data={"t": token, "message": "teme"})
    assert sent.status_code == 200
    [req] = access.list_requests(store)
    assert req.message == "teme" and req.profile == "ana"

    # Approved for 15 minutes that started 15 minutes minus 2 seconds ago.
    access.approve(store, req.id, "15m", "mum", now=time.time() - 15 * 60 + 2)
    time.sleep(0.3)
    allowed = client.get("http://blocked.example/page?x=1")
    assert allowed.status_code == 200 and "the real page" in allowed.text
    assert client.get("http://blocked.example/other").status_code == 403  # URL scope
    time.sleep(2.2)
    assert client.get("http://blocked.example/page?x=1").status_code == 403  # expired
