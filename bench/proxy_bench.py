"""Proxy cost with real tools: nginx as the upstream, wrk as the client, mitmproxy alone against
``kidgate run`` in the same mitmproxy version, interleaved rounds, medians.

Both are C programs, so that the proxy is the bottleneck: a Python client or upstream on the same
cores is slower than mitmproxy and hides its cost. Everything listens on 127.0.0.1 only.

Workloads (each run for ``--seconds``; bare and kidgate alternate within every round):

* ``mix``: ~90% scripts, styles, images, fonts and JSON, ~10% HTML pages (60 real pages).
* ``new-page``: every request a new HTML page (a real page with a unique id inserted by nginx).
* ``https-mix``: the mix over HTTPS with interception: the client speaks TLS to the proxy, which
  presents a certificate from its own CA (checked against that CA before the load starts) and
  verifies nginx's certificate against a local CA. wrk cannot send CONNECT, so this listener is
  mitmproxy's reverse mode in front of the site: the same TLS work on both sides as a proxied
  browser, without the CONNECT round trip.
* ``mix-100``: the mix with 100 concurrent keep-alive clients.
* ``latency``: the mix from one client at a time: the added latency of each request (p50, p99).

Reported: kidgate's requests/s as a ratio to mitmproxy alone, wrk's latency percentiles, and the
memory of every kidgate process (resident set summed, and proportional set size, which counts
pages shared between the processes once). Terminal table and ``--json`` file.

    python -m bench.proxy_bench [--seconds 8] [--rounds 3] [--quick] [--json bench/out/proxy.json]
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import random
import resource
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = Path(os.environ.get("KIDGATE_BENCH_PAGES",
                            ROOT.parent / "shared" / "datasets" / "pages"))
ROUTE = ROOT / "tests" / "support" / "route_addon.py"
SITE = "www.garden-news.test"
STATIC = "static.garden-news.test"
#: The intercepted HTTPS listener's site (reverse mode sends every request to one host).
SECURE = "secure.garden-news.test"

#: Typical assets of a page (sizes after HTTP Archive medians): name, size in bytes.
ASSETS = [
    ("js/app.js", 92_000), ("js/vendor.js", 160_000), ("js/analytics.js", 24_000),
    ("js/menu.js", 6_000), ("js/carousel.js", 14_000), ("js/consent.js", 31_000),
    ("css/site.css", 48_000), ("css/print.css", 4_000), ("css/fonts.css", 2_000),
    ("img/logo.png", 7_000), ("img/hero.jpg", 140_000), ("img/thumb1.jpg", 18_000),
    ("img/thumb2.jpg", 22_000), ("img/thumb3.jpg", 15_000), ("img/icon.svg", 1_500),
    ("img/avatar.webp", 9_000), ("img/banner.gif", 35_000), ("fonts/body.woff2", 28_000),
    ("api/comments.json", 6_000), ("api/menu.json", 1_200),
]


def _need(tool: str, package: str) -> str:
    """The tool's path, installing its Debian package first when it is missing (as root)."""
    path = shutil.which(tool) or (f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else None)
    if path:
        return path
    if os.geteuid() != 0:
        raise SystemExit(f"bench: {tool} is missing: apt-get install {package}")
    print(f"bench: installing {package} from Debian", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    found = shutil.which(tool) or f"/usr/sbin/{tool}"
    if not Path(found).exists():
        raise SystemExit(f"bench: {package} installed but {tool} not found")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, what: str, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bench: {what} exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"bench: {what} did not start:\n{log.read_text(errors='replace')[-3000:]}")


# -- the site -------------------------------------------------------------------------------
def _page_files() -> list[Path]:
    pages = sorted(p for p in PAGES.rglob("*.html") if p.is_file())
    if not pages:
        raise SystemExit(f"bench: no HTML pages under {PAGES} (set KIDGATE_BENCH_PAGES)")
    return pages


