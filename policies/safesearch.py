"""Safe search and restricted modes, as pure rewrites of plain request data.

:func:`rewrite` says what to change on an intercepted request (query, headers, cookies) so that
the engine serves its safe mode, and strips the ways a user turns it off (``safe=off``,
``kp=-2``, ``adlt=off``, override cookies). :func:`safe_address` names the engine's safe
address for connections kidgate does not intercept. :func:`unsafe_search_hosts` lists search
engines kidgate cannot force into a safe mode: the proxy blocks them as category ``bypass``
while the profile's ``safe_search`` is not ``off`` (see :func:`bypass_evidence`).

Levels are ``"strict" | "moderate" | "off"``; YouTube has its own level, separate from search.
Engines with a single safe mode (Pixabay, Ecosia's address, DuckDuckGo's address, Yandex's
family search) use it for both strict and moderate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl, urlencode

from policies.core import Evidence

LEVELS: Final[tuple[str, ...]] = ("strict", "moderate", "off")

YOUTUBE_HOSTS: Final[frozenset[str]] = frozenset({
    "www.youtube.com", "m.youtube.com", "youtubei.googleapis.com", "youtube.googleapis.com",
    "www.youtube-nocookie.com"})
BING_HOSTS: Final[frozenset[str]] = frozenset({"www.bing.com", "bing.com", "edgeservices.bing.com"})
DDG_HOSTS: Final[frozenset[str]] = frozenset({
    "duckduckgo.com", "www.duckduckgo.com", "html.duckduckgo.com", "lite.duckduckgo.com",
    "links.duckduckgo.com"})
ECOSIA_HOSTS: Final[frozenset[str]] = frozenset({"www.ecosia.org", "ecosia.org"})
PIXABAY_HOSTS: Final[frozenset[str]] = frozenset({"pixabay.com", "www.pixabay.com"})
BRAVE_HOSTS: Final[frozenset[str]] = frozenset({"search.brave.com"})

_GOOGLE_RE = re.compile(r"^(?:www\.)?google\.(?:com?\.)?[a-z]{2,3}$")
_YANDEX_RE = re.compile(r"^(?:www\.)?(?:yandex\.(?:com?\.)?[a-z]{2,3}|ya\.ru)$")

#: Search engines without a safe mode kidgate can lock (no forced parameter, header, cookie or
#: safe address it applies). Blocked as ``bypass`` for profiles whose safe search is on.
UNSAFE_SEARCH_HOSTS: Final[frozenset[str]] = frozenset({
    "www.startpage.com", "startpage.com", "eu.startpage.com", "us.startpage.com",
    "search.yahoo.com", "www.qwant.com", "lite.qwant.com", "www.mojeek.com", "www.baidu.com",
    "www.ask.com", "search.aol.com", "yep.com", "you.com", "presearch.com", "www.metager.de",
    "metager.org", "searx.be", "search.marginalia.nu", "www.dogpile.com"})

SAFE_ADDRESSES: Final[dict[str, dict[str, str]]] = {
    # engine -> level -> safe host name
    "google": {"strict": "forcesafesearch.google.com"},
    "bing": {"strict": "strict.bing.com"},
    "duckduckgo": {"strict": "safe.duckduckgo.com", "moderate": "safe.duckduckgo.com"},
    "yandex": {"strict": "familysearch.yandex.ru", "moderate": "familysearch.yandex.ru"},
    "ecosia": {"strict": "strict-safe-search.ecosia.org",
               "moderate": "strict-safe-search.ecosia.org"},
    "pixabay": {"strict": "safesearch.pixabay.com", "moderate": "safesearch.pixabay.com"},
    "youtube": {"strict": "restrict.youtube.com", "moderate": "restrictmoderate.youtube.com"},
}


@dataclass(frozen=True, slots=True)
class Rewrite:
    """Changes to apply to one request. Empty when nothing is to change.

    ``path`` is the new path with query (``None``: unchanged); ``set_headers`` replace any
    header of the same name; ``cookies`` maps a cookie name to its new value, ``None`` meaning
    remove it.
    """

    engine: str | None = None
    path: str | None = None
    set_headers: tuple[tuple[str, str], ...] = ()
    remove_headers: tuple[str, ...] = ()
    cookies: Mapping[str, str | None] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.path is not None or self.set_headers or self.remove_headers or self.cookies)


def engine_for(host: str) -> str | None:
    """The engine serving ``host``, or ``None``."""
    h = host.lower().rstrip(".")
    if h in YOUTUBE_HOSTS:
        return "youtube"
    if _GOOGLE_RE.match(h):
        return "google"
    if h in BING_HOSTS:
        return "bing"
    if h in DDG_HOSTS:
        return "duckduckgo"
    if _YANDEX_RE.match(h):
        return "yandex"
    if h in ECOSIA_HOSTS:
        return "ecosia"
    if h in PIXABAY_HOSTS:
        return "pixabay"
    if h in BRAVE_HOSTS:
        return "brave"
    return None


def safe_address(host: str, safe_search: str, youtube: str) -> str | None:
    """The safe host name to connect to instead of ``host``, when kidgate does not intercept."""
    engine = engine_for(host)
    if engine is None:
        return None
    level = youtube if engine == "youtube" else safe_search
    return SAFE_ADDRESSES.get(engine, {}).get(level)


def unsafe_search_hosts() -> frozenset[str]:
    """Search engines kidgate cannot force safe; block them as ``bypass`` when safe search is on."""
    return UNSAFE_SEARCH_HOSTS


def bypass_evidence(host: str, safe_search: str) -> Evidence | None:
    """``bypass`` evidence for an unlockable search engine, while the profile's safe search is on."""
    h = host.lower().rstrip(".")
    if safe_search == "off" or h not in UNSAFE_SEARCH_HOSTS:
        return None
    return Evidence("list", "bypass", f"search engine {h} has no safe search kidgate can lock",
                    kind="unsafe-search")


