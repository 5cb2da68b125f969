"""The filtering addon: evidence in, verdicts out, block pages for what a profile may not see.

Thin by design: every decision is made by :mod:`policies.core` through :mod:`kidgate.engine`;
this module only reads flows, moves CPU work to worker threads, and writes responses.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mitmproxy import ctx, http, tls

from kidgate import blockpage
from kidgate.decisionlog import record
from policies.categories import ALWAYS_BLOCKED, CATEGORIES
from policies.core import Evidence, Profile, Verdict
from proxy_addons.identify import CLIENT, PROFILE, RuntimeRef, is_local_client
from proxy_addons.runtime import Runtime

log = logging.getLogger("kidgate")

VERDICT = "kidgate.verdict"
EVIDENCE = "kidgate.evidence"
INTERNAL_HOST = "kidgate.internal"
HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


class Filter:
    """Decides on requests (before the upstream is contacted), on response headers and bodies,
    and on TLS ClientHellos of connections that are not intercepted."""

    def __init__(self, runtime_ref: RuntimeRef) -> None:
        self.rt = runtime_ref
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kidgate-classify")
        self.links = None  # callable(verdict, url, profile) -> blockpage.BlockLinks

    # -- options -------------------------------------------------------------------------
    def load(self, loader) -> None:
        loader.add_option("kidgate_config", str, "",
                          "kidgate configuration file (YAML); empty uses the shipped default.")
        loader.add_option("kidgate_data_dir", str, "",
                          "Where kidgate keeps its database and logs.")
        loader.add_option("kidgate_lists", str, "",
                          "Compiled list file; empty uses the configured or shipped lists.")
        loader.add_option("kidgate_classifier", bool, True,
                          "Classify page text and unknown hosts with the shipped models.")
        loader.add_option("kidgate_site_labels", bool, True,
                          "Fetch sites' age-de.xml label files in the background.")
        loader.add_option("kidgate_site_labels_ca", str, "",
                          "CA bundle for verifying label-file fetches (default: the system's).")
        loader.add_option("kidgate_timeout_ms", int, 1500,
                          "Longest wait for the classifier before the fail-safe applies.")

    def configure(self, updated: set[str]) -> None:
        if not updated & {"kidgate_config", "kidgate_data_dir", "kidgate_lists",
                          "kidgate_classifier", "kidgate_site_labels",
                          "kidgate_site_labels_ca"} and self.rt.runtime is not None:
            return
        from policies.config import ConfigError
        path = Path(ctx.options.kidgate_config).expanduser() if ctx.options.kidgate_config else None
        try:
            rt = Runtime.start(
                path,
                data_dir=Path(ctx.options.kidgate_data_dir).expanduser()
                if ctx.options.kidgate_data_dir else None,
                with_classifier=ctx.options.kidgate_classifier,
                site_labels=ctx.options.kidgate_site_labels,
                site_labels_ca=ctx.options.kidgate_site_labels_ca or None,
                lists_path=Path(ctx.options.kidgate_lists).expanduser()
                if ctx.options.kidgate_lists else None)
        except ConfigError as e:
            if self.rt.runtime is None:
                # An error logged during start-up makes mitmdump exit: no filter, no proxy.
                log.error("kidgate: %s", e)
                return
            log.warning("kidgate: keeping the previous configuration: %s", e)
            return
        old, self.rt.runtime = self.rt.runtime, rt
        if old and old.decisions:
            old.decisions.close()
        for name, err in rt.engine.load_errors.items():
            log.warning("kidgate: %s unavailable (%s); child profiles fail safe", name, err)

    async def done(self) -> None:
        rt = self.rt.get()
        if rt and rt.decisions:
            rt.decisions.close()
        if rt and rt.engine.site_labels is not None:
            await rt.engine.site_labels.aclose()
        self.pool.shutdown(wait=False, cancel_futures=True)

    # -- helpers -------------------------------------------------------------------------
    async def _off_loop(self, name: str, fn, timeout_s: float) -> list[Evidence]:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(self.pool, fn), timeout_s)
        except TimeoutError:
            return [Evidence("error", None, f"{name} timed out after {timeout_s * 1000:.0f} ms",
                             kind=name)]

    def _block(self, flow: http.HTTPFlow, rt: Runtime, profile: Profile, verdict: Verdict,
               phase: str) -> None:
        url = flow.request.pretty_url
        links = self.links(verdict, url, profile) if self.links else None
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
        self._log(flow, rt, profile, verdict, phase)

    def _log(self, flow: http.HTTPFlow, rt: Runtime, profile: Profile, verdict: Verdict,
             phase: str) -> None:
        if rt.decisions is None:
            return
        rt.decisions.write(record(client=str(flow.metadata.get(CLIENT, "")), profile=profile.name,
                                  host=flow.request.pretty_host, verdict=verdict, phase=phase,
                                  method=flow.request.method))
        hook = rt.extras.get("on_decision")
        if hook:
            hook(flow, profile, verdict)

    # -- hooks ---------------------------------------------------------------------------
    def client_connected(self, client) -> None:
        """Never an open proxy: refuse clients from the internet unless the config allows."""
        rt = self.rt.get()
        if rt is None or rt.config.allow_public_clients or not client.peername:
            return
        if not is_local_client(client.peername[0]):
            log.warning("kidgate: refused client %s (not a local address)", client.peername[0])
            client.error = "kidgate serves local clients only"

    async def request(self, flow: http.HTTPFlow) -> None:
        rt = self.rt.get()
        if rt is None or flow.response is not None or flow.request.pretty_host == INTERNAL_HOST:
            return
        profile: Profile = flow.metadata.get(PROFILE) or rt.config.profile(None)
        url = flow.request.pretty_url
        evidence = rt.engine.request_evidence(profile, url)
        if not profile.is_child:
            evidence = _adult_safe(evidence)
        verdict = rt.engine.decide(profile, evidence)
        if not verdict.blocked and _may_block(profile):
            labels = rt.engine.site_labels
            if labels is not None and profile.labels.get("age-de") != "ignore" \
                    and _is_page_load(flow.request):
                # Starts a background fetch of the site's label file; waits a few ms at most.
                if found := await labels.evidence(url):
                    evidence += rt.engine.site_label_evidence(profile, [found])
            if rt.engine.classifier is not None:
                evidence += await self._off_loop(
                    "url model", lambda: rt.engine.url_model_evidence(url, evidence),
                    ctx.options.kidgate_timeout_ms / 1000)
            if not profile.is_child:
                evidence = _adult_safe(evidence)
            verdict = rt.engine.decide(profile, evidence)
        flow.metadata[VERDICT] = verdict
        flow.metadata[EVIDENCE] = evidence
        if verdict.blocked:
            self._block(flow, rt, profile, verdict, "request")
        else:
            self._log(flow, rt, profile, verdict, "request")

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        """Large bodies are streamed unread; their headers still carry labels."""
        if flow.response is None:
            return
        size = flow.response.headers.get("content-length", "")
        if size.isdigit() and int(size) > 8 * 1024 * 1024 and not _is_text(flow.response):
            flow.response.stream = True

    async def response(self, flow: http.HTTPFlow) -> None:
        rt = self.rt.get()
        if rt is None or flow.response is None or flow.request.pretty_host == INTERNAL_HOST:
            return
        prior: Verdict | None = flow.metadata.get(VERDICT)
        if prior is None or prior.blocked or flow.response.stream:
            return
        profile: Profile = flow.metadata.get(PROFILE) or rt.config.profile(None)
        if not _may_block(profile) or not _is_text(flow.response):
            return
        if prior.reasons:
            return  # an allowed verdict has reasons only when an allow entry decided it
        url = flow.request.pretty_url
        headers = {k.lower(): v for k, v in flow.response.headers.items()}
        body = flow.response.raw_content or b""
        evidence = await self._off_loop(
            "classifier", lambda: rt.engine.content_evidence(profile, url, headers, body),
            ctx.options.kidgate_timeout_ms / 1000)
        if not profile.is_child:
            evidence = _adult_safe(evidence)
        request_ev = flow.metadata.get(EVIDENCE) or rt.engine.request_evidence(profile, url)
        verdict = rt.engine.decide(profile, request_ev + evidence)
        if verdict.blocked:
            self._block(flow, rt, profile, verdict, "response")
        else:
            flow.metadata[VERDICT] = verdict
            inject = rt.extras.get("inject")
            if inject and profile.report_button and profile.is_child:
                inject(flow, profile)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        """Pass-through hosts (banking, health, pinned apps) are not decrypted unless the
        profile may not see them: then the connection is intercepted to show the block page."""
        rt = self.rt.get()
        sni = (data.client_hello.sni or "").rstrip(".").lower()
        if rt is None or not sni:
            return
        passthrough = any(sni == d or sni.endswith("." + d) for d in rt.config.passthrough)
        if not passthrough:
            return
        peer = data.context.client.peername
        profile, _ = self.rt.who(peer[0] if peer else "")
        evidence = rt.engine.request_evidence(profile, f"https://{sni}/")
        if not profile.is_child:
            evidence = _adult_safe(evidence)
        verdict = rt.engine.decide(profile, evidence)
        data.ignore_connection = not verdict.blocked


def _may_block(profile: Profile) -> bool:
    """Whether any age-rated category could still block this profile (adults skip the
    classifier unless their profile raises an age above their own)."""
    return profile.is_child or any(profile.min_age(c) > profile.age for c in CATEGORIES
                                   if c not in ALWAYS_BLOCKED)


def _adult_safe(evidence: list[Evidence]) -> list[Evidence]:
    """An adult's browsing is never broken by a detector bug: drop error evidence."""
    return [e for e in evidence if e.source != "error"]


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