def make_site(tmp: Path) -> tuple[Path, list[str], list[str]]:
    """The document root: pages (linked, not copied) and deterministic assets."""
    root = tmp / "www"
    (root / "pages").mkdir(parents=True)
    names = []
    for i, page in enumerate(_page_files()):
        name = f"{i:02d}-{page.stem}.html"
        (root / "pages" / name).symlink_to(page.resolve())
        names.append(name)
    rng = random.Random(7)
    words = ("garden tomato compost bean water soil seed harvest pepper basil sun rain "
             "function return var let const window document element style color margin").split()
    for name, size in ASSETS:
        p = root / "static" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith((".js", ".css", ".json", ".svg")):
            text = " ".join(rng.choice(words) for _ in range(size // 5))
            p.write_bytes(text.encode()[:size])
        else:
            p.write_bytes(rng.randbytes(size))
    return root, names, [n for n, _ in ASSETS]


def nginx_conf(tmp: Path, root: Path, http_port: int, tls_port: int, cert: Path, key: Path) -> Path:
    conf = tmp / "nginx.conf"
    # Workers run as this user: they read the temporary document root and the shared pages.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    conf.write_text(f"""
{user}
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    types {{ font/woff2 woff2; image/webp webp; }}
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    charset_types text/html;
    server {{
        listen 127.0.0.1:{http_port};
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        root {root};
        # Every request a new page: the same real page with the request's id inserted in its
        # title, which the page classifier reads first (an id at the end of a long page lies
        # beyond what it reads, and its cache would answer), and before </body>.
        location /fresh/ {{
            alias {root}/pages/;
            sub_filter '<title>' '<title>Visit $arg_id ';
            sub_filter '</body>' '<p>Visit $arg_id</p></body>';
            sub_filter_once on;
        }}
    }}
}}
""")
    return conf


def make_certs(tmp: Path) -> tuple[Path, Path, Path]:
    """A local CA and nginx's certificate for the site's names and 127.0.0.1."""
    sys.path.insert(0, str(ROOT))
    from tests.support.proxy import make_tls
    ca, _ctx = make_tls(tmp, [SITE, STATIC, SECURE, "127.0.0.1", "localhost"])
    return ca, tmp / "server.pem", tmp / "server.key"


# -- load scripts -----------------------------------------------------------------------------
LUA_COMMON = r"""
local pages = {%(pages)s}
local assets = {%(assets)s}
local prefix = "%(prefix)s"
local absolute = %(absolute)s
local mode = "%(mode)s"
local n = 0
local tid = 0
local threads = {}
function setup(thread)
  tid = tid + 1
  thread:set("tid", tid)
  table.insert(threads, thread)
end
local dests = {js = "script", css = "style", json = "empty", woff2 = "font"}
local function target(host, path)
  if absolute then return "http://" .. host .. path end
  return path
