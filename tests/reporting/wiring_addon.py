"""Test-only mitmproxy script: the minimal wiring the proxy does for reporting.

Hosts the internal app on kidgate.internal, blocks ``blocked.example`` with a block page
carrying the report and ask links, lets it through while an approval is active, and routes
allowed requests to a local upstream. Configured by environment variables from the test.
"""

from __future__ import annotations

import html
import os

from mitmproxy import http
from mitmproxy.addons import asgiapp

from reporting import INTERNAL_HOST
from reporting.access import ApprovalIndex
from reporting.links import block_links
from reporting.store import Store
from reporting.tokens import Signer, load_or_create_secret
from reporting.web import create_app

STORE = Store(os.environ["KG_DB"])
SIGNER = Signer(load_or_create_secret(os.environ["KG_DATA"]))
INDEX = ApprovalIndex(STORE, check_interval=0.2)
UPSTREAM = int(os.environ["KG_UPSTREAM"])


class Gate:
    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or flow.request.pretty_host == INTERNAL_HOST:
            return
        url = flow.request.pretty_url
        if flow.request.pretty_host == "blocked.example" and not INDEX.is_approved("ana", url):
            links = block_links(url=url, category="sexual", profile_name="ana",
                                reason="list test", signer=SIGNER, language="ro")
            body = (f'<!doctype html><link rel="stylesheet" href="{links.stylesheet_url}">'
                    f'<a id="report" href="{html.escape(links.report_url or "")}">report</a>'
                    f'<a id="ask" href="{html.escape(links.ask_url or "")}">ask</a>')
            flow.response = http.Response.make(403, body, {"Content-Type": "text/html"})
            return
        flow.request.host, flow.request.port = "127.0.0.1", UPSTREAM
        flow.request.host_header = "blocked.example"


addons = [asgiapp.WSGIApp(create_app(STORE, SIGNER, {"country": os.environ["KG_COUNTRY"]}),
                          INTERNAL_HOST, 80), Gate()]
