"""Identify the client behind a flow and the profile that applies to it."""

from __future__ import annotations

import base64
import ipaddress
import time
from pathlib import Path

from mitmproxy import http

from policies.config import Config
from policies.core import Profile

PROFILE = "kidgate.profile"
CLIENT = "kidgate.client"


class ArpTable:
    """IPv4 → MAC from the kernel's neighbour table. Only meaningful when kidgate runs on the
    clients' own LAN segment (the gateway); cached because it is read per connection.

    An address missing from the cached copy is looked up afresh (at most once per
    ``miss_ttl`` seconds per address): a device that joined the network since the last read
    is in the kernel's table by the time its first request arrives, and must get its own
    profile then, not the default one until the cache expires."""

    def __init__(self, path: Path = Path("/proc/net/arp"), ttl: float = 30.0,
                 miss_ttl: float = 1.0) -> None:
        self.path, self.ttl, self.miss_ttl = path, ttl, miss_ttl
        self._table: dict[str, str] = {}
        self._missed: dict[str, float] = {}
        self._at = -1e9

    def _read(self, now: float) -> None:
        self._at = now
        try:
            lines = self.path.read_text().splitlines()[1:]
        except OSError:
            lines = []
        self._table = {p[0]: p[3].lower() for p in (ln.split() for ln in lines)
                       if len(p) >= 4 and p[3] != "00:00:00:00:00:00"}

    def mac(self, ip: str) -> str | None:
        now = time.monotonic()
        if now - self._at > self.ttl:
            self._missed.clear()
            self._read(now)
        elif ip not in self._table and now - self._missed.get(ip, -1e9) > self.miss_ttl:
            self._read(now)
        found = self._table.get(ip)
        if found is None:
            self._missed[ip] = now
        return found


def proxy_user(flow: http.HTTPFlow) -> str | None:
    """The proxy-auth user: from mitmproxy's proxyauth addon when it checked the password,
    else from the Proxy-Authorization header (identification only, not authentication)."""
    auth = flow.metadata.get("proxyauth")
    if auth:
        return str(auth[0])
    header = flow.request.headers.get("Proxy-Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user = base64.b64decode(value.strip(), validate=True).decode("utf-8").split(":", 1)[0]
    except (ValueError, UnicodeDecodeError):
        return None
    return user or None


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


def resolve(config: Config, ip: str, *, user: str | None = None,
            mac: str | None = None) -> tuple[Profile, str]:
    """The profile for a client and a short name for logs. A device may be in several groups:
    a proxy-auth user wins, then a MAC address, then the most specific IP network."""
    if user:
        for d in config.devices:
            if d.user == user:
                return config.profile(d.profile), f"user:{user}"
    if mac:
        for d in config.devices:
            if d.mac == mac:
                return config.profile(d.profile), d.name or mac
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
            addr = addr.ipv4_mapped
    except ValueError:
        return config.profile(None), ip
    best = None
    for d in config.devices:
        if d.network is not None and addr.version == d.network.version and addr in d.network:
            if best is None or d.network.prefixlen > best.network.prefixlen:
                best = d
    if best is not None:
        return config.profile(best.profile), best.name or ip
    return config.profile(None), ip


class Identify:
    """Annotates each flow with ``kidgate.profile`` and ``kidgate.client``."""

    def __init__(self, runtime_ref: "RuntimeRef") -> None:
        self.rt = runtime_ref

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        rt = self.rt.get()
        if rt is None:
            return
        rt.maybe_reload()
        ip = flow.client_conn.peername[0] if flow.client_conn.peername else ""
        profile, client = self.rt.who(ip, user=proxy_user(flow))
        flow.metadata[PROFILE] = profile
        flow.metadata[CLIENT] = client


class RuntimeRef:
    """A late-bound handle on the runtime, created when options are configured."""

    def __init__(self) -> None:
        self.runtime = None
        self.arp = ArpTable()

    def get(self):  # -> Runtime | None
        return self.runtime

    def who(self, ip: str, user: str | None = None) -> tuple[Profile, str]:
        """The profile for a client address (and proxy-auth user), MAC address included: the
        same answer for requests and for connections that carry no request (pass-through TLS,
        safe addresses). Needs a runtime."""
        config = self.runtime.config
        needs_mac = any(d.mac for d in config.devices)
        return resolve(config, ip, user=user, mac=self.arp.mac(ip) if needs_mac else None)
