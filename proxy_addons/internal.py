"""kidgate's own pages on the reserved host ``kidgate.internal``: hotline report, ask for
access, block-page assets; and what the filter adds to its answers from the reporting package:
signed links on block pages and the optional report button. The runtime owns the reporting
side itself (database, signer, approvals, alerts)."""

from __future__ import annotations

import logging
from typing import Any

from mitmproxy import http
from mitmproxy.addons.asgiapp import WSGIApp

from policies.core import Profile, Verdict
from proxy_addons.filter import INTERNAL_HOST
from proxy_addons.identify import host_of, url_of
from proxy_addons.runtime import KidgateRuntime
from reporting import links, web

log = logging.getLogger("kidgate")

#: kidgate.internal/admin/ is the admin app (when ``kidgate run`` serves one in this process).
ADMIN = "admin"
#: Where browsers look for a proxy auto-config file.
PAC_PATHS = frozenset({"/proxy.pac", "/wpad.dat"})


class Internal:
    """Serves kidgate.internal from the runtime's reporting side, rebuilt whenever the runtime
    or its configuration changes (a reload changes the hotline country and the helpline)."""

    def __init__(self, runtime: KidgateRuntime) -> None:
        self.runtime = runtime
        self._for: tuple[int, int] | None = None
        self.apps: list[WSGIApp] = []
        #: The admin app at kidgate.internal/admin/, when ``kidgate run`` started one.
        self.admin: WSGIApp | None = None

    @property
    def reporting(self) -> Any:
        rt = self.runtime.get()
        return rt.reporting if rt is not None else None

    def _ensure(self) -> None:
        """(Re)build the pages when the runtime or its configuration changed."""
        rt = self.runtime.get()
        if rt is None or rt.reporting is None:
            self.apps = []
            return
        key = (id(rt), rt.generation)
        if self._for == key:
            return
        self._for = key
        app = web.create_app(rt.reporting.store, rt.reporting.signer,
                             {"country": rt.config.hotline_country, "helpline": rt.config.helpline},
                             on_access_request=self.access_requested)
        self.apps = [WSGIApp(app, INTERNAL_HOST, 80), WSGIApp(app, INTERNAL_HOST, 443)]
        try:
            from admin.server import app_for_proxy
            admin = app_for_proxy()
        except ImportError:  # the filter and its pages work without the admin app
            admin = None
        self.admin = WSGIApp(admin, INTERNAL_HOST, None) if admin is not None else None

    def access_requested(self, event: Any) -> None:
        """A child asked for access: the alerter (if any) tells the parent, off this thread."""
        rep = self.reporting
        if rep is not None and rep.alerter is not None:
            rep.alerter.notify_access_request(event)

    def running(self) -> None:
        self._ensure()

    async def request(self, flow: http.HTTPFlow) -> None:
        if host_of(flow) != INTERNAL_HOST:
            return
        if flow.request.path.split("?", 1)[0] in PAC_PATHS:
            flow.response = self.pac(flow)
            return
        self._ensure()
        path = flow.request.path
        if self.admin is not None and (path.split("?", 1)[0] + "/").split("/", 2)[1] == ADMIN:
            await self.admin.request(flow)
            return
        for app in self.apps:
            if app.should_serve(flow):
                await app.request(flow)
                return

    def pac(self, flow: http.HTTPFlow) -> http.Response:
        """The PAC file, pointing at the address this client reached kidgate on."""
        from kidgate.gateway import GatewayError, pac_file
        host, port = flow.client_conn.sockname[:2] if flow.client_conn.sockname else ("", 0)
        proxy = f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
        try:
            body = pac_file([proxy])  # only plain names and *.local go direct
        except GatewayError as e:
            return http.Response.make(500, f"no PAC file: {e}\n", {"content-type": "text/plain"})
        return http.Response.make(200, body, {"content-type": "application/x-ns-proxy-autoconfig",
                                              "cache-control": "max-age=300"})

    def block_links(self, verdict: Verdict, url: str, profile: Profile) -> Any:
        rep = self.reporting
        if rep is None or not profile.is_child and verdict.category not in (
                "csam", "sexual", "violence", "hate"):
            return None
        reason = verdict.reasons[0].detail if verdict.reasons else ""
        return links.block_links(url=url, category=verdict.category, profile_name=profile.name,
                                 reason=reason[:300], min_age=verdict.min_age, signer=rep.signer,
                                 language=profile.language,
                                 helpline=self.runtime.get().config.helpline)

    def inject(self, flow: http.HTTPFlow, profile: Profile) -> None:
        """The optional "report this page" button on HTML pages for child profiles."""
        resp = flow.response
        rep = self.reporting
        if resp is None or rep is None:
            return
        if "text/html" not in resp.headers.get("content-type", ""):
            return
        if flow.request.headers.get("sec-fetch-dest", "document") != "document":
            return  # one button per page, not one per frame
        snippet = links.report_link_snippet(url=url_of(flow), profile_name=profile.name,
                                            signer=rep.signer, language=profile.language)
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
