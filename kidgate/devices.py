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
