"""The proxy auto-config file: generated, evaluated as JavaScript (Node.js, with the PAC
helper functions browsers provide), and served by the running proxy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import httpx
import pytest

from kidgate.gateway import GatewayError, pac_file
from tests.support.proxy import run_proxy

# The functions a browser gives a PAC file, enough for kidgate's (names resolve to fixed IPs).
_RUNTIME = r"""
const addrs = {"printer.lan": "192.168.1.50", "www.example.org": "93.184.216.34",
               "nas.home": "192.168.1.20"};
function isPlainHostName(h) { return h.indexOf(".") < 0; }
function dnsDomainIs(h, d) { return h.endsWith("." + d); }
function shExpMatch(s, p) { return new RegExp("^" + p.replace(/\./g, "\\.").replace(/\*/g, ".*") + "$").test(s); }
function dnsResolve(h) { return addrs[h] || null; }
function isInNet(ip, net, mask) {
  const n = s => s.split(".").reduce((a, b) => (a << 8) + Number(b), 0) >>> 0;
  return ((n(ip) & n(mask)) >>> 0) === ((n(net) & n(mask)) >>> 0);
}
"""


def evaluate(pac: str, hosts: list[str]) -> dict[str, str]:
    if shutil.which("node") is None:
        pytest.skip("node not installed")
    script = _RUNTIME + pac + f"""
const out = {{}};
for (const h of {json.dumps(hosts)}) out[h] = FindProxyForURL("http://" + h + "/", h);
console.log(JSON.stringify(out));
"""
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_browsers_go_through_kidgate_and_fall_back_to_the_second_one_never_direct():
    pac = pac_file(["192.168.1.10:8080", "192.168.1.11:8080"],
                   ["192.168.1.0/24", "printer.lan"])
    got = evaluate(pac, ["www.example.org", "printer.lan", "nas.home", "router", "tv.local"])
    assert got["www.example.org"] == "PROXY 192.168.1.10:8080; PROXY 192.168.1.11:8080"
    assert got["printer.lan"] == got["nas.home"] == got["router"] == got["tv.local"] == "DIRECT"
    assert "DIRECT" not in pac.rsplit("return", 1)[1]


@pytest.mark.parametrize("proxies, direct", [
    ([], []), (["192.168.1.10"], []), (["bad host:80"], []), (["h:99999"], []),
    (["h:80"], ['x"); alert(1); ("']),
])
def test_bad_entries_are_refused(proxies, direct):
    with pytest.raises(GatewayError):
        pac_file(proxies, direct)


def test_the_command_prints_it():
    out = subprocess.run([sys.executable, "-m", "kidgate", "pac", "--proxy", "10.0.0.2:3128"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == pac_file(["10.0.0.2:3128"])


@pytest.mark.e2e
def test_the_proxy_serves_its_own_pac_file(tmp_path):
    with run_proxy(tmp_path, classifier=False) as proxy:
        with proxy.client() as c:
            for path in ("/proxy.pac", "/wpad.dat"):
                r = c.get(f"http://kidgate.internal{path}")
                assert r.status_code == 200, r.text
                assert r.headers["content-type"] == "application/x-ns-proxy-autoconfig"
                assert f"PROXY 127.0.0.1:{proxy.port}" in r.text
        got = evaluate(r.text, ["www.example.org"])
        assert got["www.example.org"] == f"PROXY 127.0.0.1:{proxy.port}"
