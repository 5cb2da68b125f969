"""The generated gateway files, checked by the real tools and, for the nftables rules, loaded
into a real gateway namespace (tests/support/netns.py) in front of a transparent kidgate."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kidgate.gateway import GatewayError, nftables_rules, systemd_unit
from tests.support import netns
from tests.support.netns import DEVICES, GATEWAY_WAN, WEB, mac_of
from tests.support.proxy import Site, build_test_lists, run_proxy

pytestmark = pytest.mark.e2e

needs_nft = pytest.mark.skipif(shutil.which("nft") is None,
                               reason="nft not installed (make test installs nftables as root)")


def nft_check(rules: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "kidgate.nft"
    path.write_text(rules)
    return subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True)


@needs_nft
@pytest.mark.parametrize("options", [
    {}, {"drop_quic": False, "block_dot": False},
    {"exempt_macs": ["AA-BB-CC-DD-EE-FF", "02:00:00:00:00:01"],
     "exempt_addresses": ["192.168.1.5", "10.0.0.0/8", "fd00::5", "2001:db8::/32"]},
])
def test_rules_pass_nft_check(options: dict, tmp_path: Path) -> None:
    rules = nftables_rules(["br0", "wlan0"], 3128, **options)
    done = nft_check(rules, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "redirect to :3128" in rules and ("udp dport 443 drop" in rules) == \
        options.get("drop_quic", True)


@pytest.mark.parametrize("bad, message", [
    ({"lan": ["br0; drop"]}, "interface"), ({"lan": []}, "at least one"),
    ({"port": 0}, "port"), ({"exempt_macs": ["aa:bb"]}, "MAC"),
    ({"exempt_addresses": ["300.1.1.1"]}, "address"),
])
def test_bad_values_are_refused_with_a_reason(bad: dict, message: str) -> None:
    kw = {"lan": ["br0"], **bad}
    with pytest.raises(GatewayError, match=message):
        nftables_rules(kw.pop("lan"), **kw)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_systemd_unit_passes_systemd_analyze(tmp_path: Path) -> None:
    exe = tmp_path / "kidgate"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    unit = tmp_path / "kidgate.service"
    unit.write_text(systemd_unit(str(exe), config=Path("/etc/kidgate/kidgate.yaml")))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    text = unit.read_text()
    assert f"ExecStart={exe} run --data-dir /var/lib/kidgate --config /etc/kidgate/kidgate.yaml" \
        in text and "StateDirectory=kidgate" in text and "Restart=on-failure" in text
    with pytest.raises(GatewayError):
        systemd_unit("kidgate")


def test_the_commands_print_what_the_functions_make() -> None:
    rules = subprocess.run([sys.executable, "-m", "kidgate", "gateway-rules", "--lan", "br0"],
                           capture_output=True, text=True)
    assert rules.returncode == 0 and rules.stdout == nftables_rules(["br0"])
    bad = subprocess.run([sys.executable, "-m", "kidgate", "gateway-rules", "--lan", "b r"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "interface" in bad.stderr and not bad.stdout


# -- in a real gateway --------------------------------------------------------------------------

CONFIG = textwrap.dedent("""\
    default_profile: kid
    profiles:
      kid: {age: 10}
    """)
UDP_PORT = 443


@pytest.fixture(scope="module")
def netns_tools() -> tuple[str, ...]:
    """Besides the lab's tools (tests/e2e/conftest.py): the rules kidgate writes are nftables."""
    return ("nft",)


@pytest.fixture(scope="module")
def lab(lab: netns.Lab) -> netns.Lab:
    """The shared lab, but this gateway forwards, so that the rules, not the lab, decide what
    gets through."""
    netns.run("sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward", ns=lab.gateway)
    netns.run("ip", "route", "add", "10.77.1.0/24", "via", GATEWAY_WAN, ns=lab.web)
    return lab


@pytest.fixture(scope="module")
def gateway(lab, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gw")
    with netns.inside(lab.web):
        site = Site({"/": (200, {"Content-Type": "text/plain"}, b"upstream")}, host=WEB,
                    port=80).start()
    with run_proxy(tmp, config=CONFIG, classifier=False,
                   lists=build_test_lists(tmp, {"sexual": ["adult.test"]}), netns=lab.gateway,
                   listen_host="10.77.1.1", options=["--mode", "transparent"]) as proxy:
        rules = tmp / "kidgate.nft"
        rules.write_text(nftables_rules([lab.lan_if], proxy.port,
                                        exempt_macs=[mac_of(DEVICES["guest"])]))
        netns.run("nft", "-f", str(rules), ns=lab.gateway)
        yield proxy
    site.stop()


def _udp_echo_answers(lab, device: str) -> bool:
    """Send one datagram to UDP 443 on the web host (QUIC's port) and wait for the echo."""
    code = (f"import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            f"s.settimeout(2); s.sendto(b'quic?', ('{WEB}', {UDP_PORT})); print(s.recv(10))")
    return netns.run(sys.executable, "-c", code, ns=lab.device(device), check=False,
                     timeout=10).returncode == 0


def _tcp_result(lab, device: str, port: int) -> str:
    code = (f"import socket\ntry:\n    socket.create_connection(('{WEB}', {port}), 2)\n"
            f"    print('connected')\nexcept ConnectionRefusedError:\n    print('refused')\n"
            f"except OSError as e:\n    print('timeout')")
    return netns.run(sys.executable, "-c", code, ns=lab.device(device), check=False,
                     timeout=10).stdout.strip()


def test_the_lans_web_traffic_goes_through_kidgate(lab, gateway):
    blocked = netns.fetch(lab.device("kid"), "http://adult.test/", ip=WEB)
    assert blocked.status == 403 and blocked.headers["x-kidgate-category"] == "sexual"
    allowed = netns.fetch(lab.device("kid"), "http://garden.test/", ip=WEB)
    assert allowed.status == 200 and allowed.body == "upstream"


def test_quic_and_dns_over_tls_do_not_pass_but_an_exempt_device_is_untouched(lab, gateway):
    with netns.inside(lab.web):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((WEB, UDP_PORT))
        dot = socket.create_server((WEB, 853))
    import threading

    def echo() -> None:
        while True:
            try:
                data, addr = udp.recvfrom(100)
            except OSError:
                return
            udp.sendto(data, addr)
    threading.Thread(target=echo, daemon=True).start()
    try:
        assert not _udp_echo_answers(lab, "kid")
        assert _tcp_result(lab, "kid", 853) == "refused"
        assert _udp_echo_answers(lab, "guest")
        assert _tcp_result(lab, "guest", 853) == "connected"
    finally:
        udp.close()
        dot.close()
