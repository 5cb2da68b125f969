"""Safe-search rewrites on recorded request forms, per engine, including override attempts."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from policies.core import Profile, decide
from policies.safesearch import (
    bypass_evidence,
    engine_for,
    rewrite,
    safe_address,
    unsafe_search_hosts,
)


def q(path: str) -> list[tuple[str, str]]:
    return parse_qsl(path.partition("?")[2], keep_blank_values=True)


def run(host, path, *, headers=(), cookies=None, safe="strict", yt="strict", method="GET"):
    return rewrite(method, "https", host, path, list(headers), dict(cookies or {}), safe, yt)


# --- Google -------------------------------------------------------------------------------

GOOGLE_FORMS = [
    ("www.google.com", "/search?q=cats&sca_esv=5f0a1b&source=hp&ei=Zx3lZd&iflsig=AO6bgOg&safe=off"),
    ("www.google.de", "/search?q=katzen&tbm=isch&safe=images&hl=de"),
    ("www.google.co.uk", "/search?q=cats&SAFE=OFF&ssui=off"),
    ("www.google.com.br", "/complete/search?q=ca&cp=2&client=gws-wiz&xssi=t&hl=pt-BR"),
    ("google.com", "/webhp?hl=en"),
    ("www.google.fr", "/"),
]


@pytest.mark.parametrize("host,path", GOOGLE_FORMS)
def test_google_strict(host, path):
    rw = run(host, path)
    assert rw.engine == "google" and rw.path is not None
    pairs = q(rw.path)
    safe = [v for k, v in pairs if k.lower() == "safe"]
    ssui = [v for k, v in pairs if k.lower() == "ssui"]
    assert safe == ["active"] and ssui == ["on"]
    # Other parameters are kept in order.
    kept = [(k, v) for k, v in q(path) if k.lower() not in ("safe", "ssui")]
    assert [p for p in pairs if p[0].lower() not in ("safe", "ssui")] == kept
    assert rw.path.partition("?")[0] == path.partition("?")[0]


def test_google_strict_already_safe_is_unchanged():
    assert run("www.google.com", "/search?q=cats&safe=active&ssui=on").path is None


def test_google_moderate_strips_only_the_opt_out():
    rw = run("www.google.com", "/search?q=cats&safe=off", safe="moderate")
    assert rw.path == "/search?q=cats" and "removed safe=off" in rw.notes
    assert run("www.google.com", "/search?q=cats", safe="moderate").path is None


def test_google_off_and_other_google_services_untouched():
    assert not run("www.google.com", "/search?q=x&safe=off", safe="off").changed
    assert not run("mail.google.com", "/mail/u/0/?safe=off").changed
    assert not run("www.google.com", "/maps/place/Berlin").changed


# --- YouTube ------------------------------------------------------------------------------

YOUTUBE_HOSTS = ["www.youtube.com", "m.youtube.com", "youtubei.googleapis.com",
                 "youtube.googleapis.com", "www.youtube-nocookie.com"]


@pytest.mark.parametrize("host", YOUTUBE_HOSTS)
@pytest.mark.parametrize("level,value", [("strict", "Strict"), ("moderate", "Moderate")])
def test_youtube_restrict_header(host, level, value):
    rw = run(host, "/results?search_query=cats", safe="off", yt=level)
    assert rw.set_headers == (("YouTube-Restrict", value),)


def test_youtube_override_header_is_replaced_and_off_is_separate():
    rw = run("youtubei.googleapis.com", "/youtubei/v1/search?prettyPrint=false",
             headers=[("YouTube-Restrict", "None")], yt="strict", method="POST")
    assert rw.set_headers == (("YouTube-Restrict", "Strict"),)
    assert any("replaced YouTube-Restrict: None" in n for n in rw.notes)
    # YouTube is its own setting: safe search strict does not restrict YouTube when it is off.
    assert not run("www.youtube.com", "/watch?v=x", safe="strict", yt="off").changed
    assert not run("music.youtube.com", "/watch?v=x").changed


# --- Bing ---------------------------------------------------------------------------------

BING_COOKIE = "SRCHLANG=en&BRW=XW&BRH=M&CW=1280&CH=720&ADLT=OFF&DPR=1.0"


@pytest.mark.parametrize("host,path", [
    ("www.bing.com", "/search?q=cats&form=QBLH&sp=-1&adlt=off"),
    ("www.bing.com", "/images/search?q=cats&form=HDRSC2&first=1&ADLT=OFF"),
    ("edgeservices.bing.com", "/edgesvc/chat?q=cats"),
])
def test_bing_strict(host, path):
    rw = run(host, path, cookies={"SRCHHPGUSR": BING_COOKIE, "MUID": "0A1B"})
    assert [v for k, v in q(rw.path) if k.lower() == "adlt"] == ["strict"]
    assert rw.cookies == {"SRCHHPGUSR": BING_COOKIE.replace("ADLT=OFF", "ADLT=STRICT")}


def test_bing_moderate_and_cookie_without_adlt():
    rw = run("www.bing.com", "/search?q=cats", cookies={"SRCHHPGUSR": "SRCHLANG=en"},
             safe="moderate")
    assert q(rw.path) == [("q", "cats"), ("adlt", "moderate")]
    assert rw.cookies == {"SRCHHPGUSR": "SRCHLANG=en&ADLT=DEMOTE"}


# --- DuckDuckGo ---------------------------------------------------------------------------

@pytest.mark.parametrize("host,path", [
    ("duckduckgo.com", "/?q=cats&t=h_&ia=web&kp=-2"),
    ("duckduckgo.com", "/?t=h_&q=cats&iax=images&ia=images&kp=-1"),
    ("html.duckduckgo.com", "/html/?q=cats"),
    ("links.duckduckgo.com", "/d.js?q=cats&l=us-en&s=0&dl=en&ct=DE&kp=-2&vqd=4-123"),
])
def test_duckduckgo_strict(host, path):
    rw = run(host, path, cookies={"p": "-2", "ah": "us-en"})
    assert [v for k, v in q(rw.path) if k == "kp"] == ["1"]
    assert rw.cookies == {"p": "1"}


def test_duckduckgo_moderate():
    rw = run("duckduckgo.com", "/?q=cats&kp=-2", safe="moderate")
    assert q(rw.path) == [("q", "cats"), ("kp", "-1")]


# --- Yandex, Ecosia, Pixabay, Brave -------------------------------------------------------

@pytest.mark.parametrize("host", ["yandex.ru", "yandex.com", "www.yandex.com.tr", "ya.ru"])
def test_yandex_family(host):
    rw = run(host, "/search/?text=cats&lr=213&fyandex=0")
    assert q(rw.path) == [("text", "cats"), ("lr", "213"), ("fyandex", "1")]


ECFG = "a=0:as=1:cs=0:dt=pc:f=n:fr=0:fs=1:h=0:l=en:mc=en-us:nf=0:nt=0:t=1:tu=auto"


def test_ecosia_cookie():
    rw = run("www.ecosia.org", "/search?method=index&q=cats", cookies={"ECFG": ECFG})
    assert rw.path is None
    assert rw.cookies == {"ECFG": ECFG.replace("f=n", "f=y")}
    rw = run("www.ecosia.org", "/search?q=cats", cookies={"ECFG": ECFG}, safe="moderate")
    assert rw.cookies == {"ECFG": ECFG.replace("f=n", "f=i")}
    assert run("www.ecosia.org", "/search?q=cats").cookies == {"ECFG": "f=y"}
    assert not run("www.ecosia.org", "/search?q=cats", cookies={"ECFG": "f=y"}).changed


def test_pixabay():
    rw = run("pixabay.com", "/images/search/cats/?safesearch=false&order=ec")
    assert q(rw.path) == [("order", "ec"), ("safesearch", "true")]
    assert rw.path.startswith("/images/search/cats/?")
    assert not run("pixabay.com", "/static/img/logo.svg").changed


def test_brave():
    rw = run("search.brave.com", "/search?q=cats&source=web&safesearch=off",
             cookies={"safesearch": "off", "country": "de"})
    assert q(rw.path) == [("q", "cats"), ("source", "web")]
    assert rw.cookies == {"safesearch": "strict"}
    rw = run("search.brave.com", "/search?q=cats", safe="moderate")
    assert rw.path is None and rw.cookies == {"safesearch": "moderate"}


def test_off_changes_nothing_anywhere():
    for host, path in [("www.bing.com", "/search?q=x&adlt=off"), ("duckduckgo.com", "/?q=x&kp=-2"),
                       ("search.brave.com", "/search?q=x&safesearch=off"),
                       ("yandex.ru", "/search/?text=x&fyandex=0")]:
        assert not run(host, path, cookies={"safesearch": "off", "p": "-2"}, safe="off").changed


def test_unrelated_hosts_untouched():
    for host in ("www.example.com", "www.google-analytics.com", "bing.example.com",
                 "notduckduckgo.com", "www.google.com.evil.example"):
        assert engine_for(host) is None
        assert not run(host, "/search?q=x&safe=off&kp=-2&adlt=off").changed


# --- safe addresses and unlockable engines ------------------------------------------------

@pytest.mark.parametrize("host,safe,yt,expected", [
    ("www.google.com", "strict", "off", "forcesafesearch.google.com"),
    ("www.google.de", "strict", "off", "forcesafesearch.google.com"),
    ("www.google.de", "moderate", "off", None),
    ("www.bing.com", "strict", "off", "strict.bing.com"),
    ("edgeservices.bing.com", "strict", "off", "strict.bing.com"),
    ("duckduckgo.com", "strict", "off", "safe.duckduckgo.com"),
    ("yandex.ru", "strict", "off", "familysearch.yandex.ru"),
    ("www.ecosia.org", "moderate", "off", "strict-safe-search.ecosia.org"),
    ("pixabay.com", "strict", "off", "safesearch.pixabay.com"),
    ("www.youtube.com", "off", "strict", "restrict.youtube.com"),
    ("m.youtube.com", "strict", "moderate", "restrictmoderate.youtube.com"),
    ("youtubei.googleapis.com", "strict", "off", None),
    ("search.brave.com", "strict", "strict", None),
    ("www.example.com", "strict", "strict", None),
    ("www.bing.com", "off", "strict", None),
])
def test_safe_address(host, safe, yt, expected):
    assert safe_address(host, safe, yt) == expected


def test_unlockable_engines_are_bypass_for_children():
    hosts = unsafe_search_hosts()
    assert "www.startpage.com" in hosts and "www.google.com" not in hosts
    ev = bypass_evidence("www.startpage.com", "strict")
    assert ev is not None and ev.category == "bypass"
    assert decide(Profile("kid", 10), [ev]).blocked
    assert not decide(Profile("adult", 30), [ev]).blocked
    assert bypass_evidence("www.startpage.com", "off") is None
    assert bypass_evidence("www.google.com", "strict") is None
