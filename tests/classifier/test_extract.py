"""Extraction on real pages and hostile bodies: bounded cost, right text, right charset."""

from __future__ import annotations

import gzip
import re
import time
import zlib

import brotli
import pytest
from backports import zstd

from classifier.extract import MAX_BYTES, decompress, extract, search_query

from .conftest import REAL_PAGES

PAGES = sorted(REAL_PAGES.glob("*.html"))


@pytest.mark.skipif(not PAGES, reason="real pages not available")
def test_real_pages_give_title_and_text_without_scripts() -> None:
    with_title = clean = 0
    for p in PAGES:
        ex = extract(p.read_bytes(), content_type="text/html")
        assert not ex.binary
        assert len(ex.text) <= 2500 + 2000  # body cap plus title/meta/headings
        with_title += bool(ex.title)
        clean += re.search(r"<(script|style|div|span|a)\b[^<>]*>", ex.text, re.I) is None
    assert with_title >= len(PAGES) * 0.9
    assert clean >= len(PAGES) * 0.95  # a page about HTML may show tags as text


@pytest.mark.skipif(not (REAL_PAGES / "remove-script-tags.html").exists(), reason="page missing")
def test_script_and_style_content_removed() -> None:
    ex = extract((REAL_PAGES / "remove-script-tags.html").read_bytes(), content_type="text/html")
    assert ex.title == "Remove script tags test"
    assert "Lorem ipsum" in ex.body
    assert "<script" not in ex.body.lower()


def test_fields() -> None:
    html = ("<html><head><title>Cats &amp; dogs</title><meta name='description' content='All about pets'>"
            "<meta name=keywords content='cat,dog'><style>p{color:red}</style>"
            "<script>var secret = 1;</script></head><body><h1>Pets</h1><!-- hidden comment -->"
            "<img src=a.png alt='a sleeping cat'><p>Visible text here.</p></body></html>")
    ex = extract(html.encode(), content_type="text/html; charset=utf-8")
    assert ex.title == "Cats & dogs"
    assert ex.description == "All about pets"
    assert ex.keywords == "cat,dog"
    assert ex.headings == ("Pets",)
    assert ex.alt == ("a sleeping cat",)
    assert "Visible text here." in ex.body
    for hidden in ("secret", "color:red", "hidden comment"):
        assert hidden not in ex.text
    # Title and description come before the body in the model's text.
    assert ex.text.index("Cats") < ex.text.index("Visible")


def test_indentation_does_not_use_up_the_text_budget() -> None:
    """Deeply indented markup: the body text is counted in words, not in whitespace."""
    para = "<p>" + " ".join(f"word{i}" for i in range(10)) + "</p>"
    html = "<html><body>" + "".join("\n" + " " * 300 + para for _ in range(200)) + "</body></html>"
    body = extract(html.encode(), content_type="text/html").body
    assert len(body) > 1500 and "  " not in body


def test_text_after_a_long_menu_is_read() -> None:
    """A body that opens with 14 kB of menu markup (links without words) still gives its
    article text: extraction reads on past its first part when that held few words."""
    menu = "".join(f'<li class="nav-item nav-item--{i}"><a href="/section/{i}" '
                   f'data-track="menu-{i}"><span class="icon icon-{i}"></span></a></li>'
                   for i in range(110))
    article = "<article><p>" + "The quick brown fox jumps over the lazy dog. " * 60 + "</p></article>"
    html = f"<html><head><title>t</title></head><body><ul>{menu}</ul><script>x()</script>{article}"
    assert len(menu) > 12_000
    body = extract(html.encode(), content_type="text/html").body
    assert "quick brown fox" in body and len(body) > 1000


def _timed(fn, *a, **kw):
    t = time.perf_counter()
    r = fn(*a, **kw)
    return r, time.perf_counter() - t


def test_hundred_thousand_nested_elements_is_fast() -> None:
    html = "<html><body>" + "<div>" * 100_000 + "deep text" + "</div>" * 100_000 + "</body></html>"
    ex, secs = _timed(extract, html.encode(), content_type="text/html")
    assert secs < 0.5
    assert ex.truncated  # 1.2 MB is over the byte cap


def test_unclosed_tags_and_scripts() -> None:
    html = "<html><body><p>start " + "<b><i><span class='x'" * 20_000 + " end"
    ex, secs = _timed(extract, html, content_type="text/html")
    assert secs < 0.5
    assert "start" in ex.body
    ex2 = extract(b"<body><p>before</p><script>var a = 1; " + b"x" * 200_000, content_type="text/html")
    assert "before" in ex2.body and "var a" not in ex2.text


def test_many_lone_angle_brackets_stay_linear() -> None:
    html = "<body>" + "< a" * 100_000
    _, secs = _timed(extract, html, content_type="text/html")
    assert secs < 0.5


def test_tag_meta_and_heading_scans_stay_linear() -> None:
    from classifier import extract as E

    n = 30_000  # a quadratic scan would take seconds
    for s in ("< a" * n, "<" * n + ">", ("<" + "x" * 20) * n + ">", "<a <b>" * n, "ț< a" * n):
        out, secs = _timed(E._strip_tags, s)
        assert secs < 0.5 and out == E._TAG.sub(" ", s)
    for head in ("<meta a>" * n, "<meta " * n, "<meta a=" + "b" * 1999 + ">" * n):
        tags, secs = _timed(E._meta_tags, head, 64)
        assert secs < 0.5 and len(tags) <= 64
    n = 20_000  # each unclosed heading is searched 400 characters on for its end
    for visible in ("<h1>" * n, "<h2>" + "x" * 399 + "<h3>" * n, "<img " * n, "<h1><img a>" * n):
        _, secs = _timed(E._headings_and_images, visible)
        assert secs < 0.5