# --- query helpers ----------------------------------------------------------------------

def _split(path: str) -> tuple[str, list[tuple[str, str]]]:
    base, _, query = path.partition("?")
    return base, parse_qsl(query, keep_blank_values=True)


def _with_query(base: str, pairs: Sequence[tuple[str, str]]) -> str:
    return f"{base}?{urlencode(pairs)}" if pairs else base


def _force(path: str, drop: Iterable[str], add: Sequence[tuple[str, str]],
           only_if_present: bool = False) -> tuple[str | None, list[str]]:
    """Remove the ``drop`` parameters (any case) and append ``add``; ``None`` if unchanged."""
    base, pairs = _split(path)
    dropset = {d.lower() for d in drop}
    kept = [(k, v) for k, v in pairs if k.lower() not in dropset]
    removed = [f"{k}={v}" for k, v in pairs if k.lower() in dropset]
    if only_if_present and not removed:
        return None, []
    new = kept + list(add)
    if new == pairs:
        return None, []
    notes = [f"removed {r}" for r in removed if (r.split("=", 1)[0], r.split("=", 1)[1]) not in add]
    return _with_query(base, new), notes


def _header(headers: Iterable[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in headers if k.lower() == name.lower()]


# --- the rewrite ------------------------------------------------------------------------

_GOOGLE_SEARCH_PATHS: Final[tuple[str, ...]] = (
    "/search", "/webhp", "/images", "/imghp", "/complete/search", "/videohp", "/imgres")


def rewrite(method: str, scheme: str, host: str, path: str,
            headers: Iterable[tuple[str, str]], cookies: Mapping[str, str] | Iterable[tuple[str, str]],
            safe_search: str, youtube: str) -> Rewrite:
    """What to change on one intercepted request so that the engine serves its safe mode."""
    engine = engine_for(host)
    if engine is None:
        return Rewrite()
    headers = list(headers)
    jar = dict(cookies.items() if isinstance(cookies, Mapping) else cookies)
    level = youtube if engine == "youtube" else safe_search
    if level not in ("strict", "moderate") or method.upper() == "CONNECT":
        return Rewrite(engine)
    base = path.partition("?")[0]

    if engine == "youtube":
        want = "Strict" if level == "strict" else "Moderate"
        have = _header(headers, "youtube-restrict")
        if have == [want]:
            return Rewrite(engine)
        return Rewrite(engine, set_headers=(("YouTube-Restrict", want),),
                       notes=(f"YouTube-Restrict: {want}",) + tuple(
                           f"replaced YouTube-Restrict: {h}" for h in have))

    if engine == "google":
        if not (base == "/" or base.startswith(_GOOGLE_SEARCH_PATHS)):
            return Rewrite(engine)
        if level == "strict":
            new, notes = _force(path, ("safe", "ssui"), [("safe", "active"), ("ssui", "on")])
        else:  # moderate: Google's default blurring; only the opt-outs go
            _, pairs = _split(path)
            off = [k for k, v in pairs if k.lower() == "safe" and v.lower() in ("off", "disabled",
                                                                                 "0", "images")]
            new, notes = _force(path, ("safe",), [], only_if_present=bool(off)) if off else (None, [])
        return Rewrite(engine, path=new, notes=tuple(notes))

    if engine == "bing":
        value = "strict" if level == "strict" else "moderate"
        new, notes = _force(path, ("adlt",), [("adlt", value)]) if _split(path)[1] else (None, [])
        cookies_out: dict[str, str | None] = {}
        prefs = jar.get("SRCHHPGUSR")
        adlt = "STRICT" if level == "strict" else "DEMOTE"
        if prefs is not None:
            fixed = _set_sub(prefs, "&", "ADLT", adlt)
            if fixed != prefs:
                cookies_out["SRCHHPGUSR"] = fixed
                notes.append(f"SRCHHPGUSR ADLT={adlt}")
        return Rewrite(engine, path=new, cookies=cookies_out, notes=tuple(notes))

    if engine == "duckduckgo":
        value = "1" if level == "strict" else "-1"
        new, notes = _force(path, ("kp",), [("kp", value)]) if _split(path)[1] else (None, [])
        cookies_out = {}
        if "p" in jar and jar["p"] != value:
            cookies_out["p"] = value
            notes.append(f"cookie p={jar['p']} -> {value}")
        return Rewrite(engine, path=new, cookies=cookies_out, notes=tuple(notes))

    if engine == "yandex":
        new, notes = _force(path, ("fyandex", "family"), [("fyandex", "1")]) \
            if _split(path)[1] else (None, [])
        return Rewrite(engine, path=new, notes=tuple(notes))

    if engine == "ecosia":
        # Ecosia keeps its settings in the ECFG cookie ("...:f=y:..."): y strict, i moderate, n off.
        want = "y" if level == "strict" else "i"
        new, notes = _force(path, ("sf", "safesearch"), []) if _split(path)[1] else (None, [])
        new = new if notes else None
        cookies_out = {}
        cfg = jar.get("ECFG")
        fixed = _set_sub(cfg, ":", "f", want) if cfg is not None else f"f={want}"
        if fixed != cfg:
            cookies_out["ECFG"] = fixed
            notes.append(f"ECFG f={want}")
        return Rewrite(engine, path=new, cookies=cookies_out, notes=tuple(notes))

    if engine == "pixabay":
        if not _split(path)[1] and "/search" not in base and not base.startswith(("/images/search", "/api")):
            return Rewrite(engine)
        new, notes = _force(path, ("safesearch",), [("safesearch", "true")])
        return Rewrite(engine, path=new, notes=tuple(notes))

    # brave: the "safesearch" cookie decides; a query parameter can override it, so it goes.
    want = level
    new, notes = _force(path, ("safesearch",), []) if _split(path)[1] else (None, [])
    new = new if notes else None
    cookies_out = {}
    if jar.get("safesearch") != want:
        cookies_out["safesearch"] = want
        notes.append(f"cookie safesearch={want}")
    return Rewrite(engine, path=new, cookies=cookies_out, notes=tuple(notes))


def _set_sub(value: str, sep: str, key: str, new: str) -> str:
    """Set ``key=new`` inside a compound cookie value such as ``A=1&ADLT=OFF`` or ``a=0:f=n``."""
    parts = [p for p in value.split(sep) if p]
    out, found = [], False
    for p in parts:
        k, eq, _ = p.partition("=")
        if eq and k.upper() == key.upper():
            if not found:
                out.append(f"{k}={new}")
            found = True
        else:
            out.append(p)
    if not found:
        out.append(f"{key}={new}")
    return sep.join(out)
