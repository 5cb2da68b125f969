"""A device listed by MAC address is recognised over IPv6 too: the kernel's IPv6 neighbour
table (there is no /proc file for it) is read over netlink, in a network namespace of the
test's own with a real neighbour entry."""

from __future__ import annotations

import os
import textwrap

import pytest

from kidgate.devices import ArpTable, DeviceResolver
from policies import config as config_mod
from tests.support import netns

pytestmark = pytest.mark.e2e

MAC = "02:77:01:00:00:23"


@pytest.fixture
def namespace():
    reason = netns.unavailable()
    if reason is not None:
        pytest.skip(f"IPv6 neighbour test: {reason}")
    netns.sweep_stale()
    ns = f"{netns.PREFIX}{os.getpid()}-v6"
    netns.run("ip", "netns", "add", ns)
    try:
        netns.run("ip", "-n", ns, "link", "add", "lan0", "type", "veth", "peer", "name", "dev0")
        for link in ("lan0", "dev0"):
            netns.run("ip", "-n", ns, "link", "set", link, "up")
        netns.run("ip", "-n", ns, "-6", "neigh", "add", "fd00::23", "lladdr", MAC, "dev",
                  "lan0", "nud", "permanent")
        netns.run("ip", "-n", ns, "neigh", "add", "10.77.9.23", "lladdr", MAC, "dev", "lan0",
                  "nud", "permanent")
        yield ns
    finally:
        netns.run("ip", "netns", "del", ns, check=False)


def test_an_ipv6_client_gets_the_profile_of_its_mac_address(namespace) -> None:
    cfg = config_mod.parse(textwrap.dedent(f"""\
        profiles: {{kid: {{age: 9}}, guest: {{age: 30}}}}
        default_profile: guest
        devices:
          - {{mac: "{MAC.upper()}", profile: kid, name: kids-tablet}}
        """), "k.yaml")
    with netns.inside(namespace):
        table = ArpTable()
        assert table.mac("fd00::23") == MAC
        assert table.mac("fd00:0000:0000::0023") == MAC  # however the address is written
        assert table.mac("10.77.9.23") == MAC and table.mac("::ffff:10.77.9.23") == MAC
        assert table.mac("fd00::99") is None and table.mac("not an address") is None
        resolver = DeviceResolver(cfg, arp=table)
        assert resolver.resolve("fd00::23") == (cfg.profile("kid"), "kids-tablet")
        assert resolver.resolve("fd00::99")[0].name == "guest"