end
function request()
  n = n + 1
  local headers = {["User-Agent"] = "Mozilla/5.0 (bench)"}
  local host, path
  if mode == "new" then
    host = "%(site)s"
    local p = pages[(n %% #pages) + 1]
    path = "/fresh/" .. p .. "?id=" .. prefix .. "-" .. tostring(tid) .. "-" .. tostring(n)
    headers["Accept"] = "text/html,application/xhtml+xml"
    headers["Sec-Fetch-Dest"] = "document"
  elseif n %% 10 == 0 then
    host = "%(site)s"
    path = "/pages/" .. pages[((n / 10) %% #pages) + 1]
    headers["Accept"] = "text/html,application/xhtml+xml"
    headers["Sec-Fetch-Dest"] = "document"
  else
    host = "%(static)s"
    local a = assets[(n %% #assets) + 1]
    path = "/static/" .. a
    local ext = a:match("%%.(%%w+)$")
    headers["Accept"] = "*/*"
    headers["Sec-Fetch-Dest"] = dests[ext] or "image"
  end
  if absolute then headers["Host"] = host end
  return wrk.format("GET", target(host, path), headers)
end
local errors = 0
function response(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("errors") or 0) end
  io.write(string.format(
    'KIDGATE-BENCH {"requests": %%d, "duration_us": %%d, "socket_errors": %%d, "non_200": %%d, ' ..
    '"p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "mean_us": %%.1f}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status + bad,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
"""


def lua_script(tmp: Path, name: str, *, pages: list[str], assets: list[str], mode: str,
               absolute: bool, prefix: str) -> Path:
    path = tmp / f"{name}.lua"
    path.write_text(LUA_COMMON % {
        "pages": ", ".join(f'"{p}"' for p in pages),
        "assets": ", ".join(f'"{a}"' for a in assets),
        "prefix": prefix, "absolute": "true" if absolute else "false", "mode": mode,
        "site": SITE, "static": STATIC})
    return path


@dataclass
class Upstream:
    """The benchmark site served by nginx on 127.0.0.1 (HTTP and HTTPS)."""

    pages: list[str]
    assets: list[str]
    ca: Path
    http_port: int
    tls_port: int
    nginx_pid: int = 0


@contextmanager
def upstream_site(tmp: Path, nginx: str) -> Iterator[Upstream]:
    """Make the site and its certificates, start nginx, and stop it afterwards."""
    root, pages, assets = make_site(tmp)
    ca, cert, key = make_certs(tmp)
    site_http, site_tls = free_port(), free_port()
    conf = nginx_conf(tmp, root, site_http, site_tls, cert, key)
    nlog = tmp / "nginx.out"
    with nlog.open("w") as f:
        ng = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp)], stdout=f,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_port(site_http, ng, "nginx", nlog)
        yield Upstream(pages, assets, ca, site_http, site_tls, ng.pid)
    finally:
        ng.terminate()
        try:
            ng.wait(10)
        except subprocess.TimeoutExpired:
            ng.kill()


# -- proxies ----------------------------------------------------------------------------------
@dataclass
class ProxyProc:
    name: str
    proc: subprocess.Popen
    http_port: int
    https_port: int
    confdir: Path
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_proxy(tmp: Path, name: str, *, kidgate: bool, site_http: int, site_tls: int,
                upstream_ca: Path, classifier: bool = True,
                kidgate_options: Sequence[str] = ()) -> ProxyProc:
    http_port, https_port = free_port(), free_port()
    confdir = tmp / f"{name}-conf"
    confdir.mkdir()
    modes = ["--mode", f"regular@{http_port}",
             "--mode", f"reverse:https://{SECURE}:443@{https_port}"]
    common = ["--listen-host", "127.0.0.1", "--set", f"confdir={confdir}",
              "--set", f"ssl_verify_upstream_trusted_ca={upstream_ca}",
              "--set", f"test_routes={SITE}={site_http},{STATIC}={site_http},{SECURE}={site_tls}"]
    log = tmp / f"{name}.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if kidgate:
        data = tmp / f"{name}-data"
        # The daily list update stays off: a benchmark reaches nothing beyond 127.0.0.1.
        args = [sys.executable, "-m", "kidgate.cli", "run", "--data-dir", str(data),
                *([] if classifier else ["--no-classifier"]), "--",
                *modes, "-s", str(ROUTE), "--set", "kidgate_auto_update=false", *common,
                *(a for o in kidgate_options for a in ("--set", o))]
    else:
        args = [sys.executable, "-c", "from mitmproxy.tools.main import mitmdump; mitmdump()",
                *modes, "-s", str(ROUTE), "--set", "connection_strategy=lazy",
                "--set", "flow_detail=0", "--set", "termlog_verbosity=warn", *common]
    with log.open("w") as f:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    p = ProxyProc(name, proc, http_port, https_port, confdir, log)
    _wait_port(http_port, proc, name, log)
    _wait_port(https_port, proc, name, log)
    return p


def check_https_chain(proxy: ProxyProc, ca_path: Path) -> None:
    """The client side of interception is real TLS: the proxy's certificate verifies against
    its CA for the name the client asked for (wrk itself does not verify certificates)."""
    ca = proxy.confdir / "mitmproxy-ca-cert.pem"
    for _ in range(100):
        if ca.exists():
            break
        time.sleep(0.1)
    ctx = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", proxy.https_port), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"GET /static/css/fonts.css HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        head = s.recv(4096)
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"bench: HTTPS check through {proxy.name} failed: {head[:200]!r}\n"
                         f"{proxy.log.read_text(errors='replace')[-2000:]}")


# -- memory -----------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    out = []
    for tdir in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (tdir / "children").read_text().split()]
        except OSError:
            pass
    return out


def process_tree(pid: int) -> list[int]:
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo += _children(p)
    return seen


def memory_mb(pid: int) -> dict[str, float]:
    """Resident and proportional set sizes of a process and all its descendants, in MB."""
    each = []
    for p in process_tree(pid):
        try:
            text = Path(f"/proc/{p}/smaps_rollup").read_text()
            name = Path(f"/proc/{p}/comm").read_text().strip()
        except OSError:
            continue
        sizes = {}
        for line in text.splitlines():
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss"):
                sizes[key] = int(rest.split()[0])
        each.append({"pid": p, "name": name, "rss_mb": round(sizes.get("Rss", 0) / 1024, 1),
                     "pss_mb": round(sizes.get("Pss", 0) / 1024, 1)})
    return {"processes": len(each), "rss_mb": round(sum(e["rss_mb"] for e in each), 1),
            "pss_mb": round(sum(e["pss_mb"] for e in each), 1), "each": each}


def cpu_seconds(pid: int) -> dict[str, float]:
    """CPU time (user + system) used so far by the process and each descendant, by name."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            name = "proxy" if p == pid else Path(f"/proc/{p}/comm").read_text().strip()
        except OSError:
            continue
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
        # The kernel's share (system calls, waking up) of the same total.
        out[f"{name} (system)"] = out.get(f"{name} (system)", 0.0) + int(fields[12]) / tick
    return out


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy (every processor, not idle or waiting)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def bench_cpu_seconds(pids: Sequence[int]) -> float:
    """CPU seconds used so far by the bench's own processes: these process trees and the
    children it has waited for (wrk)."""
    own = sum(v for pid in pids for k, v in cpu_seconds(pid).items() if not k.endswith("(system)"))
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + kids.ru_utime + kids.ru_stime


# -- load -------------------------------------------------------------------------------------
@dataclass
class Workload:
    name: str
    mode: str           # mix | new
    https: bool
    connections: int
    what: str
    seconds_scale: float = 1.0


WORKLOADS = [
    Workload("mix", "mix", False, 8, "realistic mix, 8 keep-alive clients"),
    Workload("new-page", "new", False, 8, "every request a new HTML page, 8 clients"),
    Workload("https-mix", "mix", True, 8, "realistic mix over intercepted HTTPS, 8 clients"),
    Workload("mix-100", "mix", False, 100, "realistic mix, 100 keep-alive clients"),
    Workload("latency", "mix", False, 1, "realistic mix, one client: added latency", 0.75),
]


def run_wrk(wrk: str, proxy: ProxyProc, w: Workload, script: Path, seconds: float) -> dict:
    url = (f"https://localhost:{proxy.https_port}/" if w.https
           else f"http://127.0.0.1:{proxy.http_port}/")
    out = subprocess.run([wrk, "-t1", f"-c{w.connections}", f"-d{max(1, round(seconds))}s",
                          "--latency", "--timeout", "10s", "-s", str(script), url],
                         capture_output=True, text=True, timeout=seconds + 60)
    for line in out.stdout.splitlines():
        if line.startswith("KIDGATE-BENCH "):
            res = json.loads(line.split(" ", 1)[1])
            res["rps"] = res["requests"] / (res["duration_us"] / 1e6)
            return res
    raise SystemExit(f"bench: wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")


def start_profile(proxy: ProxyProc, out: Path, seconds: float) -> subprocess.Popen:
    """py-spy (from PyPI: ``pip install -e '.[bench]'``) on the proxy and its worker processes."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"bench: profiling kidgate into {out}", file=sys.stderr)
    return subprocess.Popen([spy, "record", "--pid", str(proxy.proc.pid), "--subprocesses",
                             "--threads", "--rate", "200", "--duration", str(max(1, int(seconds))),
                             "--format", "raw", "--output", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8.0, help="length of each load run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workloads", default=",".join(w.name for w in WORKLOADS))
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "proxy.json")
    ap.add_argument("--no-classifier", action="store_true", help="kidgate without the models")
    ap.add_argument("--kidgate-set", action="append", default=[], metavar="OPTION=VALUE",
                    help="a further option for kidgate only, e.g. kidgate_lean=false")
    ap.add_argument("--profile", metavar="WORKLOAD",
                    help="sample kidgate's processes with py-spy during this workload's last "
                         "round; collapsed stacks go next to the JSON file")
    ap.add_argument("--profile-bare", action="store_true",
                    help="with --profile: sample mitmproxy alone instead, for comparison")
    args = ap.parse_args(argv)
    chosen = [w for w in WORKLOADS if w.name in args.workloads.split(",")]
    nginx = _need("nginx", "nginx-light")
    wrk = _need("wrk", "wrk")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kidgate-proxybench-") as t:
        tmp = Path(t)
        proxies: list[ProxyProc] = []
        with upstream_site(tmp, nginx) as up:
            pages, assets, ca, site_http, site_tls = up.pages, up.assets, up.ca, up.http_port, up.tls_port
            try:
                bare = start_proxy(tmp, "mitmproxy", kidgate=False, site_http=site_http,
                                   site_tls=site_tls, upstream_ca=ca)
                proxies.append(bare)
                kg = start_proxy(tmp, "kidgate", kidgate=True, site_http=site_http,
                                 site_tls=site_tls, upstream_ca=ca,
                                 classifier=not args.no_classifier,
                                 kidgate_options=args.kidgate_set)
                proxies.append(kg)
                for p in proxies:
                    check_https_chain(p, ca)  # answers only once start-up (models included) is over
                mem_start = memory_mb(kg.proc.pid)
                # Warm-up: first requests load lazily imported code on both sides.
                for p in proxies:
                    warm = Workload("warm", "mix", False, 4, "")
                    run_wrk(wrk, p, warm, lua_script(tmp, "warm", pages=pages, assets=assets,
                                                     mode="mix", absolute=True, prefix="w"), 2)
                results: dict[str, dict[str, list[dict]]] = {w.name: {"mitmproxy": [], "kidgate": []}
                                                             for w in chosen}
                for r in range(args.rounds):
                    for w in chosen:
                        order = proxies if r % 2 == 0 else proxies[::-1]
                        for p in order:
                            script = lua_script(tmp, f"{w.name}-{p.name}-{r}", pages=pages,
                                                assets=assets, mode=w.mode, absolute=not w.https,
                                                prefix=f"{p.name}{r}")
                            spy = None
                            target = bare if args.profile_bare else kg
                            if p is target and args.profile == w.name and r == args.rounds - 1:
                                spy = start_profile(p, args.json.with_suffix(f".{p.name}.{w.name}.folded"),
                                                    args.seconds * w.seconds_scale)
                            ours = [p.proc.pid, up.nginx_pid]
                            busy0, ours0 = busy_cpu_seconds(), bench_cpu_seconds(ours)
                            cpu0 = cpu_seconds(p.proc.pid)
                            res = run_wrk(wrk, p, w, script, args.seconds * w.seconds_scale)
                            cpu1 = cpu_seconds(p.proc.pid)
                            busy1, ours1 = busy_cpu_seconds(), bench_cpu_seconds(ours)
                            # What else ran on the machine meanwhile: kidgate needs more than
                            # one core, so another job's load lowers its figure more than
                            # mitmproxy alone's (which is bound by one core).
                            res["other_cores"] = round(max(0.0, (busy1 - busy0) - (ours1 - ours0))
                                                       / max(res["duration_us"] / 1e6, 0.1), 2)
                            res["cpu_ms_per_request"] = {
                                k: round((cpu1[k] - cpu0.get(k, 0.0)) * 1000 / max(res["requests"], 1), 3)
                                for k in cpu1 if cpu1[k] - cpu0.get(k, 0.0) > 0}
                            if spy is not None:
                                spy.wait(60)
                            results[w.name][p.name].append(res)
                        b, k = results[w.name]["mitmproxy"][-1], results[w.name]["kidgate"][-1]
                        print(f"round {r + 1}/{args.rounds} {w.name:<10} mitmproxy {b['rps']:7.0f} req/s"
                              f"  kidgate {k['rps']:7.0f} req/s  ratio {k['rps'] / b['rps']:.3f}"
                              f"  (other processes: {b['other_cores']:.2f} / {k['other_cores']:.2f}"
                              " cores)", file=sys.stderr, flush=True)
                mem_end = memory_mb(kg.proc.pid)
                mem_bare = memory_mb(bare.proc.pid)
            finally:
                for p in proxies:
                    p.stop()
    summary = summarise(results, chosen)
    report = {"machine": machine(), "seconds": args.seconds, "rounds": args.rounds,
              "mitmproxy": _mitmproxy_version(), "classifier": not args.no_classifier,
              "kidgate_options": args.kidgate_set,
              "workloads": summary,
              "memory": {"kidgate_after_start": mem_start, "kidgate_after_load": mem_end,
                         "mitmproxy_after_load": mem_bare},
              "elapsed_s": round(time.monotonic() - started, 1)}
    print_report(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"(JSON: {args.json})")
    bad = [w for w, s in summary.items() if s["errors"]]
    if bad:
        print(f"bench: errors in {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


def summarise(results: dict[str, dict[str, list[dict]]], chosen: list[Workload]) -> dict:
    out = {}
    for w in chosen:
        b, k = results[w.name]["mitmproxy"], results[w.name]["kidgate"]
        med = lambda runs, key: statistics.median(x[key] for x in runs)  # noqa: E731
        ratios = [kr["rps"] / br["rps"] for br, kr in zip(b, k)]
        out[w.name] = {
            "what": w.what,
            "mitmproxy_rps": round(med(b, "rps"), 1), "kidgate_rps": round(med(k, "rps"), 1),
            # Each round's kidgate run is paired with the mitmproxy run next to it: the median of
            # those ratios is robust to a machine whose speed changes between rounds.
            "ratio": round(statistics.median(ratios), 3),
            "ratio_per_round": [round(x, 3) for x in ratios],
            "mitmproxy_p50_ms": round(med(b, "p50_us") / 1000, 2),
            "mitmproxy_p99_ms": round(med(b, "p99_us") / 1000, 2),
            "kidgate_p50_ms": round(med(k, "p50_us") / 1000, 2),
            "kidgate_p99_ms": round(med(k, "p99_us") / 1000, 2),
            "added_p50_ms": round((med(k, "p50_us") - med(b, "p50_us")) / 1000, 2),
            "added_p99_ms": round((med(k, "p99_us") - med(b, "p99_us")) / 1000, 2),
            "errors": sum(x["socket_errors"] + x["non_200"] for x in b + k),
            "cpu_ms_per_request": {"mitmproxy": _median_cpu(b), "kidgate": _median_cpu(k)},
            "other_cores": {"mitmproxy": round(med(b, "other_cores"), 2),
                            "kidgate": round(med(k, "other_cores"), 2)},
        }
    return out


def _median_cpu(runs: list[dict]) -> dict[str, float]:
    names = {n for r in runs for n in r.get("cpu_ms_per_request", {})}
    return {n: round(statistics.median(r.get("cpu_ms_per_request", {}).get(n, 0.0) for r in runs), 3)
            for n in sorted(names)}


def print_report(report: dict) -> None:
    print(f"\nproxy benchmark: nginx upstream, wrk client, mitmproxy {report['mitmproxy']}, "
          f"{report['rounds']} interleaved rounds of {report['seconds']:.0f} s, medians")
    print(f"machine: {report['machine']}")
    print(f"{'workload':<11}{'mitmproxy':>11}{'kidgate':>9}{'ratio':>7}   {'p50 ms':>13}"
          f"{'p99 ms':>15}{'added p50/p99':>16}{'errors':>8}")
    for name, s in report["workloads"].items():
        print(f"{name:<11}{s['mitmproxy_rps']:>11.0f}{s['kidgate_rps']:>9.0f}{s['ratio']:>7.2f}   "
              f"{s['mitmproxy_p50_ms']:>6.2f}/{s['kidgate_p50_ms']:<6.2f}"
              f"{s['mitmproxy_p99_ms']:>7.2f}/{s['kidgate_p99_ms']:<7.2f}"
              f"{s['added_p50_ms']:>7.2f}/{s['added_p99_ms']:<8.2f}{s['errors']:>6}")
    print("CPU per request (ms, medians; 'proxy' is the process the clients talk to):")
    for name, s in report["workloads"].items():
        cpu = s["cpu_ms_per_request"]
        print(f"  {name:<10} mitmproxy: " + ", ".join(f"{k} {v:.2f}" for k, v in cpu["mitmproxy"].items())
              + "   kidgate: " + ", ".join(f"{k} {v:.2f}" for k, v in cpu["kidgate"].items()))
    print("other processes on the machine during the runs (cores busy outside the bench, "
          "medians; kidgate uses more than one core, so their load lowers its ratio):")
    print("  " + ", ".join(f"{name} {s['other_cores']['mitmproxy']:.2f} / {s['other_cores']['kidgate']:.2f}"
                           for name, s in report["workloads"].items()) + " (mitmproxy / kidgate)")
    m = report["memory"]
    for key, label in (("kidgate_after_start", "kidgate after start"),
                       ("kidgate_after_load", "kidgate after load"),
                       ("mitmproxy_after_load", "mitmproxy alone")):
        v = m[key]
        print(f"memory, {label}: {v['processes']} processes, resident {v['rss_mb']:.0f} MB summed, "
              f"proportional {v['pss_mb']:.0f} MB ("
              + ", ".join(f"{e['name']} {e['rss_mb']:.0f}/{e['pss_mb']:.0f}" for e in v["each"])
              + ")")
    print("(req/s: medians per proxy; p50/p99 are mitmproxy/kidgate; ratio: median over the "
          "rounds of kidgate / mitmproxy in the same round; 'latency' is one client at a time, "
          "the others are saturated; "
          f"{report['elapsed_s']:.0f} s in all)")


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{len(os.sched_getaffinity(0))} CPUs ({cpu}), {mem:.0f} GB, Python {sys.version.split()[0]}"


def _mitmproxy_version() -> str:
    from mitmproxy.version import VERSION
    return VERSION


if __name__ == "__main__":
    raise SystemExit(main())
