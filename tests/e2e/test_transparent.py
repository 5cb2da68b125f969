"""End to end in mitmproxy's transparent mode, as on a home or school gateway.

Real network namespaces (tests/support/netns.py): devices with no proxy setting browse to web
servers behind a gateway; iptables on the gateway redirects TCP ports 80 and 443 arriving from
the LAN to kidgate (``--mode transparent``), which reads each connection's original
destination from the redirect. The gateway does not forward, so every answer a device gets
came through kidgate.
"""

from __future__ import annotations

import html
import re
import socket
import sys
import textwrap

import pytest

from tests.support import netns
from tests.support.netns import DEVICES, GATEWAY_LAN, WEB, mac_of
from tests.support.proxy import Site, build_test_lists, make_tls, run_proxy

pytestmark = pytest.mark.e2e

PAGE = (b"<!doctype html><html><head><title>Garden</title></head><body>"
        b"<p>How to grow tomatoes in a small garden.</p></body></html>")
BETS = b"<!doctype html><html><body><p>casino upstream page</p></body></html>"

# The kid's tablet is known by its address, the teen's phone by its MAC address (kidgate runs
# on the gateway, on the devices' own LAN); any other device gets the default profile.
CONFIG = textwrap.dedent(f"""\
    default_profile: family
    passthrough: [bank.test]
    profiles:
      kid: {{age: 10, deny: [denied.test, bank.test]}}
      teen: {{age: 15, deny: [bank.test]}}
      family: {{age: 40}}
    devices:
      - {{ip: {DEVICES["kid"]}, profile: kid, name: kids-tablet}}
      - {{mac: "{mac_of(DEVICES["phone"])}", profile: teen, name: teen-phone}}
    """)

LISTS = {"gambling": ["casino.test"], "sexual": ["adult.test"]}


@pytest.fixture(scope="module")
def tls_material(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("tls"), ["secure.test", "casino.test", "bank.test"])


@pytest.fixture(scope="module")
def web(lab, tls_material):
    """Ports 80 and 443 of the web namespace's address, as a site on the internet would be."""
    _, ctx = tls_material

    def page(h):
        body = BETS if h.headers.get("Host", "").startswith("casino.test") else PAGE
        return 200, {"Content-Type": "text/html; charset=utf-8"}, body
    pages = {"/": page, "/play": page, "/search": page}
    with netns.inside(lab.web):  # the listening sockets belong to the web namespace
        plain = Site(dict(pages), host=WEB, port=80).start()
        secure = Site(dict(pages), host=WEB, port=443, tls=ctx).start()
    yield plain, secure
    plain.stop()
    secure.stop()


@pytest.fixture(scope="module")
def gateway(lab, web, tls_material, tmp_path_factory):
    """kidgate in the gateway namespace, transparent, behind the iptables redirect."""
    tmp = tmp_path_factory.mktemp("gateway")
    ca, _ = tls_material
    with run_proxy(tmp, config=CONFIG, classifier=False, lists=build_test_lists(tmp, LISTS),
                   upstream_ca=ca, netns=lab.gateway, listen_host=GATEWAY_LAN,
                   options=["--mode", "transparent"]) as proxy:
        rules = lab.redirect([80, 443], proxy.port)
        assert len(rules) == 2, rules
        yield proxy


@pytest.fixture(scope="module")
def device_ca(lab, gateway, tmp_path_factory):
    """What a parent installs on each device: kidgate's CA, downloaded from mitm.it through
    the redirect. The devices trust nothing else, so a page that loads was re-encrypted by
    kidgate."""
    pem = get(lab, "http://mitm.it/cert/pem")
    assert pem.status == 200 and pem.body == gateway.ca_cert.read_text()
    path = tmp_path_factory.mktemp("device") / "kidgate-ca.pem"
    path.write_text(pem.body)
    return path


def get(lab, url: str, *, device: str = "kid", ip: str = WEB, cafile=None) -> netns.Response:
    """``device`` opens ``url``; ``ip`` is what its DNS would have answered for the host."""
    return netns.fetch(lab.device(device), url, ip=ip, cafile=cafile)


