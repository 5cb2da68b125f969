"""Which profile applies to a device: the precedence rules, pure (no network, no files).

A device may be in several groups: a proxy-auth user name wins, then a MAC address, then the
most specific IP network; a device nobody listed gets the default profile. The proxy and
``kidgate check --client`` both decide with :func:`resolve`, so they cannot disagree.
"""

from __future__ import annotations

import ipaddress

from policies.categories import ALWAYS_BLOCKED, CATEGORIES
from policies.config import Config
from policies.core import Profile


def client_address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address of a client as the rules compare it (zone and IPv4-mapped form removed)."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        return addr.ipv4_mapped
    return addr


def resolve(config: Config, ip: str, *, user: str | None = None,
            mac: str | None = None) -> tuple[Profile, str]:
    """The profile for a client and a short name for logs."""
    if user:
        for d in config.devices:
            if d.user == user:
                return config.profile(d.profile), f"user:{user}"
    if mac:
        for d in config.devices:
            if d.mac == mac:
                return config.profile(d.profile), d.name or mac
    addr = client_address(ip)
    if addr is None:
        return config.profile(None), ip
    best = None
    for d in config.devices:
        if d.network is not None and addr.version == d.network.version and addr in d.network:
            if best is None or d.network.prefixlen > best.network.prefixlen:
                best = d
    if best is not None:
        return config.profile(best.profile), best.name or ip
    return config.profile(None), ip


def needs_mac(config: Config) -> bool:
    """Whether any device is listed by MAC address (only then is the ARP table read)."""
    return any(d.mac for d in config.devices)


def may_block(profile: Profile) -> bool:
    """Whether any age-rated category could still block this profile: adults skip the
    classifier and page scanning unless their profile raises an age above their own."""
    return profile.is_child or any(profile.min_age(c) > profile.age for c in CATEGORIES
                                   if c not in ALWAYS_BLOCKED)
