"""Real processes for end-to-end tests: a kidgate mitmproxy and local upstream web servers.

The internet is not reachable here, so every "site" is a local server; a small routing addon,
loaded after kidgate's own, sends requests for test host names to it after kidgate decided.
"""

from __future__ import annotations

import datetime as dt
import http.server
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.process import port_open, stop, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "proxy_addons" / "addon.py"
ROUTE = Path(__file__).with_name("route_addon.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


Handler = Callable[[http.server.BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]]


@dataclass
class Site:
    """A local web server; ``pages`` maps a path to (status, headers, body) or a handler.
    ``connections`` counts accepted connections, also those that never sent a request."""

    pages: dict[str, tuple[int, dict[str, str], bytes] | Handler] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    port: int = 0
    tls: ssl.SSLContext | None = None
    host: str = "127.0.0.1"
    connections: int = 0

    def start(self) -> "Site":
        site = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                site.connections += 1
                super().setup()

            def _serve(self) -> None:
                site.requests.append((self.command, self.path, dict(self.headers.items())))
                path = self.path.split("?", 1)[0]
                entry = site.pages.get(self.path) or site.pages.get(path)
                if entry is None:
                    status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found"
                elif callable(entry):
                    status, headers, body = entry(self)
                else:
                    status, headers, body = entry
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _serve

            def log_message(self, *a: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((self.host, self.port), H)
        if self.tls:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Proxy:
    port: int
    proc: subprocess.Popen
    confdir: Path
    data_dir: Path
    log_path: Path
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ca_cert(self) -> Path:
        return self.confdir / "mitmproxy-ca-cert.pem"

    def client(self, **kw: object) -> httpx.Client:
        return httpx.Client(proxy=self.url, verify=ssl.create_default_context(cafile=str(self.ca_cert)),
                            timeout=15, **kw)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def decisions(self) -> list[dict]:
        import json
        p = self.data_dir / "decisions.jsonl"
        if not p.exists():
            return []
        return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]

    def decision(self, host: str, client: str, timeout: float = 5) -> dict:
        """The last decision logged for ``host`` from ``client``, waiting for the log writer,
        which writes in batches off the event loop."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = [r for r in self.decisions() if r["host"] == host and r["client"] == client]
            if rows:
                return rows[-1]
            time.sleep(0.1)
        raise AssertionError(f"no decision logged for {host} from {client}: {self.decisions()}")


@contextmanager
def run_proxy(tmp: Path, *, config: str | None = None, routes: dict[str, int] | None = None,
              options: list[str] | None = None, classifier: bool = True,
              upstream_ca: Path | None = None, lists: Path | None = None, env: dict[str, str] | None = None,
              listen_host: str = "127.0.0.1", netns: str | None = None,
              auto_update: bool = False) -> Iterator[Proxy]:
    """Start ``mitmdump`` with kidgate's addons; ``routes`` maps test host names to local
    ports; the lists do not update themselves unless ``auto_update``. Waits until the proxy answers, and stops it afterwards. With ``netns`` the proxy
    runs inside that network namespace (``ip netns exec``), listening on ``listen_host``."""
    port = free_port()
    confdir, data_dir = tmp / "mitmproxy", tmp / "data"
    confdir.mkdir(exist_ok=True)
    data_dir.mkdir(exist_ok=True)
    args = [sys.executable, "-c", "from mitmproxy.tools.main import mitmdump; mitmdump()",
            "-s", str(ADDON), "-s", str(ROUTE),
            "--listen-host", listen_host, "--listen-port", str(port),
            "--set", f"confdir={confdir}", "--set", f"kidgate_data_dir={data_dir}",
            "--set", "connection_strategy=lazy", "--set", "flow_detail=0",
            "--set", f"test_routes={','.join(f'{h}={p}' for h, p in (routes or {}).items())}"]
    if config is not None:
        cfg = tmp / "kidgate.yaml"
        cfg.write_text(config)
        args += ["--set", f"kidgate_config={cfg}"]
    if not classifier:
        args += ["--set", "kidgate_classifier=false"]
    if not auto_update:  # no test reaches for the real list sources
        args += ["--set", "kidgate_auto_update=false"]
    if lists:
        args += ["--set", f"kidgate_lists={lists}"]
    if upstream_ca:
        args += ["--set", f"ssl_verify_upstream_trusted_ca={upstream_ca}"]
    args += options or []
    if netns:
        args = ["ip", "netns", "exec", netns, *args]
    log_path = tmp / "proxy.log"
    logf = log_path.open("w")
    proc = subprocess.Popen(args, cwd=ROOT, stdout=logf, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    proxy = Proxy(port, proc, confdir, data_dir, log_path, listen_host)
    def ready() -> bool:
        if netns:
            # No test connection: transparent mode logs one that was not redirected as an
            # error, and an error logged during start-up makes mitmdump exit.
            from tests.support.netns import listening
            up = listening(netns, listen_host, port)
        else:
            up = port_open(port)
        return up and proxy.ca_cert.exists()
    try:
        wait_until_ready(proc, ready, what="proxy", output=proxy.log, timeout=60)
        yield proxy
    finally:
        stop(proc)
        logf.close()


def build_test_lists(tmp: Path, categories: dict[str, list[str]]) -> Path:
    """A compiled list with the given category → domains, built by kidgate's list engine."""
    from lists import Source, build_store
    sources = []
    for category, domains in categories.items():
        src = tmp / f"{category}.txt"
        src.write_text("\n".join(domains) + "\n")
        sources.append(Source(f"test-{category}", str(src), "domains",
                              "allow" if category == "allow" else category))
    out = tmp / "test.kglist"
    build_store(sources, out)
    return out


def make_tls(tmp: Path, hosts: list[str]) -> tuple[Path, ssl.SSLContext]:
    """A test CA and a server certificate for ``hosts``; returns (CA file, server context)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    # Valid a year either side of now: OpenSSL checks with the real clock even when a test
    # run has moved Python's clock (``--at``).
    now = dt.datetime.now(dt.timezone.utc)
    valid_from, valid_to = now - dt.timedelta(days=400), now + dt.timedelta(days=400)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kidgate test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(valid_from).not_valid_after(valid_to)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid_from).not_valid_after(valid_to)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_path, cert_path, key_path = tmp / "test-ca.pem", tmp / "server.pem", tmp / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_path, key_path)
    return ca_path, ctx
