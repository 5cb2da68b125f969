"""School account restrictions: tenant headers that keep logins on the school's accounts.

Pure: from a host and the profile's ``school`` settings to the headers to set. Each header goes
only to the hosts that read it, so no other site learns the school's domains or tenant IDs.

Settings (all optional)::

    school:
      google_allowed_domains: [school.example]      # X-GoogApps-Allowed-Domains
      microsoft_tenants: [school.onmicrosoft.com]   # Restrict-Access-To-Tenants
      microsoft_context: <directory (tenant) ID>    # Restrict-Access-Context
      block_consumer_microsoft: true                # sec-Restrict-Tenant-Access-Policy
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

MICROSOFT_LOGIN_HOSTS: Final[frozenset[str]] = frozenset({
    "login.microsoftonline.com", "login.microsoft.com", "login.windows.net"})
MICROSOFT_CONSUMER_LOGIN_HOSTS: Final[frozenset[str]] = frozenset({"login.live.com"})
_GOOGLE_RE = re.compile(r"^(?:[a-z0-9-]+\.)*google\.com$|^(?:www\.)?google\.(?:com?\.)?[a-z]{2,3}$"
                        r"|^(?:[a-z0-9-]+\.)*googleusercontent\.com$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")
_CONTEXT_RE = re.compile(r"^[0-9a-fA-F-]{36}$|^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")

SCHOOL_HEADERS: Final[tuple[str, ...]] = (
    "X-GoogApps-Allowed-Domains", "Restrict-Access-To-Tenants", "Restrict-Access-Context",
    "sec-Restrict-Tenant-Access-Policy")


def is_google_host(host: str) -> bool:
    return bool(_GOOGLE_RE.match(host.lower().rstrip(".")))


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return []
    return [str(v).strip() for v in value if str(v).strip()]


def validate(school: Mapping[str, object]) -> list[str]:
    """Problems in a ``school`` mapping, as messages for the configuration check."""
    errors: list[str] = []
    known = {"google_allowed_domains", "microsoft_tenants", "microsoft_context",
             "block_consumer_microsoft"}
    for key in school:
        if key not in known:
            errors.append(f"school: unknown setting {key!r} (known: {', '.join(sorted(known))})")
    for key in ("google_allowed_domains", "microsoft_tenants"):
        if key in school and not isinstance(school[key], (list, tuple, str)):
            errors.append(f"school.{key}: expected a list of domain names")
        for name in _names(school.get(key)):
            if not _NAME_RE.match(name):
                errors.append(f"school.{key}: {name!r} is not a domain name or tenant ID")
    ctx = school.get("microsoft_context")
    if ctx is not None and not (isinstance(ctx, str) and _CONTEXT_RE.match(ctx)):
        errors.append("school.microsoft_context: expected the directory (tenant) ID")
    if _names(school.get("microsoft_tenants")) and not ctx:
        errors.append("school.microsoft_context: required with microsoft_tenants "
                      "(the school's directory ID)")
    if "block_consumer_microsoft" in school and not isinstance(school["block_consumer_microsoft"], bool):
        errors.append("school.block_consumer_microsoft: expected true or false")
    return errors


def school_headers(host: str, school: Mapping[str, object]) -> list[tuple[str, str]]:
    """Headers to set (replacing any the client sent) on a request to ``host``."""
    if not school:
        return []
    h = host.lower().rstrip(".")
    out: list[tuple[str, str]] = []
    if is_google_host(h):
        domains = _names(school.get("google_allowed_domains"))
        if domains:
            out.append(("X-GoogApps-Allowed-Domains", ",".join(domains)))
    elif h in MICROSOFT_LOGIN_HOSTS:
        tenants = _names(school.get("microsoft_tenants"))
        if tenants:
            out.append(("Restrict-Access-To-Tenants", ",".join(tenants)))
            ctx = school.get("microsoft_context")
            if isinstance(ctx, str) and ctx.strip():
                out.append(("Restrict-Access-Context", ctx.strip()))
    elif h in MICROSOFT_CONSUMER_LOGIN_HOSTS:
        if school.get("block_consumer_microsoft") is True:
            out.append(("sec-Restrict-Tenant-Access-Policy", "restrict-msa"))
    return out
