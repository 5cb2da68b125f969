"""Safe search, YouTube restricted mode and school account headers, per profile.

Intercepted requests are rewritten (:func:`policies.safesearch.rewrite`,
:func:`policies.school.school_headers`). Connections kidgate does not decrypt are sent to the
engine's safe address in ``server_connect``: only the TCP destination changes, the TLS
ClientHello (and so the SNI and the certificate the browser checks) stays the original host's,
which is how the engines' own DNS-based safe addresses work.

The profile comes from ``flow.metadata["kidgate.profile"]`` (set by kidgate's identify addon,
which runs first). A connection has no flow, so ``server_connect`` asks ``resolve_profile``
when given, else uses the profile last seen on a request from the same client address.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import OrderedDict
from collections.abc import Callable

from mitmproxy import connection, ctx, http
from mitmproxy.proxy import server_hooks

from policies import safesearch, school
from policies.core import Profile

log = logging.getLogger("kidgate")

PROFILE = "kidgate.profile"
HOST = "kidgate.host"
APPLIED = "kidgate.safesearch"

ProfileResolver = Callable[[connection.Client], Profile | None]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class SafeSearch:
    """Applies the profile's safe search, YouTube and school settings to each request."""

    def __init__(self, resolve_profile: ProfileResolver | None = None, max_clients: int = 4096) -> None:
        self.resolve_profile = resolve_profile
        self.max_clients = max_clients
        self._recent: OrderedDict[str, Profile] = OrderedDict()

    def load(self, loader) -> None:
        loader.add_option("kidgate_safesearch", bool, True,
                          "Rewrite search, YouTube and school-login requests to their safe modes.")
        loader.add_option("kidgate_safe_address", bool, True,
                          "Connect to the engines' safe addresses (forcesafesearch.google.com, "
                          "restrict.youtube.com, ...) for connections kidgate does not decrypt.")

    def _remember(self, client: connection.Client, profile: Profile) -> None:
        if not client.peername:
            return
        ip = client.peername[0]
        self._recent[ip] = profile
        self._recent.move_to_end(ip)
        while len(self._recent) > self.max_clients:
            self._recent.popitem(last=False)

    def _profile_for(self, client: connection.Client) -> Profile | None:
        if self.resolve_profile is not None:
            try:
                return self.resolve_profile(client)
            except Exception as e:  # a resolver bug must not kill the connection
                log.warning("kidgate: safe-address profile lookup failed: %r", e)
                return None
        return self._recent.get(client.peername[0]) if client.peername else None

    def request(self, flow: http.HTTPFlow) -> None:
        profile = flow.metadata.get(PROFILE)
        if not isinstance(profile, Profile) or flow.response is not None:
            return
        self._remember(flow.client_conn, profile)
        if not ctx.options.kidgate_safesearch:
            return
        req = flow.request
        host = flow.metadata.get(HOST) or req.pretty_host  # worked out once by identify
        notes: list[str] = []
        # Most requests are for no search engine: skip reading their headers and cookies.
        if safesearch.engine_for(host) is not None:
            notes += self._rewrite(req, host, profile)
        for name, value in school.school_headers(host, profile.school):
            req.headers[name] = value
            notes.append(f"{name}: {value}")
        if notes:
            flow.metadata[APPLIED] = tuple(notes)

    @staticmethod
    def _rewrite(req: http.Request, host: str, profile: Profile) -> tuple[str, ...]:
        rw = safesearch.rewrite(req.method, req.scheme, host, req.path,
                                req.headers.items(multi=True), req.cookies.items(multi=True),
                                profile.safe_search, profile.youtube)
        if rw.path is not None:
            req.path = rw.path
        for name in rw.remove_headers:
            req.headers.pop(name, None)
        for name, value in rw.set_headers:
            req.headers[name] = value
        for name, value in rw.cookies.items():
            if value is None:
                req.cookies.pop(name, None)
            else:
                req.cookies[name] = value
        return tuple(rw.notes)

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        """Send a connection for a search engine to its safe address, keeping the host name."""
        if not ctx.options.kidgate_safe_address or data.server.address is None:
            return
        host, port = data.server.address[0], data.server.address[1]
        # Transparent mode dials an IP: the name is the SNI (lazy connection strategy only).
        name = host if not _is_ip(host) else (data.server.sni or data.client.sni or "")
        if not name:
            return  # eager transparent connection before the ClientHello: no name to map
        profile = self._profile_for(data.client)
        if profile is None:
            return
        target = safesearch.safe_address(name, profile.safe_search, profile.youtube)
        if target is None or target == host:
            return
        if data.server.sni is None and port == 443:
            data.server.sni = name  # TLS to the safe address still names the original host
        data.server.address = (target, port)
        log.debug("kidgate: %s connects to %s (%s)", name, target, profile.name)
