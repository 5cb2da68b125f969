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