def test_no_path_to_the_web_but_kidgate(lab, web):
    """A web server on a port that is not redirected cannot be reached: the gateway does not
    forward, so every answer in these tests came through kidgate."""
    with netns.inside(lab.web):
        server = socket.create_server((WEB, 8081))
    try:
        proc = netns.run(sys.executable, "-c",
                         f"import socket; socket.create_connection(('{WEB}', 8081), 1)",
                         ns=lab.device("kid"), check=False)
    finally:
        server.close()
    assert proc.returncode != 0 and ("timed out" in proc.stderr or "unreachable" in proc.stderr), \
        proc.stderr


def test_allowed_page_comes_from_the_upstream(lab, web, gateway):
    plain, _ = web
    before = len(plain.requests)
    r = get(lab, "http://garden.test/")
    assert r.status == 200, r.body[:300]
    assert r.body == PAGE.decode()
    assert "x-kidgate-category" not in r.headers
    assert len(plain.requests) == before + 1
    assert plain.requests[-1][2].get("Host") == "garden.test"
    row = gateway.decision("garden.test", "kids-tablet")
    assert row["action"] == "allow" and row["profile"] == "kid"


def test_listed_host_gets_block_page_and_upstream_is_never_contacted(lab, web, gateway):
    plain, _ = web
    before = plain.connections
    r = get(lab, "http://casino.test/play")
    assert r.status == 403, r.body[:300]
    assert r.headers["x-kidgate-category"] == "gambling"
    assert "This page is blocked" in r.body and 'data-category="gambling"' in r.body
    # Not even a TCP connection: the lazy connection strategy decides before dialling.
    assert plain.connections == before


def test_profile_follows_the_real_client_address(lab, web, gateway):
    """The same request from another device on the LAN gets the default (adult) profile."""
    plain, _ = web
    get(lab, "http://casino.test/play")
    r = get(lab, "http://casino.test/play", device="guest")
    assert r.status == 200 and r.body == BETS.decode()
    assert plain.requests[-1][2].get("Host") == "casino.test"
    kid = gateway.decision("casino.test", "kids-tablet")
    guest = gateway.decision("casino.test", DEVICES["guest"])
    assert (kid["profile"], kid["action"]) == ("kid", "block")
    assert (guest["profile"], guest["action"]) == ("family", "allow")


def test_profile_deny_entry(lab, web, gateway):
    plain, _ = web
    before = plain.connections
    kid = get(lab, "http://www.denied.test/")
    guest = get(lab, "http://www.denied.test/", device="guest")
    assert kid.status == 403 and "deny list (denied.test)" in kid.body
    assert guest.status == 200
    assert plain.connections == before + 1  # the guest's request only


def test_device_known_by_mac_address_from_its_first_request(lab, web, gateway):
    """A device listed by MAC is recognised on its very first request, also when kidgate read
    the gateway's neighbour table a moment before the device joined the network."""
    assert get(lab, "http://garden.test/", device="guest").status == 200  # reads the table
    r = get(lab, "http://casino.test/", device="phone")  # the phone's first packet ever
    assert r.status == 403 and 'data-category="gambling"' in r.body
    row = gateway.decision("casino.test", "teen-phone")
    assert (row["profile"], row["action"]) == ("teen", "block")


def test_safe_search_is_forced_for_the_child_only(lab, web, gateway):
    plain, _ = web
    assert get(lab, "http://www.google.com/search?q=cats").status == 200
    kid_path = plain.requests[-1][1]
    assert get(lab, "http://www.google.com/search?q=cats", device="guest").status == 200
    guest_path = plain.requests[-1][1]
    assert "safe=active" in kid_path and kid_path.startswith("/search?q=cats")
    assert guest_path == "/search?q=cats"


def test_internal_pages_on_the_gateway_address(lab, web, gateway):
    """kidgate.internal works when the LAN's DNS answers it with the gateway's address:
    nothing listens on the gateway's port 80, so only kidgate can answer."""
    home = get(lab, "http://kidgate.internal/", ip=GATEWAY_LAN)
    assert home.status == 200 and "kidgate is looking after this network" in home.body
    blocked = get(lab, "http://casino.test/")
    links = re.findall(r'href="(http://kidgate\.internal/ask\?[^"]+)"', blocked.body)
    assert links, blocked.body[:2000]
    ask = get(lab, html.unescape(links[0]), ip=GATEWAY_LAN)
    assert ask.status == 200 and "Ask for access" in ask.body


