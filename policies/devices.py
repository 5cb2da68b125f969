"""Which profile applies to a device: the precedence rules, pure (no network, no files).

A client is recognised by its proxy-auth user name first, then its MAC address, then the most
specific IP address or network; a device nobody listed gets the default profile. A device may
also be in several groups (its class and the whole school), whose rules are merged into its
profile by :func:`with_groups`, the most specific layer deciding. The proxy and
``kidgate check --client`` both decide with :func:`resolve`, so they cannot disagree.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Sequence

from policies.categories import ALWAYS_BLOCKED, CATEGORIES
from policies.config import Config, Device, Group
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


def device_for(config: Config, ip: str, user: str | None = None,
               mac: str | None = None, wireguard: str | None = None) -> Device | None:
    """The device entry that recognises this client: its WireGuard peer (a key of its own),
    then user name, then MAC address, then the most specific address or network."""
    if wireguard:
        for d in config.devices:
            if d.wireguard == wireguard:
                return d
    if user:
        for d in config.devices:
            if d.user == user:
                return d
    if mac:
        for d in config.devices:
            if d.mac == mac:
                return d
    addr = client_address(ip)
    if addr is None:
        return None
    best = None
    for d in config.devices:
        if d.network is not None and addr.version == d.network.version and addr in d.network:
            if best is None or d.network.prefixlen > best.network.prefixlen:
                best = d
    return best


def groups_of(config: Config, ip: str, device: Device | None) -> tuple[str, ...]:
    """The client's groups, most specific first: those its device entry names, in order, then
    those whose networks hold its address, narrowest network first."""
    named = list(device.groups) if device is not None else []
    addr = client_address(ip)
    by_network = []
    if addr is not None:
        for g in config.groups.values():
            fits = [n.prefixlen for n in g.networks if n.version == addr.version and addr in n]
            if fits and g.name not in named:
                by_network.append((-max(fits), g.name))
    return tuple(named + [name for _, name in sorted(by_network)])


def resolve(config: Config, ip: str, *, user: str | None = None,
            mac: str | None = None, wireguard: str | None = None) -> tuple[Profile, str]:
    """The profile for a client, with its groups' rules merged in, and a short name for logs."""
    device = device_for(config, ip, user, mac, wireguard)
    profile = config.profile(device.profile if device is not None else None)
    if device is None:
        name = ip
    elif device.user and device.user == user:
        name = f"user:{user}"
    else:
        name = device.name or mac or ip
    groups = groups_of(config, ip, device) if config.groups else ()
    if groups:
        key = (profile.name, groups)
        merged = config.merged.get(key)
        if merged is None:
            merged = config.merged[key] = with_groups(profile, [config.groups[g] for g in groups])
        profile = merged
    return profile, name


def _covered(domain: str, entries: list[str]) -> bool:
    return any(domain == e or domain.endswith("." + e) for e in entries)


def with_groups(profile: Profile, groups: Sequence[Group]) -> Profile:
    """``profile`` with the rules of ``groups`` (most specific first) merged in.

    The most specific layer decides: the profile's own entry, then each group in order. An
    allow or deny entry is dropped when a more specific layer says the opposite about that
    site; a category takes the age of the most specific layer that names it (the profile's
    own setting first); schedules add up. The floors stay: hotline, malware and, for children,
    bypass are blocked whatever a group says (:meth:`Profile.min_age`).
    """
    allow = list(profile.allow_domains)
    deny = list(profile.deny_domains)
    ages = dict(profile.category_ages)
    decided = set(profile.own_categories)
    schedules = list(profile.schedules)
    for g in groups:
        allow += [d for d in g.allow_domains if not _covered(d, deny) and d not in allow]
        deny += [d for d in g.deny_domains if not _covered(d, allow) and d not in deny]
        for cat, age in g.category_ages.items():
            if cat not in decided:
                ages[cat] = age
                decided.add(cat)
        schedules += g.schedules
    return dataclasses.replace(profile, allow_domains=tuple(allow), deny_domains=tuple(deny),
                               category_ages=ages, schedules=tuple(schedules),
                               own_categories=frozenset(decided),
                               groups=tuple(g.name for g in groups))


def needs_mac(config: Config) -> bool:
    """Whether any device is listed by MAC address (only then is the ARP table read)."""
    return any(d.mac for d in config.devices)


def may_block(profile: Profile) -> bool:
    """Whether any age-rated category could still block this profile: adults skip the
    classifier and page scanning unless their profile raises an age above their own."""
    return profile.is_child or any(profile.min_age(c) > profile.age for c in CATEGORIES
                                   if c not in ALWAYS_BLOCKED)
