"""WireGuard: phones filtered away from home, each recognised by its own tunnel.

Real network namespaces (tests/support/netns.py): two phones run WireGuard (Debian's
``wireguard-go`` and ``wg``) into kidgate on the gateway, one tunnel per phone as ``kidgate
run`` sets them up (:func:`kidgate.wireguard.modes`). Inside every tunnel a phone has the same
address, so only the tunnel tells the child's phone from the parent's. The gateway does not
forward: an answer a phone gets came through kidgate.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from kidgate import wireguard
from policies import config as config_mod
from tests.support import netns
from tests.support.netns import GATEWAY_LAN, WEB
from tests.support.proxy import Site, build_test_lists, run_proxy

pytestmark = pytest.mark.e2e

CONFIG = textwrap.dedent("""\
    default_profile: family
    profiles:
      kid: {age: 10}
      family: {age: 40}
    devices:
      - {wireguard: kid-phone, port: 51820, profile: kid}
      - {wireguard: mum-phone, port: 51821, profile: family}
    """)
PHONES = {"kid-phone": ("phone", 51820), "mum-phone": ("guest", 51821)}


@pytest.fixture(scope="module")
def netns_tools() -> tuple[str, ...]:
    """Besides the lab's tools (tests/e2e/conftest.py): the phones' WireGuard."""
    return ("wireguard-go", "wg")


@pytest.fixture(scope="module")
def web(lab):
    def page(h):
        body = b"casino upstream page" if h.headers.get("Host", "").startswith("casino") \
            else b"garden page"
        return 200, {"Content-Type": "text/plain"}, body
    with netns.inside(lab.web):
        site = Site({"/": page}, host=WEB, port=80).start()
    yield site
    site.stop()


@pytest.fixture(scope="module")
def gateway(lab, web, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wg-gateway")
    tunnels = wireguard.modes(config_mod.parse(CONFIG), tmp / "data")
    with run_proxy(tmp, config=CONFIG, classifier=False,
                   lists=build_test_lists(tmp, {"gambling": ["casino.test"]}),
                   netns=lab.gateway, listen_host=GATEWAY_LAN,
                   options=["--mode", "regular", *tunnels]) as proxy:
        procs = [_tunnel(lab, name, tmp) for name in PHONES]
        yield proxy
        for p in procs:
            p.terminate()
            p.wait(10)


def _tunnel(lab, name: str, tmp) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    """What the phone's WireGuard app does with the configuration kidgate gave it."""
    from mitmproxy_rs import wireguard as wg
    device, port = PHONES[name]
    ns = lab.device(device)
    keys = wireguard.ensure_keys(tmp / "data", name)
    # wireguard-go's control socket (/var/run/wireguard/IFACE.sock) is not per namespace.
    iface = f"wg-{device}"
    key = tmp / f"{name}.key"
    key.write_text(keys["client_key"])
    key.chmod(0o600)
    proc = subprocess.Popen(["ip", "netns", "exec", ns, "wireguard-go", "-f", iface],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "WG_PROCESS_FOREGROUND": "1"})
    deadline = time.monotonic() + 10
    while netns.run("ip", "link", "show", iface, ns=ns, check=False).returncode != 0 \
            or not Path(f"/var/run/wireguard/{iface}.sock").exists():
        assert time.monotonic() < deadline and proc.poll() is None, "wireguard-go did not start"
        time.sleep(0.1)
    netns.run("wg", "set", iface, "private-key", str(key), "peer",
              wg.pubkey(keys["server_key"]), "endpoint", f"{GATEWAY_LAN}:{port}",
              "allowed-ips", "0.0.0.0/0", ns=ns)
    netns.run("ip", "addr", "add", "10.0.0.1/32", "dev", iface, ns=ns)
    netns.run("ip", "link", "set", iface, "up", ns=ns)
    netns.run("ip", "route", "add", f"{WEB}/32", "dev", iface, ns=ns)  # the web: through it
    return proc


def _get(lab, name: str, host: str) -> netns.Response:
    return netns.fetch(lab.device(PHONES[name][0]), f"http://{host}/", ip=WEB)


def test_the_childs_phone_is_filtered_as_the_child(lab, gateway) -> None:
    blocked = _get(lab, "kid-phone", "casino.test")
    assert blocked.status == 403 and "casino upstream page" not in blocked.body
    assert _get(lab, "kid-phone", "garden.test").body == "garden page"
    row = gateway.decision("casino.test", "kid-phone")
    assert row["profile"] == "kid" and row["action"] == "block"


def test_the_parents_phone_in_the_same_tunnel_address_is_not(lab, gateway) -> None:
    page = _get(lab, "mum-phone", "casino.test")
    assert page.status == 200 and page.body == "casino upstream page"
    assert gateway.decision("casino.test", "mum-phone")["profile"] == "family"


def test_the_client_configuration_matches_the_tunnel(gateway, tmp_path) -> None:
    from mitmproxy_rs import wireguard as wg
    keys = wireguard.ensure_keys(gateway.data_dir, "kid-phone")
    conf = wireguard.client_config(keys, "home.example", 51820)
    assert f"PrivateKey = {keys['client_key']}" in conf
    assert f"PublicKey = {wg.pubkey(keys['server_key'])}" in conf
    assert "Endpoint = home.example:51820" in conf and "::/0" in conf
    assert (gateway.data_dir / "wireguard" / "kid-phone.json").stat().st_mode & 0o077 == 0
