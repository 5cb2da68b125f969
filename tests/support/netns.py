"""Network namespaces for the transparent-mode test: a small gateway network made on demand.

One namespace per device, a gateway and "the internet", joined by veth pairs, as on a home
or school network::

    kid   (10.77.1.2) --+
    guest (10.77.1.3) --+-- br0 (10.77.1.1) gateway (10.77.2.1) --wan0-- (10.77.2.2) web
    phone (10.77.1.4) --+

Each device has its own MAC address (``02:77:01:00:00:<last byte of its IP>``). The gateway
runs kidgate; iptables in the gateway redirects the devices' web traffic to it.
The gateway does not forward packets, so the only way from a device to the web is kidgate.
The addresses exist only inside these namespaces (no link to the host's own network), so they
cannot clash with the machine's networks or with a parallel run; the namespace names carry
the test process's id, so parallel runs do not collide either.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "kgt"
TIMEOUT = 20

GATEWAY_LAN = "10.77.1.1"
DEVICES = {"kid": "10.77.1.2", "guest": "10.77.1.3", "phone": "10.77.1.4"}
GATEWAY_WAN = "10.77.2.1"
WEB = "10.77.2.2"            # "the internet": local web servers in the web namespace


class Unavailable(Exception):
    """Namespaces cannot be made here: the test is skipped with this reason."""


def unavailable() -> str | None:
    """Why the transparent-mode test cannot run on this machine, or None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "needs root to create network namespaces and iptables rules"
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            return f"{tool!r} not installed (`make test` installs iptables when run as root)"
    if not hasattr(os, "setns"):
        return "needs os.setns (Python 3.12+ on Linux)"
    return None


def run(*args: str, ns: str | None = None, check: bool = True,
        timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """A command on the host, or inside namespace ``ns``; raises with its output on failure."""
    cmd = ["ip", "netns", "exec", ns, *args] if ns else list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}: "
                           f"{(proc.stderr or proc.stdout).strip()}")
    return proc


