"""Blocked services: named groups of hosts (TikTok, Roblox, ...) a parent switches off.

The catalogue ships with kidgate as ``services.yaml`` and is read once; a profile's
``services: {block: [...]}`` picks from it. Which host belongs to which service is decided here
(pure: a host in, evidence out), and whether the block applies now by :func:`policies.core.decide`,
which knows the time and the schedules.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from policies.config import ConfigError, YamlDocument, _DOMAIN_RE
from policies.core import SERVICE_KIND, Evidence, Profile, Service

CATALOGUE_PATH = Path(__file__).with_name("services.yaml")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def load_catalogue(path: Path = CATALOGUE_PATH) -> dict[str, Service]:
    """Read and check a catalogue; a mistake is a :class:`ConfigError` naming file and line."""
    doc = YamlDocument.read(path)
    if not isinstance(doc.data, dict) or not doc.data:
        raise doc.error("", "expected a mapping of service names to {name, domains}")
    out: dict[str, Service] = {}
    owner: dict[str, str] = {}
    for sid, entry in doc.data.items():
        if not _ID_RE.match(sid):
            raise doc.error(sid, "service names use lower-case letters, digits, '_' and '-'")
        if not isinstance(entry, dict) or set(entry) != {"name", "domains"}:
            raise doc.error(sid, "expected {name: ..., domains: [...]}")
        if not isinstance(entry["name"], str) or not entry["name"].strip():
            raise doc.error(f"{sid}.name", "expected the name shown to people")
        domains = entry["domains"]
        if not isinstance(domains, list) or not domains:
            raise doc.error(f"{sid}.domains", "expected a list of domain names")
        for i, d in enumerate(domains):
            if not isinstance(d, str) or not _DOMAIN_RE.match(d) or d != d.lower():
                raise doc.error(f"{sid}.domains[{i}]", f"not a domain name: {d!r}")
            if d in owner:
                raise doc.error(f"{sid}.domains[{i}]", f"{d} is already listed for {owner[d]}")
            owner[d] = sid
        out[sid] = Service(sid, entry["name"].strip(), tuple(domains))
    return out


@functools.cache
def catalogue() -> dict[str, Service]:
    """The shipped catalogue, read once per process."""
    return load_catalogue(CATALOGUE_PATH)


def service_evidence(profile: Profile, host: str) -> list[Evidence]:
    """Evidence that ``host`` belongs to a service switched off for ``profile`` (whether the
    block applies at this moment is for :func:`policies.core.decide` to say)."""
    if not profile.services.services or not host:
        return []
    found = profile.services.lookup(host)
    if found is None:
        return []
    service, domain = found
    return [Evidence("policy", None, f"{service.name} is switched off for {profile.name} "
                     f"({domain})", kind=SERVICE_KIND + service.id)]


__all__ = ["CATALOGUE_PATH", "ConfigError", "catalogue", "load_catalogue", "service_evidence"]