def test_huge_attributes() -> None:
    html = ("<html><head><title>T</title><meta name='description' content='" + "d" * 2_000_000
            + "'></head><body><img alt='" + "a" * 1_000_000 + "'><p>ok text</p></body></html>")
    ex, secs = _timed(extract, html.encode(), content_type="text/html")
    assert secs < 0.5
    assert len(ex.text) < 6000


@pytest.mark.parametrize("blob", [
    b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 100,
    b"\x00\x01\x02\x03\x04\x05\x06\x07" * 1000,
    bytes(range(256)) * 400,
])
def test_binary_bodies_labelled_html(blob: bytes) -> None:
    ex = extract(blob, content_type="text/html")
    assert ex.binary
    assert ex.text == ""


def test_decompression_bomb_is_cut_at_cap() -> None:
    bomb = gzip.compress(b"<p>" + b"A" * (60 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 200_000
    (data, truncated), secs = _timed(decompress, bomb, "gzip", 64 * 1024)
    assert truncated and len(data) == 64 * 1024
    assert secs < 0.5
    ex, secs = _timed(extract, bomb, content_type="text/html", content_encoding="gzip")
    assert ex.truncated and secs < 1.0


@pytest.mark.parametrize("enc", ["br", "zstd", "deflate"])
def test_other_bombs_cut(enc: str) -> None:
    payload = b"B" * (30 * 1024 * 1024)
    blob = {"br": lambda: brotli.compress(payload, quality=5),
            "zstd": lambda: zstd.compress(payload),
            "deflate": lambda: zlib.compress(payload, 9)}[enc]()
    (data, truncated), secs = _timed(decompress, blob, enc, MAX_BYTES)
    assert truncated and len(data) == MAX_BYTES and secs < 1.0


@pytest.mark.parametrize("enc", ["gzip", "deflate", "br", "zstd", "gzip, br"])
def test_roundtrip_encodings(enc: str) -> None:
    body = "<html><title>Bună ziua</title><body><p>Știri și sănătate</p></body></html>".encode()
    blob = body
    for e in [x.strip() for x in enc.split(",")]:
        blob = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress,
                "zstd": zstd.compress}[e](blob)
    ex = extract(blob, content_type="text/html; charset=utf-8", content_encoding=enc)
    assert ex.title == "Bună ziua"
    assert "Știri și sănătate" in ex.body


def test_raw_deflate_and_corrupt_streams() -> None:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = c.compress(b"<body><p>raw deflate text</p></body>") + c.flush()
    assert "raw deflate text" in extract(raw, content_type="text/html", content_encoding="deflate").body
    assert extract(b"not gzip at all", content_type="text/html", content_encoding="gzip").text == ""


def test_wrong_declared_charset_falls_back() -> None:
    # Header claims UTF-8, bytes are cp1250 Romanian.
    body = "<html><body><p>Şcoala şi ţara: învăţământ în România</p></body></html>".encode("cp1250")
    ex = extract(body, content_type="text/html; charset=utf-8")
    assert ex.charset == "cp1250"
    assert "învăţământ" in ex.body


def test_charset_from_meta_and_bom() -> None:
    body = ('<html><head><meta charset="iso-8859-1"><title>Caf\xe9</title></head>'
            "<body>cr\xe8me br\xfbl\xe9e</body></html>").encode("latin-1")
    ex = extract(body, content_type="text/html")
    assert ex.title == "Café" and "crème brûlée" in ex.body
    u16 = "\ufeff<html><title>Ünïcode</title><body>wide text</body></html>".encode("utf-16")
    ex16 = extract(u16, content_type="text/html")
    assert ex16.title == "Ünïcode" and "wide text" in ex16.body


def test_bogus_charset_name() -> None:
    ex = extract("<body>héllo</body>".encode(), content_type="text/html; charset=x-no-such-thing")
    assert "héllo" in ex.body


def test_plain_text_and_none() -> None:
    assert extract(b"just words", content_type="text/plain").body == "just words"
    assert extract(None).text == ""
    assert extract(b"\x89PNG....", content_type="image/png").binary


@pytest.mark.parametrize("url,query", [
    ("https://www.google.com/search?q=free+casino+bonus&safe=off", "free casino bonus"),
    ("https://www.google.co.uk/search?q=%C8%99tiri", "știri"),
    ("https://www.bing.com/search?q=knife+fight", "knife fight"),
    ("https://duckduckgo.com/?q=how+to+vape&kp=-2", "how to vape"),
    ("https://yandex.ru/search/?text=test+query", "test query"),
    ("https://www.youtube.com/results?search_query=gore+video", "gore video"),
    ("https://www.ecosia.org/search?q=trees", "trees"),
    ("https://search.brave.com/search?q=brave+query", "brave query"),
    ("https://www.bbc.co.uk/search?q=news", None),
    ("https://www.google.com/maps/place/x", None),
    ("not a url at all", None),
    (None, None),
])
def test_search_query(url: str | None, query: str | None) -> None:
    assert search_query(url) == query
