"""The engine reads host and request target from a URL without urlsplit for every request;
the quick reading must give exactly what urlsplit gives, for ordinary and odd URLs alike."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from kidgate.engine import _host_and_target, host_of


def _by_urlsplit(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return "", ""
    return host, f"{parts.path}?{parts.query}" if parts.query else parts.path


URLS = [
    "http://www.garden-news.test/fresh/00-otters.html?id=kidgate0-1-5",
    "https://WWW.Example.COM./Path/?Q=1#frag", "https://example.com", "https://example.com?",
    "https://example.com/x?", "https://example.com/x?a=b?", "https://example.com?a=1",
    "https://example.com#top", "https://user:pw@Example.com:8443/p?q", "http://[::1]:8080/x",
    "http://[2001:DB8::1]/dns-query?dns=AAAB", "http://1.2.3.4/", "http://example.com:80/",
    "http://ex ample.com/x", " http://example.com/x", "http://example.com/a\tb",
    "http://example.com\n/x", "HTTP://EXAMPLE.com/A", "ftp://files.example/x",
    "http://[::1/x", "example.com/x", "", "http://", "http:///x", "http://xn--bcher-kva.example/",
    "http://exämple.com/ü?ä=ö", "http://example.com/%2e%2e/?next=http://bad.example/",
]


@pytest.mark.parametrize("url", URLS)
def test_host_and_target_are_urlsplits(url: str) -> None:
    assert _host_and_target(url) == _by_urlsplit(url)
    assert host_of(url) == _by_urlsplit(url)[0]
