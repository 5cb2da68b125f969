"""Age labels read from real HTML fixtures, and the verdict for profiles aged 6, 10, 15, 18."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from policies.core import Profile, decide
from policies.labels import SCAN_LIMIT, enforced, read_labels

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "labels"
AGES = (6, 10, 15, 18)


def page(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def verdicts(evidence) -> str:
    """One letter per profile age: B(locked) or A(llowed)."""
    out = ""
    for age in AGES:
        profile = Profile(name=f"age{age}", age=age)
        out += "B" if decide(profile, enforced(profile, evidence)).blocked else "A"
    return out


def strongest(evidence):
    return max(evidence, key=lambda e: e.min_age or 0)


# fixture, url, headers, (kind, min_age, category) of the strongest label, verdicts 6/10/15/18
CASES = [
    ("rta_meta.html", "https://members.example.com/", {}, ("rta", 18, "sexual"), "BBBA"),
    ("rating_adult.html", "https://gallery.example.com/", {}, ("rating", 18, "sexual"), "BBBA"),
    ("rating_mature_wrong_case.html", "http://stories.example.com/", {}, ("rating", 18, None),
     "BBBA"),
    ("rating_14_years.html", "https://games.example.com/r/1", {}, ("rating", 14, None), "BBAA"),
    ("rating_general.html", "https://colour.example.com/", {}, ("rating", 0, None), "AAAA"),
    ("broken_quotes.html", "https://broken.example.com/", {}, ("rating", 18, "sexual"), "BBBA"),
    ("pics_rsaci.html", "http://clips.example.org/action/42", {}, ("pics", 16, "violence"),
     "BBBA"),
    ("pics_icra.html", "http://adult.example.net/", {}, ("pics", 18, "sexual"), "BBBA"),
    ("pics_icra_none.html", "http://kids.example.org/", {}, ("pics", 0, None), "AAAA"),
    ("pics_safesurf.html", "http://surf.example.org/", {}, ("pics", 18, "sexual"), "BBBA"),
    ("age_de_meta.html", "https://kritik.example.de/", {}, ("age-de-meta", 16, None), "BBBA"),
    ("og_age.html", "https://www.youtube.com/watch?v=AgeGated01", {}, ("og", 18, None), "BBBA"),
    ("schema_jsonld.html", "https://film.example.de/nachtschicht", {}, ("schema", 16, None),
     "BBBA"),
    ("schema_microdata.html", "https://film.example.com/space-pirates", {},
     ("schema", 13, None), "BBAA"),
    ("schema_game_pegi.html", "https://games.example.com/kart", {}, ("schema", 3, None), "AAAA"),
    ("schema_broken_json.html", "https://oops.example.com/", {}, ("schema", 12, None), "BBAA"),
    ("miracle_inline.html", "https://www.games.example.eu/news", {}, ("miracle", 12, None),
     "BBAA"),
    ("unlabelled.html", "https://www.example.org/bio", {"Rating": "RTA-5042-1996-1400-1577-RTA"},
     ("rta", 18, "sexual"), "BBBA"),
]


@pytest.mark.parametrize("name,url,headers,expected,expected_verdicts", CASES,
                         ids=[c[0] + ("+header" if c[2] else "") for c in CASES])
def test_label_age_and_verdict(name, url, headers, expected, expected_verdicts):
    ev = read_labels(url, headers, page(name))
    assert ev, f"no label found in {name}"
    assert all(e.source == "label" and e.detail for e in ev)
    top = strongest(ev)
    assert (top.kind, top.min_age, top.category) == expected
    assert verdicts(ev) == expected_verdicts


def test_unlabelled_page_has_no_labels_and_is_allowed():
    ev = read_labels("https://www.example.org/bio", {}, page("unlabelled.html"))
    assert ev == []
    assert verdicts(ev) == "AAAA"


def test_reason_quotes_the_label():
    ev = read_labels("https://members.example.com/", {}, page("rta_meta.html"))
    verdict = decide(Profile("kid", 10), ev)
    assert verdict.blocked and verdict.category == "sexual"
    assert "RTA label in <meta name=rating>" in verdict.reasons[0].detail


def test_pics_for_prefix_is_honoured():
    """An RSACi label 'for' /action does not cover another path or another site."""
    other = read_labels("http://clips.example.org/cartoons/1", {}, page("pics_rsaci.html"))
    assert other == []
    elsewhere = read_labels("http://evil.example.com/action", {}, page("pics_rsaci.html"))
    assert elsewhere == []


def test_pics_label_header():
    header = ('(PICS-1.1 "http://www.rsac.org/ratingsv01.html" l gen true '
              'r (n 2 s 1 v 0 l 0))')
    ev = read_labels("https://x.example.com/", {"PICS-Label": header}, None)
    assert [(e.kind, e.min_age, e.category) for e in ev] == [("pics", 16, "sexual")]
    assert "PICS-Label header" in ev[0].detail


def test_rating_header_values():
    assert [(e.kind, e.min_age) for e in read_labels("https://a.example/", {"rating": "adult"}, b"")] \
        == [("rating", 18)]
    assert read_labels("https://a.example/", {"Rating": "whatever-unknown"}, b"") == []


def test_mitmproxy_headers_with_repeated_fields():
    from mitmproxy.http import Headers
    h = Headers([(b"Rating", b"general"), (b"Rating", b"RTA-5042-1996-1400-1577-RTA")])
    kinds = sorted(e.kind for e in read_labels("https://a.example/", h, None))
    assert kinds == ["rating", "rta"]


def test_profile_can_ignore_a_label_kind():
    ev = read_labels("https://film.example.de/x", {}, page("schema_jsonld.html"))
    kid = Profile("kid", 10, labels={"schema": "ignore"})
    assert enforced(kid, ev) == []
    assert not decide(kid, enforced(kid, ev)).blocked
    assert decide(Profile("kid", 10), enforced(Profile("kid", 10), ev)).blocked


def test_scan_is_bounded():
    """A label after the scan limit is not read, and a huge page is read fast."""
    late = b"<html><head>" + b"<!-- padding -->" * (SCAN_LIMIT // 16 + 10) \
        + b'<meta name="rating" content="adult"></head></html>'
    assert read_labels("https://a.example/", {}, late) == []
    huge = b"<html><body>" + b"<p>" + b"x" * 10_000_000 + b"</p></body></html>"
    t = time.perf_counter()
    assert read_labels("https://a.example/", {}, huge) == []
    assert time.perf_counter() - t < 0.5


@pytest.mark.parametrize("junk", [
    b"\x00\xff\xfe<meta name=rating content=", b"<meta", b"<meta " + b"a" * 100_000,
    "<meta name='rating' content='ādult'>".encode(), b"<meta name=\"rating\" content=\"\">",
    b"<script type=application/ld+json>" + b"[" * 5000 + b"</script>",
    b'<meta http-equiv="PICS-Label" content="(PICS-1.1 ((((( r (n 9 s x">',
])
def test_junk_never_raises(junk):
    ev = read_labels("https://a.example/", {}, junk)
    assert all(e.min_age is None or 0 <= e.min_age <= 21 for e in ev)


@pytest.mark.parametrize("hostile", [
    b"<script" * 20_000,
    b'<script type="application/ld+json">' * 4000,
    b"<a " + b"x" * 3000 + b" itemprop=contentRating " * 3000,
    b"<meta" * 25_000,
    b'<meta name="rating" content="' + b"a" * 130_000,
    b"<" + b'a itemprop="isFamilyFriendly"' * 4000,
])
def test_hostile_markup_is_read_in_linear_time(hostile):
    t = time.perf_counter()
    read_labels("https://a.example/", {}, hostile)
    assert time.perf_counter() - t < 0.5


def test_pics_levels_that_are_not_numbers_are_skipped_not_fatal():
    """'inf' and 'nan' parse as floats but have no integer level: that dimension is ignored."""
    header = ('(PICS-1.1 "http://www.rsac.org/ratingsv01.html" l gen true '
              'r (v inf l nan n 2 s 1))')
    ev = read_labels("https://x.example.com/", {"PICS-Label": header}, None)
    assert [(e.kind, e.min_age, e.category) for e in ev] == [("pics", 16, "sexual")]


@pytest.mark.parametrize("markup, age", [
    (b'<script type="application/ld+json">{"@type":"Movie","contentRating":"FSK 16"}</script>', 16),
    (b'<script type="application/ld+json">{"@type":"Movie","\\u0063ontentRating":"FSK 16"}'
     b"</script>", 16),  # a JSON escape hides the name from a plain search: still read
    (b'<script type="application/ld+json">{"isFamilyFriendly":"false"}</script>', None),
    (b'<div itemscope><meta itemprop="contentRating" content="PEGI 12"></div>', 12),
])
def test_schema_labels_behind_article_markup_are_read(markup, age):
    """Pages full of JSON-LD and microdata about articles skip the schema.org reader unless a
    label's property can be there; a label that is there is always read."""
    article = (b'<script type="application/ld+json">{"@type":"NewsArticle","headline":"Otters"}'
               b'</script><span itemprop="author">Ana</span>')
    html = b"<html><head>" + article + b"</head><body><p>text</p>" + markup + b"</body></html>"
    found = [e for e in read_labels("https://x.example/", {}, html) if e.kind == "schema"]
    assert found, "the label must be read"
    if age is not None:
        assert found[0].min_age == age
    assert [e for e in read_labels("https://x.example/", {}, html.replace(markup, b""))
            if e.kind == "schema"] == []
