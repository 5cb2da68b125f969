"""Per-page age labels: response headers and the first bytes of the HTML.

Cheap by design: a bounded scan of the first ``SCAN_LIMIT`` bytes with a few regular
expressions (meta tags, JSON-LD blocks, microdata), no DOM. Wrong case, unquoted or broken
attribute quotes and junk JSON are tolerated; nothing here raises on page content.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Final

from policies.core import Evidence
from policies.labels import values
from policies.labels.agede import LabelError, MIRACLE_NS, parse_age_de_xml
from policies.labels.pics import parse_pics

#: Bytes of the body scanned for labels; meta tags live in the head, well inside this.
SCAN_LIMIT: Final[int] = 128 * 1024
MAX_JSON_LD: Final[int] = 64 * 1024
MAX_ATTR_TAGS: Final[int] = 2000

_META_RE = re.compile(r"<meta\b([^>]{0,4096})>?", re.I)
_ATTR_RE = re.compile(
    r"""([a-zA-Z_:][-\w:.]*)\s*(?:=\s*(?:"([^"]*)"?|'([^']*)'?|([^\s"'>]+)))?""")
_ITEMPROP_RE = re.compile(r"itemprop\s*=\s*[\"']?(?:isFamilyFriendly|contentRating)\b", re.I)
MIRACLE_TYPES: Final[frozenset[str]] = frozenset({"application/miracle+xml", "application/age+xml"})
_FAMILY_RE = re.compile(r'"isFamilyFriendly"\s*:\s*"?(true|false)"?', re.I)
_CONTENT_RATING_RE = re.compile(r'"contentRating"\s*:\s*"([^"]{1,64})"', re.I)
_AGE_META_RE = re.compile(r"(?:^|\s)age\s*=\s*(\d{1,2})\b", re.I)


#: Every meta label below names one of these (in ``name``, ``http-equiv`` or ``property``).
_META_LABEL_WORDS: Final[tuple[bytes, ...]] = (b"rating", b"age-de-meta-label", b"pics-label",
                                               b"og:restrictions:age")

_ASCII_LOWER: Final[dict[int, int]] = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _lower(text: str) -> str:
    """Lower case with the same length as ``text``, so indices stay valid.

    ``read_labels`` uses ``raw.lower().decode("utf-8", "replace")`` instead, the same as this
    ASCII folding of ``raw.decode("utf-8", "replace")``; where str.lower() keeps the length it
    differs only in non-ASCII characters and in K (KELVIN SIGN, which becomes "k"), and the
    readers look for ASCII words without a "k".
    """
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_ASCII_LOWER)


def _text(html: str | bytes | None) -> str:
    if html is None:
        return ""
    if isinstance(html, (bytes, bytearray, memoryview)):
        return bytes(html[:SCAN_LIMIT]).decode("utf-8", "replace")
    return html[:SCAN_LIMIT]