@contextmanager
def inside(ns: str) -> Iterator[None]:
    """Run the calling thread in namespace ``ns``: sockets it creates (and threads it starts)
    belong there, and stay there after the block."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            os.setns(target, os.CLONE_NEWNET)
            try:
                yield
            finally:
                os.setns(own, os.CLONE_NEWNET)
        finally:
            os.close(target)
    finally:
        os.close(own)


def listening(ns: str, host: str, port: int) -> bool:
    """Whether a TCP socket listens on ``host:port`` (IPv4) in ``ns``, without connecting."""
    import ipaddress
    want = f"{int(ipaddress.IPv4Address(host)).to_bytes(4, 'big')[::-1].hex().upper()}:{port:04X}"
    with inside(ns), open("/proc/thread-self/net/tcp") as f:
        return any(p[1] == want and p[3] == "0A" for p in (ln.split() for ln in f) if len(p) > 3)


def _ours() -> list[str]:
    out = run("ip", "netns", "list", check=False).stdout
    return [ln.split()[0] for ln in out.splitlines()
            if ln.strip() and re.match(rf"{PREFIX}\d+-", ln.split()[0])]


def _remove(ns: str) -> None:
    """Stop what still runs in ``ns`` (only processes this test started there), then delete it."""
    pids = run("ip", "netns", "pids", ns, check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    run("ip", "netns", "del", ns, check=False)


def sweep_stale() -> None:
    """Namespaces left by an earlier run of this test that was killed before its clean-up."""
    for ns in _ours():
        pid = int(re.match(rf"{PREFIX}(\d+)-", ns).group(1))
        if pid != os.getpid() and not Path(f"/proc/{pid}").exists():
            _remove(ns)


def mac_of(ip: str) -> str:
    return f"02:77:01:00:00:{int(ip.rsplit('.', 1)[1]):02x}"


@dataclass
class Lab:
    tag: str
    lan_if: str = "br0"      # the gateway's interface towards the devices
    made: list[str] = field(default_factory=list)

    @property
    def gateway(self) -> str:
        return f"{self.tag}-gw"

    @property
    def web(self) -> str:
        return f"{self.tag}-web"

    def device(self, name: str) -> str:
        """The namespace of device ``name`` (a key of DEVICES)."""
        return f"{self.tag}-{name}"

    def redirect(self, ports: list[int], to_port: int) -> list[str]:
        """What a gateway admin types: send the clients' web traffic to kidgate. Returns the
        rules as ``iptables -S`` shows them."""
        for port in ports:
            run("iptables", "-t", "nat", "-A", "PREROUTING", "-i", self.lan_if, "-p", "tcp",
                "--dport", str(port), "-j", "REDIRECT", "--to-port", str(to_port), ns=self.gateway)
        return [ln for ln in run("iptables", "-t", "nat", "-S", "PREROUTING",
                                 ns=self.gateway).stdout.splitlines() if "REDIRECT" in ln]


@contextmanager
def lab() -> Iterator[Lab]:
    """Make the namespaces and their links; remove them (and everything in them,
    iptables rules included) afterwards, whatever happened."""
    reason = unavailable()
    if reason:
        raise Unavailable(reason)
    sweep_stale()
    net = Lab(f"{PREFIX}{os.getpid()}")
    try:
        for ns in (net.gateway, net.web, *map(net.device, DEVICES)):
            proc = run("ip", "netns", "add", ns, check=False)
            if proc.returncode != 0:
                raise Unavailable(f"cannot create network namespace: {proc.stderr.strip()}")
            net.made.append(ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        g, w = net.gateway, net.web
        # Interface names live inside the namespaces: no clash with the host or other runs.
        run("ip", "-n", g, "link", "add", net.lan_if, "type", "bridge")
        run("ip", "-n", g, "addr", "add", f"{GATEWAY_LAN}/24", "dev", net.lan_if)
        run("ip", "-n", g, "link", "set", net.lan_if, "up")
        for name, ip in DEVICES.items():
            d, port = net.device(name), f"lan-{name}"
            run("ip", "-n", d, "link", "add", "eth0", "address", mac_of(ip), "type", "veth",
                "peer", "name", port, "netns", g)
            run("ip", "-n", g, "link", "set", port, "master", net.lan_if, "up")
            run("ip", "-n", d, "addr", "add", f"{ip}/24", "dev", "eth0")
            run("ip", "-n", d, "link", "set", "eth0", "up")
            run("ip", "-n", d, "route", "add", "default", "via", GATEWAY_LAN)
        run("ip", "-n", w, "link", "add", "eth0", "type", "veth", "peer", "name", "wan0",
            "netns", g)
        run("ip", "-n", g, "addr", "add", f"{GATEWAY_WAN}/24", "dev", "wan0")
        run("ip", "-n", g, "link", "set", "wan0", "up")
        run("ip", "-n", w, "addr", "add", f"{WEB}/24", "dev", "eth0")
        run("ip", "-n", w, "link", "set", "eth0", "up")
        # No forwarding: a device reaches the web through kidgate or not at all.
        run("sh", "-c", "echo 0 > /proc/sys/net/ipv4/ip_forward", ns=g)
        yield net
    finally:
        for ns in reversed(net.made):
            _remove(ns)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str


# A browser without any proxy setting: it connects to the site's address (what DNS would
# answer), sends the host name in the Host header and, for HTTPS, in the TLS SNI.
_CLIENT = r"""
import http.client, json, socket, ssl, sys, urllib.parse
a = json.loads(sys.argv[1])
u = urllib.parse.urlsplit(a["url"])
port = u.port or (443 if u.scheme == "https" else 80)
sock = socket.create_connection((a["ip"], port), timeout=a["timeout"])
if u.scheme == "https":
    ctx = ssl.create_default_context(cafile=a["cafile"])
    sock = ctx.wrap_socket(sock, server_hostname=u.hostname)
conn = http.client.HTTPConnection(u.netloc, timeout=a["timeout"])
conn.sock = sock
conn.request("GET", (u.path or "/") + ("?" + u.query if u.query else ""),
             headers={"Accept": "text/html,*/*;q=0.8", "User-Agent": "kidgate-netns-test"})
r = conn.getresponse()
body = r.read()
print(json.dumps({"status": r.status, "headers": {k.lower(): v for k, v in r.getheaders()},
                  "body": body.decode("utf-8", "replace")}))
"""


def fetch(ns: str, url: str, *, ip: str, cafile: Path | None = None,
          timeout: float = 15) -> Response:
    """GET ``url`` from inside namespace ``ns``, connecting to ``ip``, with no proxy."""
    arg = json.dumps({"url": url, "ip": ip, "timeout": timeout,
                      "cafile": str(cafile) if cafile else None})
    proc = run(sys.executable, "-c", _CLIENT, arg, ns=ns, check=False, timeout=timeout + 15)
    if proc.returncode != 0:
        raise AssertionError(f"GET {url} via {ip} from {ns} failed: {proc.stderr.strip()}")
    return Response(**json.loads(proc.stdout))
