"""The filtering addon: evidence in, verdicts out, block pages for what a profile may not see.

Thin by design: every decision is made by :mod:`policies.core` through :mod:`kidgate.engine`;
this module only reads flows, hands CPU work to the runtime's worker processes, and writes
responses.
"""

from __future__ import annotations

import logging
from typing import Protocol

from mitmproxy import http, tls

from kidgate import blockpage
from policies.categories import ALWAYS_BLOCKED
from policies.core import Profile, Verdict
from policies.devices import may_block
from proxy_addons.identify import (CLIENT, PROFILE, host_of, is_local_client, url_of,
                                   wireguard_peer)
from proxy_addons.runtime import KidgateRuntime, Runtime

log = logging.getLogger("kidgate")

VERDICT = "kidgate.verdict"
EVIDENCE = "kidgate.evidence"
INTERNAL_HOST = "kidgate.internal"
HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


class Pages(Protocol):
    """What the internal pages add to the filter's answers (see ``proxy_addons.internal``)."""

    def block_links(self, verdict: Verdict, url: str, profile: Profile) -> object: ...

    def inject(self, flow: http.HTTPFlow, profile: Profile) -> None: ...


class Filter:
    """Decides on requests (before the upstream is contacted), on response headers and bodies,
    and on TLS ClientHellos of connections that are not intercepted."""

    def __init__(self, runtime: KidgateRuntime, pages: Pages | None = None) -> None:
        self.runtime = runtime
        self.pages = pages

    # -- helpers -------------------------------------------------------------------------
    def _block(self, flow: http.HTTPFlow, rt: Runtime, profile: Profile, verdict: Verdict,
               phase: str) -> None:
        url = url_of(flow)
        links = self.pages.block_links(verdict, url, profile) if self.pages else None
        page = blockpage.render(verdict, url=url, profile=profile, links=links,
                                helpline=rt.config.helpline,
                                show_url=verdict.category not in ALWAYS_BLOCKED)
        flow.response = http.Response.make(403, page.encode("utf-8"), {
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-store",
            "Content-Security-Policy": blockpage.CSP,
            "X-Kidgate-Category": verdict.category or "none",
            "X-Kidgate-Reason": ",".join(sorted({r.source for r in verdict.reasons})),
        })
        flow.metadata[VERDICT] = verdict
        self._log(flow, profile, verdict, phase)

    def _log(self, flow: http.HTTPFlow, profile: Profile, verdict: Verdict, phase: str) -> None:
        self.runtime.decided(flow, str(flow.metadata.get(CLIENT, "")), profile, verdict, phase)

    # -- hooks ---------------------------------------------------------------------------
    def client_connected(self, client) -> None:
        """Never an open proxy: refuse clients from the internet unless the config allows."""
        rt = self.runtime.get()
        if rt is None or rt.config.allow_public_clients or not client.peername:
            return
        if not is_local_client(client.peername[0]):
            log.warning("kidgate: refused client %s (not a local address)", client.peername[0])
            client.error = "kidgate serves local clients only"

    async def request(self, flow: http.HTTPFlow) -> None:
        rt = self.runtime.get()
        if rt is None or flow.response is not None or host_of(flow) == INTERNAL_HOST:
            return
        profile: Profile = flow.metadata.get(PROFILE) or rt.config.profile(None)
        url = url_of(flow)
        evidence = rt.engine.request_evidence(profile, url, _doh_headers(flow.request))
        verdict = rt.engine.decide(profile, evidence)
        if not verdict.blocked and may_block(profile):
            added = []
            labels = rt.engine.site_labels
            if labels is not None and profile.labels.get("age-de") != "ignore" \
                    and _is_page_load(flow.request):
                # Starts a background fetch of the site's label file; waits a few ms at most.
                if found := await labels.evidence(url):
                    added += rt.engine.site_label_evidence(profile, [found])
            added += await self.runtime.url_model_evidence(url, evidence + added)
            if added:  # else the verdict is the one just made
                evidence += added
                verdict = rt.engine.decide(profile, evidence)
        flow.metadata[VERDICT] = verdict
        flow.metadata[EVIDENCE] = evidence
        if verdict.blocked:
            self._block(flow, rt, profile, verdict, "request")
        else:
            self._log(flow, profile, verdict, "request")

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        """Large bodies are streamed unread; their headers still carry labels."""
        if flow.response is None:
            return
        size = flow.response.headers.get("content-length", "")
        if size.isdigit() and int(size) > 8 * 1024 * 1024 and not _is_text(flow.response):
            flow.response.stream = True

    async def response(self, flow: http.HTTPFlow) -> None:
        rt = self.runtime.get()
        if rt is None or flow.response is None or host_of(flow) == INTERNAL_HOST:
            return
        prior: Verdict | None = flow.metadata.get(VERDICT)
        if prior is None or prior.blocked or flow.response.stream:
            return
        profile: Profile = flow.metadata.get(PROFILE) or rt.config.profile(None)
        # No detector can change the verdict: adults, allow entries, bodies that are not pages.
        if not may_block(profile) or prior.reasons or not _is_text(flow.response):
            return
        url = url_of(flow)
        headers = {k.lower(): v for k, v in flow.response.headers.items()}
        etag = headers.get("etag") if flow.response.status_code == 200 else None
        found = await self.runtime.page_findings(url, headers, flow.response.raw_content or b"",
                                                 etag)
        evidence = rt.engine.page_evidence(profile, found)
        request_ev = flow.metadata.get(EVIDENCE)
        if request_ev is None:  # (an empty list is evidence too: nothing known before)
            request_ev = rt.engine.request_evidence(profile, url)
        verdict = rt.engine.decide(profile, request_ev + evidence)
        if verdict.blocked:
            self._block(flow, rt, profile, verdict, "response")
        else:
            flow.metadata[VERDICT] = verdict
            if self.pages and profile.report_button and profile.is_child:
                self.pages.inject(flow, profile)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        """Pass-through hosts (banking, health, pinned apps) are not decrypted unless the
        profile may not see them: then the connection is intercepted to show the block page."""
        rt = self.runtime.get()
        sni = (data.client_hello.sni or "").rstrip(".").lower()
        if rt is None or not sni:
            return
        passthrough = any(sni == d or sni.endswith("." + d) for d in rt.config.passthrough)
        if not passthrough:
            return
        peer = data.context.client.peername
        profile, _ = self.runtime.who(peer[0] if peer else "",
                                      wireguard=wireguard_peer(data.context.client))
        evidence = rt.engine.request_evidence(profile, f"https://{sni}/")
        verdict = rt.engine.decide(profile, evidence)
        data.ignore_connection = not verdict.blocked


def _is_page_load(request: http.Request) -> bool:
    """Site label files are fetched for pages people open, not for every image or script."""
    dest = request.headers.get("sec-fetch-dest")
    if dest is not None:
        return dest in ("document", "iframe", "frame")
    # Older browsers and other clients: anything that would take an HTML page.
    accept = request.headers.get("accept", "*/*")
    return request.method == "GET" and ("text/html" in accept or "*/*" in accept)


def _is_text(response: http.Response) -> bool:
    ctype = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return ctype in HTML_TYPES


def _doh_headers(request: http.Request) -> dict[str, str]:
    """The request headers that can mark DNS over HTTPS (content type and accept)."""
    return {name: request.headers.get(name, "") for name in ("content-type", "accept")}
