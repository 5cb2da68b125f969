"""Identify the client behind a flow and the profile that applies to it."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from pathlib import Path

from mitmproxy import connection, http
from mitmproxy.proxy.mode_specs import WireGuardMode

if TYPE_CHECKING:
    from proxy_addons.runtime import KidgateRuntime

PROFILE = "kidgate.profile"
CLIENT = "kidgate.client"
HOST = "kidgate.host"
URL = "kidgate.url"
#: The proxy user the client signed in as (see proxy_addons.signin).
USER = "kidgate.user"


def host_of(flow: http.HTTPFlow) -> str:
    """The host the client asked for, worked out once per flow: mitmproxy's ``pretty_host``
    validates the Host header (IDNA) on every read, ~10 µs, and five hooks ask for it."""
    host = flow.metadata.get(HOST)
    if host is None:
        host = flow.metadata[HOST] = flow.request.pretty_host
    return host


def url_of(flow: http.HTTPFlow) -> str:
    """The URL the client asked for (before any safe-search rewrite), once per flow."""
    url = flow.metadata.get(URL)
    if url is None:
        url = flow.metadata[URL] = flow.request.pretty_url
    return url


def proxy_user(flow: http.HTTPFlow) -> str | None:
    """The user the client signed in as: set by :class:`proxy_addons.signin.SignIn` (checked
    when ``proxy_auth`` is configured), or by mitmproxy's own ``proxyauth`` option."""
    auth = flow.metadata.get("proxyauth")
    if auth:
        return str(auth[0])
    return flow.metadata.get(USER)


def wireguard_peer(client: connection.Client) -> str | None:
    """The WireGuard device a connection came through: kidgate starts one WireGuard server
    per device, keyed by a file named after it (``wireguard/NAME.json``)."""
    mode = getattr(client, "proxy_mode", None)  # absent on a connection made by hand
    if isinstance(mode, WireGuardMode) and mode.data:
        return Path(mode.data).stem
    return None


def is_local_client(ip: str) -> bool:
    """Loopback, private, link-local and shared (CGNAT) addresses: the clients a home or
    school proxy serves. Anything else would make kidgate an open proxy for the internet."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return not addr.is_global and not addr.is_multicast and not addr.is_unspecified


class Identify:
    """Annotates each flow with ``kidgate.profile`` and ``kidgate.client``."""

    def __init__(self, runtime: "KidgateRuntime") -> None:
        self.runtime = runtime

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if self.runtime.refresh() is None:
            return
        ip = flow.client_conn.peername[0] if flow.client_conn.peername else ""
        profile, client = self.runtime.who(ip, user=proxy_user(flow),
                                           wireguard=wireguard_peer(flow.client_conn))
        flow.metadata[PROFILE] = profile
        flow.metadata[CLIENT] = client
        host_of(flow)
        url_of(flow)
