"""A real ``kidgate run`` for end-to-end tests of the admin app: the proxy and the admin app
in one process, as a parent starts them, plus the test routing addon for local sites."""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.process import port_open, stop, wait_until_ready
from tests.support.proxy import ROOT, ROUTE, free_port

_CODE = re.compile(r"setup code ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})")


@dataclass
class Kidgate:
    proc: subprocess.Popen
    port: int
    admin_port: int
    confdir: Path
    data_dir: Path
    config_path: Path
    log_path: Path

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def setup_code(self) -> str:
        found = _CODE.findall(self.output())
        assert found, f"kidgate run printed no setup code:\n{self.output()}"
        return found[-1]

    def client(self) -> httpx.Client:
        ctx = ssl.create_default_context(cafile=str(self.confdir / "mitmproxy-ca-cert.pem"))
        return httpx.Client(proxy=self.proxy_url, verify=ctx, timeout=15)


@contextmanager
def run_kidgate(tmp: Path, config: str, *, routes: dict[str, int], lists: Path | None = None,
                admin_port: int | None = None, wait_admin: bool = True) -> Iterator[Kidgate]:
    """Start ``kidgate run`` with ``config`` (an ``admin:`` section is added that listens on
    127.0.0.1 and a free port unless the config has one); stop it afterwards. Without
    ``wait_admin`` only the proxy's port is waited for (the admin app may not start)."""
    port, admin_port = free_port(), admin_port or free_port()
    confdir, data_dir = tmp / "mitmproxy", tmp / "data"
    confdir.mkdir(exist_ok=True)
    data_dir.mkdir(exist_ok=True)
    cfg = tmp / "kidgate.yaml"
    if "admin:" not in config:
        config += f"admin: {{listen: {{host: 127.0.0.1, port: {admin_port}}}}}\n"
    cfg.write_text(config)
    args = [sys.executable, "-m", "kidgate.cli", "run", "--config", str(cfg), "--port", str(port),
            "--listen-host", "127.0.0.1", "--data-dir", str(data_dir), "--no-classifier"]
    if lists:
        args += ["--lists", str(lists)]
    # No test reaches for the real list sources (the daily update would, after 5 minutes).
    args += ["--", "-s", str(ROUTE), "--set", f"confdir={confdir}",
             "--set", "kidgate_auto_update=false",
             "--set", f"test_routes={','.join(f'{h}={p}' for h, p in routes.items())}"]
    log_path = tmp / "kidgate-run.log"
    logf = log_path.open("w")
    proc = subprocess.Popen(args, cwd=ROOT, stdout=logf, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    kg = Kidgate(proc, port, admin_port, confdir, data_dir, cfg, log_path)
    ports = (port, admin_port) if wait_admin else (port,)
    try:
        wait_until_ready(proc, lambda: all(port_open(p) for p in ports)
                         and (confdir / "mitmproxy-ca-cert.pem").exists(),
                         what="kidgate run", output=kg.output, timeout=90)
        yield kg
    finally:
        stop(proc)
        logf.close()
