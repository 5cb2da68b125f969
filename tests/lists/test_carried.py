"""Addresses carried inside translation proxies, web caches, archives, readers, redirectors."""

from __future__ import annotations

import pytest

from lists.carried import MAX_CARRIED, carried_urls


@pytest.mark.parametrize("url, carried", [
    ("https://translate.google.com/translate?sl=auto&tl=en&u=https://bad.example/x",
     "https://bad.example/x"),
    ("https://translate.google.com/translate?u=http%3A%2F%2Fbad.example%2Fx", "http://bad.example/x"),
    ("https://webcache.googleusercontent.com/search?q=cache:bad.example/videos",
     "bad.example/videos"),
    ("https://webcache.googleusercontent.com/search?q=cache:AbC_12-x:https://bad.example/",
     "https://bad.example/"),
    ("https://www-bad-example.translate.goog/view?_x_tr_sl=auto", "https://www.bad.example/view"),
    ("https://my--bad-site-com.translate.goog/", "https://my-bad.site.com/"),
    ("https://web.archive.org/web/2020*/https://bad.example/", "https://bad.example/"),
    ("https://web.archive.org/web/20200101000000id_/bad.example/p", "bad.example/p"),
    ("https://archive.ph/newest/https://bad.example/", "https://bad.example/"),
    ("https://archive.ph/bad.example", "bad.example"),
    ("https://r.jina.ai/https://bad.example", "https://bad.example"),
    ("https://12ft.io/bad.example/x", "bad.example/x"),
    ("https://www.google.com/url?q=https%3A%2F%2Fbad.example%2F&sa=D", "https://bad.example/"),
    ("https://www.google.com/url?q=https%253A%252F%252Fbad.example%252F", "https://bad.example/"),
    ("https://l.facebook.com/l.php?u=https%3A%2F%2Fbad.example%2F", "https://bad.example/"),
])
def test_services_carry_the_site(url: str, carried: str) -> None:
    assert carried in carried_urls(url)


def test_services_inside_services_are_unwrapped() -> None:
    url = ("https://translate.google.com/translate?u="
           "https://webcache.googleusercontent.com/search?q=cache:bad.example/")
    assert "bad.example/" in carried_urls(url)


@pytest.mark.parametrize("url", [
    "https://en.wikipedia.org/wiki/Otter", "https://example.com/search?q=cats",
    "https://archive.ph/", "https://12ft.io/", "https://translate.goog/",
    "https://web.archive.org/web/2020*/", "https://example.com/?next=/account",
])
def test_ordinary_addresses_carry_nothing(url: str) -> None:
    assert carried_urls(url) == []


def test_the_number_of_carried_addresses_is_bounded() -> None:
    url = "https://x.example/?" + "&".join(f"u{i}=https://s{i}.example/" for i in range(100))
    assert len(carried_urls(url)) == MAX_CARRIED
    assert carried_urls("https://x.example/?u=" + "https://" * 5000) is not None


@pytest.mark.parametrize("url", [
    "https://www.garden-news.test/fresh/00-otters.html?id=kidgate0-1-5",
    "HTTPS://EXAMPLE.COM/Path?A=B", "http://httpbin.example/get?x=1", "//cdn.example/x.js",
    "https://x.example/?q=CACHE:bad.example", "https://x.example/?u=HTTPS://bad.example",
    "https://x.example/?u=%68ttps%3A%2F%2Fbad.example", "https://sub.archive.ph/bad.example",
    "https://x.example/a+b?c=d+e", "example.com/?next=http://bad.example",
    "https://a-b.translate.goog/x", "https://x.example/\\http://bad.example",
])
def test_the_quick_answer_for_ordinary_addresses_agrees_with_parsing(url: str) -> None:
    """The quick check for addresses that carry nothing must never hide a carried site."""
    from lists import carried
    full = []
    seen, frontier = [], [url]
    for _ in range(carried.MAX_DEPTH):  # the same walk as carried_urls, without the quick check
        nxt = [c.strip() for u in frontier for c in carried._direct(u)]
        nxt = [c for c in nxt if c and c not in seen and c != url]
        seen += nxt
        if not nxt:
            break
        frontier = nxt
    full = seen[:MAX_CARRIED]
    assert carried_urls(url) == full
    if carried._carries_nothing(url):
        assert full == []
