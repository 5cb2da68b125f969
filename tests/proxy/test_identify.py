"""Client identification: proxy-auth user, MAC, most specific network, default."""

import asyncio
import base64
import textwrap
from types import SimpleNamespace

import pytest
from mitmproxy.test import tflow

from policies import config
from kidgate.devices import ArpTable
from policies.devices import resolve
from proxy_addons.identify import proxy_user
from proxy_addons.signin import SignIn

CFG = config.parse(textwrap.dedent("""\
    profiles:
      guest: {age: 8}
      class5: {age: 11}
      anna: {age: 9}
      teacher: {age: 40}
    default_profile: guest
    devices:
      - {cidr: 10.0.0.0/16, profile: class5}
      - {cidr: 10.0.5.0/24, profile: anna, name: anna-room}
      - {ip: 10.0.5.7, profile: teacher, name: teacher-laptop}
      - {cidr: "fd00::/64", profile: class5}
      - {mac: "aa:bb:cc:dd:ee:ff", profile: teacher}
      - {user: mrs.pop, profile: teacher}
    """))


@pytest.mark.parametrize("ip,profile,client", [
    ("10.0.9.9", "class5", "10.0.0.0/16"),
    ("10.0.5.1", "anna", "anna-room"),
    ("10.0.5.7", "teacher", "teacher-laptop"),
    ("::ffff:10.0.5.7", "teacher", "teacher-laptop"),
    ("fd00::1234", "class5", "fd00::/64"),
    ("192.168.1.2", "guest", "192.168.1.2"),
    ("not-an-ip", "guest", "not-an-ip"),
])
def test_most_specific_network_wins(ip, profile, client):
    p, name = resolve(CFG, ip)
    assert p.name == profile and name == client


def test_user_beats_mac_beats_ip():
    assert resolve(CFG, "10.0.9.9", user="mrs.pop")[0].name == "teacher"
    assert resolve(CFG, "10.0.9.9", mac="aa:bb:cc:dd:ee:ff")[0].name == "teacher"
    assert resolve(CFG, "10.0.9.9", user="unknown")[0].name == "class5"


def test_proxy_user_from_header_and_garbage():
    """Without proxy_auth the header's user name identifies (unchecked); the header itself is
    removed either way, so that no site sees it."""
    signin = SignIn(SimpleNamespace(authenticator=None))
    f = tflow.tflow()
    f.request.headers["Proxy-Authorization"] = "Basic " + base64.b64encode(b"mrs.pop:pw").decode()
    asyncio.run(signin.requestheaders(f))
    assert proxy_user(f) == "mrs.pop" and "Proxy-Authorization" not in f.request.headers
    for bad in ["Basic !!!", "Bearer abc", "Basic " + base64.b64encode(b"\xff\xfe").decode(), ""]:
        f = tflow.tflow()
        f.request.headers["Proxy-Authorization"] = bad
        asyncio.run(signin.requestheaders(f))
        assert proxy_user(f) is None and "Proxy-Authorization" not in f.request.headers
    f.metadata["proxyauth"] = ("checked", "pw")  # mitmproxy's own proxyauth option
    assert proxy_user(f) == "checked"


def test_arp_table(tmp_path):
    arp = tmp_path / "arp"
    arp.write_text("IP address HW type Flags HW address Mask Device\n"
                   "10.0.0.2 0x1 0x2 AA:BB:CC:DD:EE:FF * eth0\n"
                   "10.0.0.3 0x1 0x0 00:00:00:00:00:00 * eth0\ngarbage\n")
    t = ArpTable(arp)
    assert t.mac("10.0.0.2") == "aa:bb:cc:dd:ee:ff"
    assert t.mac("10.0.0.3") is None and t.mac("10.9.9.9") is None
    assert ArpTable(tmp_path / "missing").mac("10.0.0.2") is None


@pytest.mark.parametrize("ip,local", [
    ("127.0.0.1", True), ("10.1.2.3", True), ("192.168.0.9", True), ("172.20.0.1", True),
    ("100.64.1.1", True), ("169.254.3.3", True), ("::1", True), ("fd12::1", True),
    ("fe80::1%eth0", True), ("::ffff:192.168.1.1", True),
    ("8.8.8.8", False), ("2001:4860::8888", False), ("::ffff:1.1.1.1", False),
    ("0.0.0.0", False), ("224.0.0.1", False), ("garbage", False),
])
def test_only_local_clients_are_served(ip, local):
    from proxy_addons.identify import is_local_client
    assert is_local_client(ip) is local
