"""Proxy throughput: mitmproxy alone against mitmproxy with kidgate, in the same run.

A local web server serves a 30 KB HTML page; a keep-alive HTTP/1.1 load generator sends
requests through the proxy for a fixed time. Runs alternate (plain, kidgate, plain, ...) so
that machine noise hits both alike; medians and the ratio are printed.

    python -m bench.proxy_bench [--seconds 5] [--rounds 3] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.proxy import ROUTE, Site, run_proxy

PAGE = (b"<!doctype html><html><head><title>Garden notes</title></head><body>"
        + b"<p>How to grow tomatoes and beans in a small garden, with compost and water.</p>" * 380
        + b"</body></html>")


async def _worker(port: int, deadline: float, counter: list[int], ident: int,
                  latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    try:
        while time.perf_counter() < deadline:
            n += 1
            start = time.perf_counter()
            writer.write(f"GET http://garden.test/page?c={ident}&n={n} HTTP/1.1\r\n"
                         f"Host: garden.test\r\nAccept: text/html\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200") or len(body) != len(PAGE):
                raise RuntimeError(f"unexpected response: {head[:80]!r}")
            counter[0] += 1
            latencies.append(time.perf_counter() - start)
    finally:
        writer.close()


async def _load(port: int, seconds: float, connections: int) -> tuple[float, float]:
    # Warm-up: the first requests load models and lists.
    await asyncio.gather(*(_worker(port, time.perf_counter() + 1.0, [0], i, [])
                           for i in range(connections)))
    counter, latencies = [0], []
    start = time.perf_counter()
    await asyncio.gather(*(_worker(port, start + seconds, counter, 1000 + i, latencies)
                           for i in range(connections)))
    elapsed = time.perf_counter() - start
    return counter[0] / elapsed, statistics.median(latencies) * 1000


def _plain_proxy(tmp: Path, site_port: int):
    """mitmdump with only the test routing addon: the baseline."""
    from tests.support.proxy import free_port
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from mitmproxy.tools.main import mitmdump; mitmdump()",
         "-s", str(ROUTE), "--listen-host", "127.0.0.1", "--listen-port", str(port),
         "--set", f"confdir={tmp}", "--set", "flow_detail=0",
         "--set", "connection_strategy=lazy", "--set", f"test_routes=garden.test={site_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import socket
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return port, proc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=8)
    args = ap.parse_args(argv)
    site = Site({"/page": (200, {"Content-Type": "text/html; charset=utf-8"}, PAGE)}).start()
    results: dict[str, list[tuple[float, float]]] = {
        "mitmproxy alone": [], "kidgate, no model": [], "kidgate": []}
    try:
        for r in range(args.rounds):
            with tempfile.TemporaryDirectory() as t:
                port, proc = _plain_proxy(Path(t), site.port)
                try:
                    results["mitmproxy alone"].append(asyncio.run(_load(port, args.seconds, args.connections)))
                finally:
                    proc.terminate()
                    proc.wait(10)
            for name, classifier in (("kidgate, no model", False), ("kidgate", True)):
                with tempfile.TemporaryDirectory() as t, \
                        run_proxy(Path(t), routes={"garden.test": site.port}, classifier=classifier,
                                  options=["--set", "kidgate_site_labels=false"]) as proxy:
                    results[name].append(asyncio.run(_load(proxy.port, args.seconds, args.connections)))
            print(f"round {r + 1}/{args.rounds}: "
                  + ", ".join(f"{k} {v[-1][0]:.0f} req/s" for k, v in results.items()),
                  file=sys.stderr)
    finally:
        site.stop()
    base = statistics.median(x[0] for x in results["mitmproxy alone"])
    print(f"{'setup':<20}{'req/s (median)':>16}{'latency ms':>12}{'ratio':>8}")
    for name, runs in results.items():
        rps = statistics.median(x[0] for x in runs)
        lat = statistics.median(x[1] for x in runs)
        print(f"{name:<20}{rps:>16.0f}{lat:>12.2f}{rps / base:>8.2f}")
    print("(30 KB HTML page, HTTP/1.1 keep-alive, unique URLs so no verdict is cached; "
          "kidgate: the shipped default child profile with lists and labels, without and with "
          "the classifier)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
