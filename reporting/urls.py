"""What kidgate accepts as a reportable or approvable address.

Only absolute http(s) URLs without whitespace or control characters: a ``javascript:`` or
``data:`` URL is never a page to report, and is never rendered as a link.
"""

from __future__ import annotations

import urllib.parse

from pages import N_

MAX_URL_LENGTH = 4096

_DEFAULT_PORTS = {"http": 80, "https": 443}


class BadURL(ValueError):
    """Why an address is refused: ``str()`` is the English sentence (logs, the CLI); ``text``
    and ``values`` let a page show it in its reader's language."""

    def __init__(self, text: str, /, **values: object) -> None:
        super().__init__(text.format(**values))
        self.text = text
        self.values = values


def check_url(url: object) -> str:
    """Return ``url`` unchanged when acceptable, else raise :class:`BadURL` saying why."""
    if not isinstance(url, str) or not url:
        raise BadURL(N_("URL is missing"))
    if len(url) > MAX_URL_LENGTH:
        raise BadURL(N_("URL is longer than {n} characters"), n=MAX_URL_LENGTH)
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise BadURL(N_("URL contains whitespace or control characters"))
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise BadURL(N_("only http and https URLs are accepted"))
    if not parts.hostname:
        raise BadURL(N_("URL has no host"))
    return url


def host_of(url: str) -> str:
    return (urllib.parse.urlsplit(url).hostname or "").rstrip(".").lower()


def normalize_url(url: str) -> str:
    """Canonical form used to match approvals: lower-case scheme and host, no default port,
    no fragment, empty path as ``/``; path and query kept as sent."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    host = host_of(url)
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return urllib.parse.urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def without_query(url: str) -> str:
    """The address without query and fragment: the site and page, not search words or
    personal data that a query may carry (what messages to parents show)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def without_content(reason: str) -> str:
    """A decision reason without the classifier's ``features:`` list (words taken from the
    page): reports and alerts carry the reason, never page content."""
    head, sep, _ = reason.partition("; features:")
    return head.strip()[:300] if sep else reason[:300]
