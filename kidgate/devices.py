"""Recognising a device: its address, its MAC address from the kernel's neighbour table, its
proxy user name. Shared by the proxy and ``kidgate check --client``; the precedence rules are
:func:`policies.devices.resolve`."""

from __future__ import annotations

import time
from pathlib import Path

from policies import devices as rules
from policies.config import Config
from policies.core import Profile


class ArpTable:
    """IP → MAC from the kernel's neighbour tables (IPv4 ARP and IPv6 neighbour discovery).
    Only meaningful when kidgate runs on the clients' own LAN segment (the gateway); cached
    because it is read per connection.

    An address missing from the cached copy is looked up afresh (at most once per
    ``miss_ttl`` seconds per address): a device that joined the network since the last read
    is in the kernel's table by the time its first request arrives, and must get its own
    profile then, not the default one until the cache expires.

    IPv4 comes from ``/proc/net/arp``; IPv6 has no such file and is asked of the kernel over
    netlink (pyroute2), only when an IPv6 client is looked up."""

    def __init__(self, path: Path = Path("/proc/net/arp"), ttl: float = 30.0,
                 miss_ttl: float = 1.0) -> None:
        self.path, self.ttl, self.miss_ttl = path, ttl, miss_ttl
        self._tables: dict[int, dict[str, str]] = {4: {}, 6: {}}
        self._missed: dict[str, float] = {}
        self._at = {4: -1e9, 6: -1e9}

    def _read(self, version: int, now: float) -> None:
        self._at[version] = now
        self._tables[version] = _read_arp(self.path) if version == 4 else _read_ipv6()

    def mac(self, ip: str) -> str | None:
        addr = rules.client_address(ip)
        if addr is None:
            return None
        version, key = addr.version, str(addr)
        table = self._tables[version]
        now = time.monotonic()
        if now - self._at[version] > self.ttl:
            self._missed.clear()
            self._read(version, now)
        elif key not in table and now - self._missed.get(key, -1e9) > self.miss_ttl:
            self._read(version, now)
        found = self._tables[version].get(key)
        if found is None:
            self._missed[key] = now
        return found


def _read_arp(path: Path) -> dict[str, str]:
    try:
        lines = path.read_text().splitlines()[1:]
    except OSError:
        return {}
    return {p[0]: p[3].lower() for p in (ln.split() for ln in lines)
            if len(p) >= 4 and p[3] != "00:00:00:00:00:00"}


def _read_ipv6() -> dict[str, str]:
    """IPv6 neighbours with a link-layer address (reachable, stale, permanent...)."""
    import ipaddress
    import socket
    try:
        from pyroute2 import IPRoute
        with IPRoute() as ipr:
            found = ipr.get_neighbours(family=socket.AF_INET6)
    except Exception:  # noqa: BLE001 - no netlink here: nobody is recognised by MAC over IPv6
        return {}
    out = {}
    for n in found:
        dst, mac = n.get_attr("NDA_DST"), n.get_attr("NDA_LLADDR")
        if dst and mac and mac != "00:00:00:00:00:00":
            out[str(ipaddress.ip_address(dst))] = str(mac).lower()
    return out


class DeviceResolver:
    """The profile of a client under one configuration, cached per (address, user): a
    resolution is a walk over every device entry, and the same few clients ask all day.

    With MAC entries the cache holds only as long as the ARP table's copy (a new device on an
    address gets its own profile when the table is read again)."""

    def __init__(self, config: Config, arp: ArpTable | None = None, max_clients: int = 4096) -> None:
        self.config = config
        self.arp = arp or ArpTable()
        self.max_clients = max_clients
        self._needs_mac = rules.needs_mac(config)
        self._cache: dict[tuple[str, str | None, str | None], tuple[Profile, str]] = {}

    def resolve(self, ip: str, user: str | None = None,
                wireguard: str | None = None) -> tuple[Profile, str]:
        """``wireguard``: the WireGuard peer the client came through (its address inside the
        tunnel says nothing: every peer has the same)."""
        if self._needs_mac and wireguard is None:
            return rules.resolve(self.config, ip, user=user, mac=self.arp.mac(ip))
        key = (ip, user, wireguard)
        hit = self._cache.get(key)
        if hit is None:
            hit = rules.resolve(self.config, ip, user=user, wireguard=wireguard)
            if len(self._cache) >= self.max_clients:
                self._cache.clear()
            self._cache[key] = hit
        return hit
