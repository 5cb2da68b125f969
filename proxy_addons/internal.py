"""kidgate's own pages on the reserved host ``kidgate.internal``: hotline report, ask for
access, block-page assets. Also connects the reporting package to the filter: signed links on
block pages, approvals as evidence, the optional report button, safeguarding alerts."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mitmproxy import http
from mitmproxy.addons.asgiapp import WSGIApp

from policies.core import Profile, Verdict
from proxy_addons.filter import INTERNAL_HOST, Filter
from proxy_addons.identify import CLIENT, RuntimeRef
from reporting import access, links, tokens, web
from reporting.store import Pruner, Store, default_path

log = logging.getLogger("kidgate")


class Internal:
    def __init__(self, runtime_ref: RuntimeRef, filt: Filter) -> None:
        self.rt = runtime_ref
        self.filter = filt
        self._for: Any = None
        self.apps: list[WSGIApp] = []
        self.store: Store | None = None
        self.signer: tokens.Signer | None = None
        self.alerter: Any = None
        self.pruner: Pruner | None = None

    def _ensure(self) -> None:
        """(Re)build the reporting side when the runtime (data dir, config) changed."""
        rt = self.rt.get()
        if rt is None or self._for is rt:
            return
        self._for = rt
        data_dir: Path = rt.data_dir
        self.store = Store(default_path(data_dir))
        self.signer = tokens.Signer(tokens.load_or_create_secret(data_dir))
        app = web.create_app(self.store, self.signer, {"country": rt.config.hotline_country,
                                                       "helpline": rt.config.helpline},
                             on_access_request=self.access_requested)
        self.apps = [WSGIApp(app, INTERNAL_HOST, 80), WSGIApp(app, INTERNAL_HOST, 443)]
        rt.engine.approvals = access.ApprovalIndex(self.store)
        self.filter.links = self.block_links
        rt.extras["inject"] = self.inject
        self._start_alerts(rt)
        if self.pruner is not None:
            self.pruner.close(timeout=0)  # signal only: the event loop never waits on it
        # Its own thread: old tokens, alerts, approvals and answered requests go, never on
        # the event loop; the retention is read on each run, so a reloaded config applies.
        self.pruner = Pruner(self.store, lambda: rt.config.log.days)

    def _start_alerts(self, rt: Any) -> None:
        if self.alerter is not None:
            self.alerter.close()
            self.alerter = None
        if not rt.config.alerts:
            return
        try:
            from reporting import alerts
            self.alerter = alerts.Alerter.from_config(rt.config.alerts, store=self.store,
                                                      signer=self.signer)
        except Exception as e:  # noqa: BLE001 - a broken alert setting must not stop filtering
            log.warning("kidgate: alerts disabled: %s", e)
            return
        alerter = self.alerter

        def on_decision(flow: http.HTTPFlow, profile: Profile, verdict: Verdict) -> None:
            if verdict.blocked:
                alerter.notify(alerts.DecisionEvent.from_verdict(
                    verdict, url=flow.request.pretty_url, profile=profile.name,
                    client=str(flow.metadata.get(CLIENT, ""))))
        rt.extras["on_decision"] = on_decision

    def access_requested(self, event: Any) -> None:
        """A child asked for access: the alerter (if any) tells the parent, off this thread."""
        if self.alerter is not None:
            self.alerter.notify_access_request(event)

    def running(self) -> None:
        self._ensure()

    def done(self) -> None:
        if self.alerter is not None:
            self.alerter.close()
        if self.pruner is not None:
            self.pruner.close()

    async def request(self, flow: http.HTTPFlow) -> None:
        self._ensure()
        if flow.request.pretty_host != INTERNAL_HOST:
            return
        for app in self.apps:
            if app.should_serve(flow):
                await app.request(flow)
                return

    def block_links(self, verdict: Verdict, url: str, profile: Profile) -> Any:
        if self.signer is None or not profile.is_child and verdict.category not in (
                "csam", "sexual", "violence", "hate"):
            return None
        reason = verdict.reasons[0].detail if verdict.reasons else ""
        return links.block_links(url=url, category=verdict.category, profile_name=profile.name,
                                 reason=reason[:300], min_age=verdict.min_age, signer=self.signer,
                                 language=profile.language, helpline=self.rt.get().config.helpline)

    def inject(self, flow: http.HTTPFlow, profile: Profile) -> None:
        """The optional "report this page" button on HTML pages for child profiles."""
        resp = flow.response
        if resp is None or self.signer is None:
            return
        if "text/html" not in resp.headers.get("content-type", ""):
            return
        if flow.request.headers.get("sec-fetch-dest", "document") != "document":
            return  # one button per page, not one per frame
        snippet = links.report_link_snippet(url=flow.request.pretty_url, profile_name=profile.name,
                                            signer=self.signer, language=profile.language)
        if not snippet:
            return
        from classifier.extract import decompress
        limit = 5 * 1024 * 1024
        body, truncated = decompress(resp.raw_content or b"",
                                     resp.headers.get("content-encoding"), limit)
        if truncated or not body:
            return
        charset = resp.headers.get("content-type", "").partition("charset=")[2].strip() or None
        resp.set_content(links.inject_report_button(body, charset, snippet))
