"""Addresses carried inside another address: "proxy through a service" bypasses.

A translation proxy (``translate.google.com/translate?u=<site>``, ``<site>.translate.goog``),
a web cache (``webcache.googleusercontent.com/search?q=cache:<site>``), an archive
(``web.archive.org/web/2020/<site>``, ``archive.ph/newest/<site>``), a reader or paywall
remover (``r.jina.ai/<site>``, ``12ft.io/<site>``) or a redirector (``google.com/url?q=<site>``)
shows a site under its own name; lists that know the site by name do not see it. Each carried
address is judged as if it were requested itself: the service must not become a way round.

Pure: string work only, bounded (at most :data:`MAX_CARRIED` addresses, :data:`MAX_DEPTH`
services inside each other).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote

__all__ = ["carried_urls", "MAX_CARRIED", "MAX_DEPTH"]

MAX_CARRIED = 8
MAX_DEPTH = 3
_MAX_LENGTH = 8192

#: An absolute web address somewhere in a path or a parameter value (also percent-encoded).
_ABSOLUTE_RE = re.compile(r"(?i)(?:https?:/{1,3}|https?%3a%2f%2f)[^\s]+")
#: ``cache:`` queries of web caches: ``cache:example.com/page``, ``cache:https://...``.
_CACHE_RE = re.compile(r"(?i)^cache:(?:[A-Za-z0-9_-]+:)?(\S+)")
#: Hosts that show another site under their own name, and how the site is written in them.
_TRANSLATE_GOOG = ".translate.goog"
#: Path services whose path is the carried address even without a scheme:
#: ``archive.ph/example.com``, ``12ft.io/example.com/page``.
_PATH_SERVICES = ("archive.ph", "archive.today", "archive.is", "archive.li", "archive.md",
                  "archive.vn", "archive.fo", "12ft.io", "r.jina.ai", "outline.com",
                  "removepaywall.com", "web.archive.org")
_SCHEME_RE = re.compile(r"\s*[a-z][a-z0-9+.-]*://")
_HOSTLIKE_RE = re.compile(r"^(?:[a-z0-9_-]+\.)+[a-z][a-z0-9-]*(?::\d+)?(?:/|$)", re.I)


def _split(url: str) -> tuple[str, str, str]:
    """(lower-case host, path, query) of an absolute or scheme-less URL; cheap and lenient."""
    rest = re.sub(r"(?i)^[a-z][a-z0-9+.-]*:", "", url.strip(), count=1).lstrip("/\\")
    rest = rest.split("#", 1)[0]
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i != -1), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    host = authority.rsplit("@", 1)[-1].split(":", 1)[0].lower().rstrip(".")
    path, _, query = tail.partition("?")
    return host, path, query


def _translate_goog(host: str) -> str | None:
    """``www-example-com.translate.goog`` is ``www.example.com`` ('--' stands for '-')."""
    if not host.endswith(_TRANSLATE_GOOG):
        return None
    label = host[: -len(_TRANSLATE_GOOG)]
    if not label or "." in label:
        return None
    return label.replace("--", "\x00").replace("-", ".").replace("\x00", "-")


def _absolute(text: str) -> list[str]:
    """Absolute addresses in ``text``, percent-decoded (twice, for double encoding)."""
    found = []
    for candidate in (text, unquote(text), unquote(unquote(text))):
        for m in _ABSOLUTE_RE.finditer(candidate):
            url = unquote(m.group(0)) if "%3a" in m.group(0).lower() else m.group(0)
            found.append(url)
        if found:
            break
    return found


def _direct(url: str) -> list[str]:
    host, path, query = _split(url)
    out: list[str] = []
    if site := _translate_goog(host):
        out.append(f"https://{site}{path or '/'}")
    for _, value in parse_qsl(query, keep_blank_values=False):
        if m := _CACHE_RE.match(value):
            out.append(m.group(1))
        out += _absolute(value)
    # The first absolute address in the path (archives, readers: /web/2020/https://site/).
    if "http" in path.lower():
        out += _absolute(path)[:1]
    elif any(host == s or host.endswith("." + s) for s in _PATH_SERVICES):
        tail = unquote(path).lstrip("/")
        tail = re.sub(r"(?i)^(?:newest|oldest|web/[0-9*]+[a-z_]*|proxy)/", "", tail)
        if _HOSTLIKE_RE.match(tail):
            out.append(tail)
    return out


def _carries_nothing(url: str) -> bool:
    """True when no rule of :func:`_direct` can match, without parsing the query: no ``http``
    after the scheme, no ``cache:`` and no percent sign (which could hide either), and no
    service's name anywhere. A proxy asks this for every request."""
    if "%" in url:
        return False
    low = url.lower()
    scheme = _SCHEME_RE.match(low)
    if "http" in (low[scheme.end():] if scheme else low) or "cache:" in low:
        return False
    return _TRANSLATE_GOOG not in low and not any(s in low for s in _PATH_SERVICES)


def carried_urls(url: str) -> list[str]:
    """Every address that ``url`` carries, nested services unwrapped; ``[]`` for most URLs.

    Cheap for the common case: a URL with no ``http`` in its path or query, no cache query and
    no service host returns at once.
    """
    if len(url) > _MAX_LENGTH:
        url = url[:_MAX_LENGTH]
    if _carries_nothing(url):
        return []
    seen: list[str] = []
    frontier = [url]
    for _ in range(MAX_DEPTH):
        nxt = []
        for u in frontier:
            for c in _direct(u):
                c = c.strip()
                if c and c not in seen and c != url and len(seen) < MAX_CARRIED:
                    seen.append(c)
                    nxt.append(c)
        if not nxt:
            break
        frontier = nxt
    return seen
