"""The page-label reader's cheaper scan finds the same labels as the plain one it replaced.

``read_labels`` decides which readers to run with fewer substring searches of the page, finds
the end of the head with one search to the end instead of two, and gives the readers a lower-
case copy made from the bytes instead of ``str.lower()``. The reference below is the plain
version, kept so that any drift between the two is caught: on real pages, on the label
fixtures, and on variants of them with odd letter cases and characters whose lower case is
ASCII (KELVIN SIGN, DOTTED CAPITAL I).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from policies.core import Evidence
from policies.labels import page as P

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "labels"
REAL_PAGES = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "pages" / "readability"


def ref_may_hold(folded: bytes) -> bool:
    if b"age-declaration" in folded or b"miracle-label" in folded:
        return True
    names = b"isfamilyfriendly" in folded or b"contentrating" in folded
    return (b"itemprop" in folded and names) or (
        b"application/ld+json" in folded and (names or b"\\u" in folded))


def ref_read_labels(url: str, html: bytes) -> list[Evidence]:
    """The plain reader (body part; the headers are read the same way by both)."""
    out: list[Evidence] = []
    raw = html[:P.SCAN_LIMIT]
    folded = raw.lower()
    ends = [i for i in (folded.find(b"</head"), folded.find(b"<body")) if i >= 0]
    head = raw[:min(ends)] if ends else raw
    folded_head = folded[:len(head)]
    if any(w in folded_head for w in P._META_LABEL_WORDS):
        out += P._meta_labels(head.decode("utf-8", "replace"), url)
    if not ref_may_hold(folded):
        return out
    text = raw.decode("utf-8", "replace")
    lower = P._lower(text)
    out.extend(P._schema(text, lower))
    out.extend(P._miracle(text, lower, url))
    return out


def _pages() -> list[bytes]:
    pages = [p.read_bytes() for p in sorted(FIXTURES.glob("*.html"))]
    pages += [p.read_bytes() for p in sorted(FIXTURES.glob("*.xml"))]
    if REAL_PAGES.exists():
        pages += [p.read_bytes() for p in sorted(REAL_PAGES.glob("*.html"))]
    return pages


def _variants(page: bytes, rng: random.Random) -> list[bytes]:
    """The page, its head and body moved, cases changed, look-alike characters inserted."""
    text = page.decode("utf-8", "replace")
    out = [page, page.upper(), page.replace(b"</head", b"</HEAD x"), page.replace(b"<body", b"")]
    for odd in ("\u212a", "\u0130", "\u0131", "\u017f", "\u00c9"):  # KELVIN SIGN, I with dot, ...
        pos = rng.randrange(len(text) + 1)
        out.append((text[:pos] + odd + text[pos:]).encode("utf-8"))
        out.append(text.replace("i", odd, 3).encode("utf-8"))
    cut = rng.randrange(len(page) + 1)
    out.append(page[:cut])
    out.append(b"<body>" + page)
    return out


LABELLED = [
    b'<html><head><meta name="rating" content="adult"></head><body>x</body></html>',
    b'<script type="application/ld+json">{"isFamilyFriendly": "false"}</script>',
    b'<script type="application/ld+json">{"\\u0069sFamilyFriendly": false}</script>',
    b'<script type="application/LD+JSON">{"contentRating": "PEGI 18"}</script>' * 3,
    b'<div itemprop="contentRating" content="R"></div><div itemprop=isFamilyFriendly>false</div>',
    b'<html><body><div ITEMPROP="contentrating">FSK 16</div></body></html>',
    b'<script type="application/miracle+xml"><age-declaration/></script>',
    b"<head><meta http-equiv=PICS-Label content='(PICS-1.1 \"http://www.icra.org/ratingsv02.html\" "
    b"l r (nz 1 vz 1 lz 1 oz 1 cz 1))'><meta property=og:restrictions:age content=18></head>",
]


@pytest.mark.parametrize("seed", [0, 1])
def test_read_labels_matches_the_plain_reader(seed: int) -> None:
    rng = random.Random(seed)
    pages = _pages() + LABELLED
    assert len(pages) > len(LABELLED)
    found = 0
    for page in pages:
        for v in _variants(page, rng):
            assert P._may_hold_markup_label(v.lower()) == ref_may_hold(v.lower())
            got = P.read_labels("http://example.org/a", {}, v)
            assert sorted(map(repr, got)) == sorted(map(repr, ref_read_labels("http://example.org/a", v))), v[:200]
            found += len(got)
    assert found  # the labelled pages do carry labels


def test_lower_from_bytes_finds_what_str_lower_finds() -> None:
    """The readers' needles are found at the same places in both lower-case copies."""
    needles = ["<script", "</script", ">", "application/ld+json", "itemprop", "isfamilyfriendly",
               "contentrating", "application/miracle+xml", "application/age+xml"]
    assert not any("k" in n for n in needles)  # KELVIN SIGN lower-cases to "k"
    rng = random.Random(7)
    atoms = ["<SCRIPT", "<script", "</Script>", ">", "ItemProp", "\u212a", "\u0130", "\u0131",
             "application/LD+JSON", "isFamilyFriendly", "contentRating", "é", "\xff", "x y"]
    for _ in range(2000):
        raw = "".join(rng.choice(atoms) for _ in range(rng.randrange(30))).encode("utf-8")
        if rng.random() < 0.3:
            raw = raw[:rng.randrange(len(raw) + 1)]  # cut inside a character
        text = raw.decode("utf-8", "replace")
        plain = P._lower(text)
        fast = raw.lower().decode("utf-8", "replace")
        assert len(fast) == len(text) == len(plain)
        for n in needles:
            assert [i for i in range(len(text)) if plain.startswith(n, i)] == \
                [i for i in range(len(text)) if fast.startswith(n, i)], (raw, n)
