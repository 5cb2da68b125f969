"""Every normalisation rule: lists and requests must meet in the same canonical form."""

from __future__ import annotations

import pytest

from lists.normalize import InvalidURL, normalize_host, normalize_url, path_prefixes


@pytest.mark.parametrize(("url", "host"), [
    ("HTTP://WWW.Example.COM/", "www.example.com"),                 # case
    ("http://example.com./x", "example.com"),                       # trailing dot
    ("http://bücher.de/", "xn--bcher-kva.de"),                      # IDN -> punycode
    ("http://BÜCHER.de/", "xn--bcher-kva.de"),
    ("http://good.com@bad.com/", "bad.com"),                        # userinfo
    ("http://user:pw@good.com:x@bad.com/", "bad.com"),
    ("http://good.com%40bad.com/", None),                           # not userinfo: invalid host
    ("http://3232235777/", "192.168.1.1"),                          # IPv4 decimal
    ("http://0300.0250.01.01/", "192.168.1.1"),                     # octal
    ("http://0xC0.0xa8.0x1.0x1/", "192.168.1.1"),                   # hex
    ("http://0xc0a80101/", "192.168.1.1"),
    ("http://192.168.257/", "192.168.1.1"),                         # short forms
    ("http://127.1/", "127.0.0.1"),
    ("http://192.168.1.1./", "192.168.1.1"),
    ("http://[2001:DB8:0:0::1]/", "2001:db8::1"),                   # IPv6 literal
    ("http://[::ffff:192.168.1.1]/", "192.168.1.1"),                # IPv4-mapped IPv6
    ("http://ex%61mple.com/", "example.com"),                       # escapes in the host
    ("example.com/page", "example.com"),                            # no scheme
    ("  http://exa\tmple.com/\n", "example.com"),                   # tabs and newlines removed
    ("http:\\\\example.com\\path", "example.com"),                  # backslashes
    ("http:example.com/a", "example.com"),                          # no slashes (WHATWG)
    ("https:/x.com", "x.com"),
    ("https:///\\x.com", "x.com"),
    ("example.com:8080/p", "example.com"),                          # host:port, no scheme
    ("//x.com/y", "x.com"),                                         # scheme-relative
])
def test_host(url: str, host: str | None) -> None:
    if host is None:
        with pytest.raises(InvalidURL):
            normalize_url(url)
        return
    assert normalize_url(url).host == host


@pytest.mark.parametrize(("url", "port"), [
    ("http://example.com:80/", None), ("https://example.com:443/", None),
    ("http://example.com:443/", 443), ("https://example.com:8443/", 8443),
    ("https://[::1]:443/", None), ("http://[::1]:8080/", 8080),
])
def test_default_ports(url: str, port: int | None) -> None:
    assert normalize_url(url).port == port


@pytest.mark.parametrize(("url", "path"), [
    ("http://e.com/%62%61d/", "/bad/"),               # unreserved escapes decoded
    ("http://e.com/a%2Fb", "/a%2Fb"),                 # encoded slash stays encoded
    ("http://e.com/a%2fb", "/a%2Fb"),                 # ...in upper-case hex
    ("http://e.com/%2562", "/%2562"),                 # one decoding pass only
    ("http://e.com/straße", "/stra%C3%9Fe"),          # non-ASCII percent-encoded
    ("http://e.com/stra%c3%9fe", "/stra%C3%9Fe"),     # ...same as the encoded form
    ("http://e.com/a b", "/a%20b"),
    ("http://e.com/a/./b/../c", "/a/c"),              # dot segments
    ("http://e.com//a///b", "/a/b"),                  # repeated slashes
    ("http://e.com", "/"),
    ("http://e.com/x#frag", "/x"),                    # fragment dropped
])
def test_path(url: str, path: str) -> None:
    assert normalize_url(url).path == path


def test_query_and_match_text() -> None:
    n = normalize_url("http://E.com/Search?Q=1#x")
    assert (n.path, n.query, n.match_path) == ("/Search", "Q=1", "/search")
    assert n.match_text == "e.com/search?q=1"
    assert str(n) == "http://e.com/Search?Q=1"


@pytest.mark.parametrize("bad", [
    "http://1.2.3.256/", "http://1.2.3.4.5/", "http://0x100.1.1.1/", "http://-bad-.com/",
    "http://a..b.com/", "http:///", "http://?x", "http://[::1/", "http://[zz::1]/",
    "http://e.com:99999/", "http://e.com:x/", "http://" + "a" * 64 + ".com/",
    "http://" + ".".join(["abcdefgh"] * 40) + "/", "http://exa mple.com/",
])
def test_invalid(bad: str) -> None:
    with pytest.raises(InvalidURL):
        normalize_url(bad)


def test_normalize_host() -> None:
    assert normalize_host("WWW.Example.COM.") == ("www.example.com", False)
    assert normalize_host("[2001:db8::1]") == ("2001:db8::1", True)
    assert normalize_host("2001:DB8::1") == ("2001:db8::1", True)
    assert normalize_host("017700000001") == ("127.0.0.1", True)
    assert normalize_host("1.2.3.4") == ("1.2.3.4", True)
    # A last label that is not a number makes a domain, even with numeric labels before it.
    assert normalize_host("1.2.3.com") == ("1.2.3.com", False)


def test_path_prefixes() -> None:
    assert path_prefixes("/") == []
    assert path_prefixes("/a") == ["/a"]
    assert path_prefixes("/a/b/c.html") == ["/a", "/a/b", "/a/b/c.html"]
    assert path_prefixes("/a/b/") == ["/a", "/a/b"]
    assert path_prefixes("/a", "Q=1") == ["/a", "/a?q=1"]
    assert path_prefixes("/", "q=1") == ["/?q=1"]
