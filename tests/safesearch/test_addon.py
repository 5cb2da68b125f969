"""The SafeSearch addon driven with mitmproxy's test flows."""

from __future__ import annotations

from mitmproxy.proxy import server_hooks
from mitmproxy.test import taddons, tflow, tutils

from policies.core import Profile
from proxy_addons.safesearch import APPLIED, PROFILE, SafeSearch

KID = Profile("kid", 10, safe_search="strict", youtube="moderate",
              school={"google_allowed_domains": ["school.example"],
                      "block_consumer_microsoft": True})
ADULT = Profile("adult", 40, safe_search="off", youtube="off")


def flow(host: str, path: str, profile: Profile | None, headers=(), method="GET"):
    f = tflow.tflow(req=tutils.treq(method=method.encode(), scheme=b"https", host=host, port=443,
                                     path=path.encode(), headers=[(b"Host", host.encode()),
                                                                  *headers]))
    if profile is not None:
        f.metadata[PROFILE] = profile
    return f


def test_google_search_rewritten_for_a_child():
    addon = SafeSearch()
    with taddons.context(addon):
        f = flow("www.google.com", "/search?q=cats&safe=off", KID)
        addon.request(f)
        assert f.request.query.get_all("safe") == ["active"]
        assert f.request.query.get_all("ssui") == ["on"]
        assert f.request.headers["X-GoogApps-Allowed-Domains"] == "school.example"
        assert "removed safe=off" in f.metadata[APPLIED]


def test_youtube_header_cookie_and_override():
    addon = SafeSearch()
    with taddons.context(addon):
        f = flow("www.youtube.com", "/results?search_query=x", KID,
                 headers=[(b"YouTube-Restrict", b"off")])
        addon.request(f)
        assert f.request.headers.get_all("YouTube-Restrict") == ["Moderate"]


def test_cookies_are_rewritten():
    addon = SafeSearch()
    with taddons.context(addon):
        f = flow("search.brave.com", "/search?q=x&safesearch=off", KID,
                 headers=[(b"Cookie", b"safesearch=off; country=de")])
        addon.request(f)
        assert f.request.cookies["safesearch"] == "strict"
        assert f.request.cookies["country"] == "de"
        assert "safesearch" not in f.request.query


def test_inner_request_uses_the_host_header():
    """Inside a tunnel whose connection went to the safe address, the Host header names the engine."""
    addon = SafeSearch()
    with taddons.context(addon):
        f = flow("forcesafesearch.google.com", "/search?q=x", KID)
        f.request.headers["Host"] = "www.google.com"
        addon.request(f)
        assert f.request.query.get_all("safe") == ["active"]


def test_no_profile_or_adult_or_blocked_untouched():
    addon = SafeSearch()
    with taddons.context(addon):
        for f in (flow("www.google.com", "/search?q=x&safe=off", None),
                  flow("www.google.com", "/search?q=x&safe=off", ADULT)):
            addon.request(f)
            assert f.request.path == "/search?q=x&safe=off"
            assert APPLIED not in f.metadata
        f = flow("www.google.com", "/search?q=x&safe=off", KID)
        f.response = tutils.tresp(status_code=403)
        addon.request(f)
        assert f.request.path == "/search?q=x&safe=off"


def test_option_turns_rewrites_off():
    addon = SafeSearch()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, kidgate_safesearch=False)
        f = flow("www.google.com", "/search?q=x&safe=off", KID)
        addon.request(f)
        assert f.request.path == "/search?q=x&safe=off"


def test_school_header_only_on_its_host():
    addon = SafeSearch()
    with taddons.context(addon):
        f = flow("login.live.com", "/login.srf", KID)
        addon.request(f)
        assert f.request.headers["sec-Restrict-Tenant-Access-Policy"] == "restrict-msa"
        g = flow("www.example.com", "/", KID, headers=[(b"X-GoogApps-Allowed-Domains", b"x")])
        addon.request(g)
        assert "sec-Restrict-Tenant-Access-Policy" not in g.request.headers
        assert g.request.headers["X-GoogApps-Allowed-Domains"] == "x"  # not ours to touch


def _connect(addon: SafeSearch, address, sni=None, client=None):
    client = client or tflow.tclient_conn()
    server = tflow.tserver_conn()
    server.address = address
    server.sni = sni
    data = server_hooks.ServerConnectionHookData(client=client, server=server)
    addon.server_connect(data)
    return server


def test_server_connect_maps_to_safe_address_keeping_the_name():
    addon = SafeSearch(resolve_profile=lambda client: KID)
    with taddons.context(addon):
        s = _connect(addon, ("www.google.com", 443))
        assert s.address == ("forcesafesearch.google.com", 443)
        assert s.sni == "www.google.com"
        s = _connect(addon, ("www.youtube.com", 443))
        assert s.address == ("restrictmoderate.youtube.com", 443)
        s = _connect(addon, ("142.250.1.1", 443), sni="www.bing.com")  # transparent mode
        assert s.address == ("strict.bing.com", 443)
        client = tflow.tclient_conn()
        client.sni = None
        s = _connect(addon, ("142.250.1.1", 443), client=client)  # no name yet: nothing to map
        assert s.address == ("142.250.1.1", 443)
        client.sni = "www.youtube.com"  # transparent, lazy: the ClientHello named the host
        s = _connect(addon, ("142.250.1.1", 443), client=client)
        assert s.address == ("restrictmoderate.youtube.com", 443)
        s = _connect(addon, ("www.example.com", 443))
        assert s.address == ("www.example.com", 443)


def test_server_connect_uses_profile_seen_on_requests_from_the_client():
    addon = SafeSearch()
    with taddons.context(addon):
        client = tflow.tclient_conn()
        assert _connect(addon, ("www.google.com", 443), client=client).address \
            == ("www.google.com", 443)  # profile not known yet
        f = flow("www.example.com", "/", ADULT)
        f.client_conn = client
        addon.request(f)
        assert _connect(addon, ("www.google.com", 443), client=client).address \
            == ("www.google.com", 443)  # adult: safe search off
        f = flow("www.example.com", "/", KID)
        f.client_conn = client
        addon.request(f)
        assert _connect(addon, ("www.google.com", 443), client=client).address \
            == ("forcesafesearch.google.com", 443)


def test_server_connect_option_and_broken_resolver():
    def broken(client):
        raise RuntimeError("boom")
    addon = SafeSearch(resolve_profile=broken)
    with taddons.context(addon):
        assert _connect(addon, ("www.google.com", 443)).address == ("www.google.com", 443)
    addon = SafeSearch(resolve_profile=lambda c: KID)
    with taddons.context(addon) as tctx:
        tctx.configure(addon, kidgate_safe_address=False)
        assert _connect(addon, ("www.google.com", 443)).address == ("www.google.com", 443)
