"""Ways round the filter that a request gives away by its shape, whatever its host.

DNS over HTTPS (RFC 8484, and the JSON APIs of the big resolvers) lets a device resolve names
that the network's DNS would refuse, and DoH resolvers change faster than lists: a request
is recognised by its path, parameters and media types, not only by its host. Pure: the
request's path and headers in, evidence out.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

from policies.core import Evidence

__all__ = ["DOH_TYPES", "doh_evidence"]

DOH_TYPES = ("application/dns-message", "application/dns-json", "application/dns-udpwireformat")
#: Paths that resolvers serve DoH on (Cloudflare, Google, Quad9, NextDNS, AdGuard, ...).
_DOH_PATHS = ("/dns-query", "/resolve", "/dns-json")


def doh_evidence(path: str, headers: Mapping[str, str] | None = None) -> Evidence | None:
    """``bypass`` evidence when the request is a DNS-over-HTTPS query, else None.

    ``path`` is the request target (path and query); ``headers`` are the request's headers
    with lower-case names.
    """
    headers = headers or {}
    for name in ("content-type", "accept"):
        value = headers.get(name, "").lower()
        for media in DOH_TYPES:
            if media in value:
                return Evidence("list", "bypass", f"DNS over HTTPS request ({name}: {media})",
                                kind="doh")
    base, _, query = path.partition("?")
    base = base.rstrip("/").lower()
    if not any(base.endswith(p) for p in _DOH_PATHS):
        return None
    params = {k.lower() for k, _ in parse_qsl(query, keep_blank_values=True)}
    if base.endswith("/dns-query") and (not query or "dns" in params or "name" in params):
        return Evidence("list", "bypass", f"DNS over HTTPS request (path {base[-10:]})",
                        kind="doh")
    if "name" in params and ("type" in params or base.endswith(("/resolve", "/dns-json"))):
        return Evidence("list", "bypass", "DNS over HTTPS request (JSON API: name=...)",
                        kind="doh")
    return None