def _attrs(body: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTR_RE.finditer(body):
        name = m.group(1).lower()
        val = next((g for g in m.group(2, 3, 4) if g is not None), "")
        out.setdefault(name, val.strip())
    return out


def _metas(text: str) -> Iterator[dict[str, str]]:
    for n, m in enumerate(_META_RE.finditer(text)):
        if n >= MAX_ATTR_TAGS:
            return
        yield _attrs(m.group(1))


def _quote(value: str, limit: int = 120) -> str:
    v = " ".join(value.split())
    return v if len(v) <= limit else v[:limit] + "…"


def _header(headers: Mapping[str, str] | Iterable[tuple[str, str]], name: str) -> list[str]:
    get_all = getattr(headers, "get_all", None)  # mitmproxy Headers keep repeated fields
    if callable(get_all):
        return [str(v) for v in get_all(name)]
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [v for k, v in items if k.lower() == name]


def _rating(value: str, where: str) -> Evidence | None:
    r = values.rating_value(value)
    if r is None:
        return None
    age, cat = r
    if values.RTA.lower() in value.lower():
        return Evidence("label", "sexual", f"RTA label in {where}", min_age=18, kind="rta")
    return Evidence("label", cat, f"rating '{_quote(value, 40)}' in {where}", min_age=age,
                    kind="rating")


def _pics(value: str, url: str, where: str) -> list[Evidence]:
    return [Evidence("label", r.category, f"PICS {r.service} ({_quote(r.text, 60)}) in {where}",
                     min_age=r.min_age, kind="pics")
            for r in parse_pics(value, url)]


def _may_hold_markup_label(folded: bytes) -> bool:
    """Whether the schema.org or MIRACLE readers can find anything in this (case-folded)
    page: schema.org needs its property names, written out or, in JSON-LD, behind a JSON
    escape. Most pages carry JSON-LD or microdata about articles, never these two names."""
    # Each test below reads up to SCAN_LIMIT bytes when it fails, as it does on most pages:
    # the order asks the fewest of them (pages without JSON-LD or microdata need no names).
    if b"age-declaration" in folded or b"miracle-label" in folded:
        return True
    if b"application/ld+json" in folded:
        return b"isfamilyfriendly" in folded or b"contentrating" in folded or b"\\u" in folded
    return b"itemprop" in folded and (b"isfamilyfriendly" in folded or b"contentrating" in folded)


def _meta_labels(head: str, url: str) -> list[Evidence]:
    """Labels in the meta tags of a page's head."""
    out: list[Evidence] = []
    for a in _metas(head):
        name = a.get("name", "").lower()
        prop = a.get("property", "").lower()
        equiv = a.get("http-equiv", "").lower()
        content = a.get("content", "")
        if name == "rating":
            if e := _rating(content, "<meta name=rating>"):
                out.append(e)
        elif name == "age-de-meta-label":
            m = _AGE_META_RE.search(content)
            if m and int(m.group(1)) <= 21:
                out.append(Evidence("label", None, f"age-de-meta-label '{_quote(content, 60)}'",
                                    min_age=int(m.group(1)), kind="age-de-meta"))
        elif equiv == "pics-label":
            out.extend(_pics(content, url, "<meta http-equiv=PICS-Label>"))
        elif equiv == "rating":
            if e := _rating(content, "<meta http-equiv=rating>"):
                out.append(e)
        elif prop in ("og:restrictions:age", "og:restrictions:age_restriction"):
            age = values.plain_age(content)
            if age is not None:
                out.append(Evidence("label", None, f"Open Graph og:restrictions:age '{_quote(content, 20)}'",
                                    min_age=age, kind="og"))
    return out


def read_labels(url: str, headers: Mapping[str, str] | Iterable[tuple[str, str]],
                html: str | bytes | None) -> list[Evidence]:
    """Every age label on one response: headers and the first ``SCAN_LIMIT`` bytes of HTML."""
    out: list[Evidence] = []
    for v in _header(headers, "rating"):
        if e := _rating(v, "Rating header"):
            out.append(e)
    for v in _header(headers, "pics-label"):
        out.extend(_pics(v, url, "PICS-Label header"))

    if html is None or not len(html):
        return out
    # ASCII case folding of the raw bytes is cheap; the page is decoded (and folded as text)
    # only where a reader needs it. Label meta tags belong in the head, so a long page's body
    # is not scanned for them.
    raw = html.encode("utf-8", "replace") if isinstance(html, str) else bytes(html[:SCAN_LIMIT])
    raw = raw[:SCAN_LIMIT]
    folded = raw.lower()
    # The head ends at "</head" or "<body", whichever comes first: "<body" is looked for only
    # before "</head" (usually a short search, not one to the end of the page).
    end = folded.find(b"</head")
    body = folded.find(b"<body", 0, len(folded) if end < 0 else end)
    end = body if body >= 0 else end if end >= 0 else len(raw)
    # Only meta tags naming one of these are labels; most heads have none of them (lower-casing
    # the attributes, as below, turns no other character into these ASCII words).
    if any(folded.find(w, 0, end) >= 0 for w in _META_LABEL_WORDS):
        out.extend(_meta_labels(raw[:end].decode("utf-8", "replace"), url))
    if not _may_hold_markup_label(folded):  # most pages: no schema.org or MIRACLE label
        return out
    text = raw.decode("utf-8", "replace")
    # The readers look for ASCII words in ``lower`` to slice ``text``: the page folded as bytes
    # and decoded the same way is such a copy, several times cheaper than str.lower() of
    # non-ASCII text (the same answers: see _lower).
    lower = folded.decode("utf-8", "replace")
    out.extend(_schema(text, lower))
    out.extend(_miracle(text, lower, url))
    return out


def _schema_evidence(key: str, value: object) -> Evidence | None:
    if key == "isfamilyfriendly":
        v = str(value).strip().lower()
        if v in ("false", "no", "0"):
            return Evidence("label", None, "schema.org isFamilyFriendly false",
                            min_age=values.FAMILY_UNFRIENDLY_AGE, kind="schema")
        return None
    if isinstance(value, dict):
        value = value.get("ratingValue") or value.get("name") or ""
    if not isinstance(value, (str, int, float)):
        return None
    age = values.content_rating(str(value))
    if age is None:
        return None
    return Evidence("label", None, f"schema.org contentRating '{_quote(str(value), 30)}'",
                    min_age=age, kind="schema")


def _walk(obj: object, depth: int = 0) -> Iterator[tuple[str, object]]:
    if depth > 8:
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            lk = str(k).lower()
            if lk in ("isfamilyfriendly", "contentrating"):
                yield lk, v
            elif isinstance(v, (dict, list)):
                yield from _walk(v, depth + 1)
    elif isinstance(obj, list):
        for v in obj[:200]:
            yield from _walk(v, depth + 1)


def _scripts(text: str, lower: str, types: frozenset[str]) -> Iterator[str]:
    """Bodies of ``<script type=...>`` blocks of the given types. Linear: forward ``find`` only."""
    pos = 0
    while (start := lower.find("<script", pos)) >= 0:
        start += 7
        end = lower.find(">", start, start + 1024)
        if end < 0:
            pos = start
            continue
        close = lower.find("</script", end)
        if close < 0:
            return  # no closing tag anywhere after: no more complete scripts
        pos = close + 8
        if _attrs(text[start:end]).get("type", "").lower() in types:
            yield text[end + 1:close]


def _may_hold_schema_label(block: str) -> bool:
    """Whether a JSON-LD block can name ``isFamilyFriendly`` or ``contentRating``: written out,
    or hidden behind a JSON escape (``\\u``), which only parsing reveals."""
    low = block.lower()
    return "isfamilyfriendly" in low or "contentrating" in low or "\\u" in low


def _schema(text: str, lower: str) -> list[Evidence]:
    """schema.org in JSON-LD (parsed, or regex fallback for broken JSON) and microdata."""
    found: list[Evidence] = []
    if "application/ld+json" in lower:
        for block in _scripts(text, lower, frozenset({"application/ld+json"})):
            block = block[:MAX_JSON_LD]
            if not _may_hold_schema_label(block):
                continue  # most JSON-LD describes articles and organisations: no parse
            try:
                pairs = list(_walk(json.loads(block)))
            except (ValueError, RecursionError):
                pairs = [("isfamilyfriendly", x.group(1)) for x in _FAMILY_RE.finditer(block)]
                pairs += [("contentrating", x.group(1)) for x in _CONTENT_RATING_RE.finditer(block)]
            for k, v in pairs:
                if e := _schema_evidence(k, v):
                    found.append(e)
    if "itemprop" in lower and ("isfamilyfriendly" in lower or "contentrating" in lower):
        for n, m in enumerate(_ITEMPROP_RE.finditer(text)):
            if n >= MAX_ATTR_TAGS:
                break
            start = text.rfind("<", max(0, m.start() - 2048), m.start())
            end = text.find(">", m.end(), m.end() + 2048)
            if start < 0 or end < 0:
                continue
            a = _attrs(text[start + 1:end])
            inner_end = text.find("<", end + 1, end + 200)
            inner = text[end + 1:inner_end if inner_end >= 0 else end + 200]
            key = a.get("itemprop", "").lower()
            value = a.get("content") or a.get("href", "").rsplit("/", 1)[-1] or inner
            if e := _schema_evidence(key, value):
                found.append(e)
    return found


def _miracle(text: str, lower: str, url: str) -> list[Evidence]:
    """MIRACLE v2 / age declaration XML: as the document itself or embedded in a script."""
    if MIRACLE_NS not in text and "age-declaration" not in text:
        return []
    head = text.lstrip()[:200].lower()
    if head.startswith("<?xml") or head.startswith("<age-declaration") or head.startswith("<label"):
        blocks = [text]
    else:
        blocks = [b.strip() for b in _scripts(text, lower, MIRACLE_TYPES)]
    out: list[Evidence] = []
    for block in blocks:
        try:
            decl = parse_age_de_xml(block.encode("utf-8"), source="embedded label")
        except LabelError:
            continue
        if (e := decl.evidence(url)) is not None:
            out.append(e)
    return out