def test_https_intercepted_with_kidgates_certificate(lab, web, gateway, device_ca):
    _, secure = web
    before = len(secure.requests)
    ok = get(lab, "https://secure.test/", cafile=device_ca)
    assert ok.status == 200 and ok.body == PAGE.decode()
    assert len(secure.requests) == before + 1
    assert secure.requests[-1][2].get("Host") == "secure.test"

    before = secure.connections
    blocked = get(lab, "https://casino.test/", cafile=device_ca)
    assert blocked.status == 403 and 'data-category="gambling"' in blocked.body
    assert secure.connections == before


def test_passthrough_host_is_not_decrypted_unless_the_device_may_not_see_it(
        lab, web, gateway, device_ca, tls_material):
    """A pass-through host keeps the site's own certificate for a device allowed to see it,
    and shows the block page to one whose profile denies it, whether the device is known by
    its address or by its MAC address."""
    upstream_ca, _ = tls_material
    _, secure = web
    before = secure.connections
    ok = get(lab, "https://bank.test/", device="guest", cafile=upstream_ca)
    assert ok.status == 200 and ok.body == PAGE.decode()
    for device in ("kid", "phone"):
        r = get(lab, "https://bank.test/", device=device, cafile=device_ca)
        assert r.status == 403 and "deny list (bank.test)" in r.body, device
    assert secure.connections == before + 1  # the guest's connection only


# -- regressions that need no namespaces ---------------------------------------------------------
ARP_HEAD = "IP address       HW type     Flags       HW address            Mask     Device\n"


def _arp_line(ip: str) -> str:
    return f"{ip:<16} 0x1         0x2         {mac_of(ip)}     *        br0\n"


def test_arp_table_sees_a_device_that_joined_since_the_last_read(tmp_path):
    """The cache used to answer "unknown" for 30 s to a device that joined after a read, so
    a child's device listed by MAC got the default profile for its first requests."""
    from kidgate.devices import ArpTable
    arp = tmp_path / "arp"
    arp.write_text(ARP_HEAD + _arp_line(DEVICES["guest"]))
    table = ArpTable(arp, ttl=3600, miss_ttl=3600)
    assert table.mac(DEVICES["guest"]) == mac_of(DEVICES["guest"])
    arp.write_text(ARP_HEAD + _arp_line(DEVICES["guest"]) + _arp_line(DEVICES["phone"]))
    assert table.mac(DEVICES["phone"]) == mac_of(DEVICES["phone"])
    # An address that is not on the LAN does not make every request re-read the table.
    assert table.mac("10.9.9.9") is None
    arp.write_text(arp.read_text() + _arp_line("10.9.9.9"))
    assert table.mac("10.9.9.9") is None
    assert ArpTable(arp, ttl=3600, miss_ttl=0).mac("10.9.9.9") == mac_of("10.9.9.9")


def test_connections_without_a_request_use_the_mac_address_too(tmp_path):
    """Pass-through TLS decisions and safe addresses used the IP address only, so a device
    listed by MAC got the default profile there (a child's denied pass-through host was
    passed through undecrypted)."""
    from types import SimpleNamespace

    from kidgate.devices import ArpTable, DeviceResolver
    from policies import config
    from proxy_addons.addon import profile_of
    from proxy_addons.runtime import KidgateRuntime
    arp = tmp_path / "arp"
    arp.write_text(ARP_HEAD + _arp_line(DEVICES["phone"]))
    runtime = KidgateRuntime()
    cfg = config.parse(CONFIG)
    runtime.current = SimpleNamespace(config=cfg)
    runtime.devices = DeviceResolver(cfg, ArpTable(arp))
    assert runtime.who(DEVICES["phone"])[0].name == "teen"
    assert runtime.who(DEVICES["kid"])[0].name == "kid"
    assert runtime.who(DEVICES["guest"])[0].name == "family"
    phone = SimpleNamespace(peername=(DEVICES["phone"], 50000))
    assert profile_of(runtime, phone).name == "teen"
