"""Block-page links and the injected "report this page" button on 60 real pages."""

from __future__ import annotations

import html.parser
import re
import urllib.parse
from pathlib import Path

import pytest

from reporting.links import MARKER, block_links, inject_report_button, report_link_snippet

PAGES = sorted((Path(__file__).resolve().parents[3] / "shared/datasets/pages/readability")
               .glob("*.html"))


def _token(link: str, signer):
    return signer.verify(urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["t"][0],
                         urllib.parse.urlsplit(link).path.strip("/"))


@pytest.mark.parametrize("category", ["csam", "sexual", "violence", "hate"])
def test_reportable_blocks_get_a_signed_report_link(signer, category):
    links = block_links(url="https://bad.example/x", category=category, profile_name="ana",
                        reason="list ut1", signer=signer, language="ro")
    assert links.report_url is not None and links.report_url.startswith("http://kidgate.internal/report?t=")
    c = _token(links.report_url, signer)
    assert (c.url, c.category, c.profile, c.reason, c.language) == (
        "https://bad.example/x", category, "ana", "list ut1", "ro")


@pytest.mark.parametrize("category", ["gambling", "social", "offensive", "self_harm", None])
def test_other_blocks_get_no_report_link_but_can_ask(signer, category):
    links = block_links(url="https://x.example/", category=category, profile_name="ana",
                        signer=signer)
    assert links.report_url is None
    assert links.ask_url is not None and _token(links.ask_url, signer).action == "ask"


def test_absolute_blocks_cannot_ask(signer):
    assert block_links(url="https://x.example/", category="csam", profile_name="a",
                       signer=signer).ask_url is None
    assert block_links(url="https://x.example/", category="malware", profile_name="a",
                       signer=signer).ask_url is None


def test_self_harm_shows_the_helpline(signer):
    links = block_links(url="https://x.example/", category="self_harm", profile_name="a",
                        signer=signer)
    assert links.helpline is not None and links.helpline.number == "116 111"
    assert block_links(url="https://x.example/", category="self_harm", profile_name="a",
                       secret=b"s" * 32, helpline="0800 1111").helpline.number == "0800 1111"
    assert block_links(url="https://x.example/", category="drugs", profile_name="a",
                       signer=signer).helpline is None


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x",
                                 "https://x.example/" + "a" * 5000])
def test_unreportable_urls_get_no_links(signer, url):
    links = block_links(url=url, category="sexual", profile_name="a", signer=signer)
    assert links.report_url is None and links.ask_url is None


def test_snippet_is_one_anchor_without_script(signer):
    snippet = report_link_snippet(url="https://x.example/", profile_name="ana", signer=signer,
                                  language="ro")
    assert snippet is not None and snippet.isascii()
    assert snippet.startswith("<a ") and snippet.endswith("</a>") and snippet.count("<") == 2
    assert "script" not in snippet.lower() and "onclick" not in snippet.lower()
    assert 'rel="noopener noreferrer nofollow"' in snippet and "Raporteaz&#259;" in snippet
    href = re.search(r'href="([^"]+)"', snippet)[1]  # type: ignore[index]
    assert _token(href.replace("&amp;", "&"), signer).category is None


class _Collect(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors = 0
        self.stack_at_anchor: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        if tag == "a" and MARKER in dict(attrs):
            self.anchors += 1
            self.stack_at_anchor = list(self.stack)
        if tag in ("html", "body", "script", "style", "template", "textarea"):
            self.stack.append(tag)

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()


def test_pages_are_present():
    assert len(PAGES) == 60


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_button_injected_once_and_page_otherwise_unchanged(page, signer):
    original = page.read_bytes()
    snippet = report_link_snippet(url="https://x.example/", profile_name="ana", signer=signer)
    assert snippet is not None
    out = inject_report_button(original, "utf-8", snippet)
    assert out.count(MARKER.encode()) == 1
    assert out.replace(snippet.encode(), b"", 1) == original
    parser = _Collect()
    parser.feed(out.decode("utf-8", "replace"))
    parser.close()
    assert parser.anchors == 1
    # Not inside a script, style, template or textarea (where it would be text, not a link).
    assert not set(parser.stack_at_anchor) & {"script", "style", "template", "textarea"}
    # Idempotent: a second pass (e.g. a second proxy worker) does not add another.
    assert inject_report_button(out, "utf-8", snippet) == out


SNIPPET = '<a data-kidgate-report="1" href="http://kidgate.internal/report?t=x">R</a>'


def test_last_body_end_outside_scripts_and_comments():
    page = (b"<html><body><script>var s = '</body>';</script><p>x</p>"
            b"<!-- </body> --></body></html>")
    out = inject_report_button(page, "utf-8", SNIPPET)
    assert out == page.replace(b"--></body>", b"-->" + SNIPPET.encode() + b"</body>")


def test_no_body_end_falls_back_to_html_end_or_end():
    assert inject_report_button(b"<html><p>x</html>", None, SNIPPET) == \
        b"<html><p>x" + SNIPPET.encode() + b"</html>"
    assert inject_report_button(b"<!DOCTYPE html><p>x", None, SNIPPET).endswith(SNIPPET.encode())


@pytest.mark.parametrize("body", [b"", b"<p>fragment</p>", b"\x00\xff\xfe garbage", b"{}"])
def test_fragments_and_garbage_are_left_alone(body):
    assert inject_report_button(body, "utf-8", SNIPPET) == body


def test_legacy_single_byte_charset_bytes_untouched():
    page = "<html><body>Ştiri în română</body></html>".encode("iso-8859-2")
    out = inject_report_button(page, "iso-8859-2", SNIPPET)
    assert out == page.replace(b"</body>", SNIPPET.encode() + b"</body>")


def test_utf16_with_bom_round_trips():
    page = "\ufeff<html><body>ă</body></html>".encode("utf-16-be")
    out = inject_report_button(page, "utf-16", SNIPPET)
    assert out.decode("utf-16-be") == "\ufeff<html><body>ă" + SNIPPET + "</body></html>"


def test_utf16_without_bom_is_left_alone():
    page = "<html><body>x</body></html>".encode("utf-16-le")
    assert inject_report_button(page, "utf-16", SNIPPET) == page


def test_classifier_features_never_reach_the_token(signer):
    links = block_links(url="https://x.example/", category="hate", profile_name="a",
                        reason="hate (score 0.88); features: word1, word2", signer=signer)
    assert _token(links.report_url, signer).reason == "hate (score 0.88)"


@pytest.mark.parametrize("tail", [b"<script>w('</body>')</script></html>",
                                  b"<!-- old </body> --></html>",
                                  b"<template></body></template></html>"])
def test_body_end_inside_a_later_script_comment_or_template_is_skipped(tail):
    page = b"<html><body><p>x</p></body>" + tail
    out = inject_report_button(page, "utf-8", SNIPPET)
    assert out == b"<html><body><p>x</p>" + SNIPPET.encode() + b"</body>" + tail
