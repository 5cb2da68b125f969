"""Soak: ``kidgate run`` under steady load for minutes, watched for what only time shows.

nginx serves the benchmark site (``bench.proxy_bench``), wrk drives the realistic mix. First
the capacity is measured (requests/s with 8 clients, as fast as they go); then wrk holds 80% of
it for ``--seconds``, in slices, while the resident memory and open file descriptors of every
kidgate process are sampled. Afterwards the decision log must parse line by line and the
database must pass SQLite's integrity check.

Pass: memory growth under 10% (from the first slice, after warm-up, to the last), no request
errors, no file-descriptor growth beyond a small margin, log and database consistent.

    python -m bench.soak [--seconds 600] [--json bench/out/soak.json]     # make soak
    python -m bench.soak --seconds 60                                      # the CI version
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.proxy_bench import (ROOT, Workload, _need, lua_script, memory_mb, process_tree,
                               run_wrk, start_proxy, upstream_site)

MAX_GROWTH = 0.10
FD_MARGIN = 32
LOAD = 0.8


def open_fds(pid: int) -> int:
    total = 0
    for p in process_tree(pid):
        try:
            total += len(list(Path(f"/proc/{p}/fd").iterdir()))
        except OSError:
            pass
    return total


def paced_script(script: Path, delay_ms: float) -> Path:
    """The bench's wrk script with a pause before each request: a steady, bounded rate."""
    paced = script.with_name(script.stem + "-paced.lua")
    paced.write_text(script.read_text() + f"\nfunction delay()\n  return {delay_ms:.3f}\nend\n")
    return paced


def check_log(data: Path) -> tuple[int, list[str]]:
    """Decisions in the log files; lines that are not JSON objects (there must be none)."""
    lines, bad = 0, []
    for f in sorted(data.glob("decisions*.jsonl")):
        for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
            lines += 1
            try:
                if not isinstance(json.loads(line), dict):
                    raise ValueError("not an object")
            except ValueError:
                bad.append(f"{f.name}:{n}: {line[:80]!r}")
    return lines, bad


def check_db(data: Path) -> str:
    db = data / "kidgate.db"
    if not db.exists():
        return "no database"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600.0, help="length of the soak")
    ap.add_argument("--slices", type=int, default=10, help="samples of memory and descriptors")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "soak.json")
    args = ap.parse_args(argv)
    nginx, wrk = _need("nginx", "nginx-light"), _need("wrk", "wrk")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kidgate-soak-") as t:
        tmp = Path(t)
        kg = None
        with upstream_site(tmp, nginx) as up:
            try:
                kg = start_proxy(tmp, "kidgate", kidgate=True, site_http=up.http_port,
                                 site_tls=up.tls_port, upstream_ca=up.ca)
                time.sleep(2)
                w = Workload("soak", "mix", False, 8, "realistic mix, 8 clients")
                script = lua_script(tmp, "soak", pages=up.pages, assets=up.assets, mode="mix",
                                    absolute=True, prefix="s")
                run_wrk(wrk, kg, w, script, 3)  # warm-up
                capacity = run_wrk(wrk, kg, w, script, 5)["rps"]
                target = LOAD * capacity
                # Each client takes connections/capacity s per request at full speed; a pause
                # of the difference brings the rate down to the target.
                paced = paced_script(script, 1000 * w.connections * (1 / target - 1 / capacity))
                print(f"soak: capacity {capacity:.0f} req/s; holding {target:.0f} req/s for "
                      f"{args.seconds:.0f} s", file=sys.stderr, flush=True)
                samples, errors, requests, rates = [], 0, 0, []
                slice_s = max(1.0, args.seconds / args.slices)
                for i in range(args.slices):
                    res = run_wrk(wrk, kg, w, paced, slice_s)
                    errors += res["socket_errors"] + res["non_200"]
                    requests += res["requests"]
                    rates.append(res["rps"])
                    mem = memory_mb(kg.proc.pid)
                    samples.append({"t_s": round((i + 1) * slice_s), "rss_mb": mem["rss_mb"],
                                    "pss_mb": mem["pss_mb"], "fds": open_fds(kg.proc.pid),
                                    "rps": round(res["rps"], 1), "p99_us": res["p99_us"]})
                    print(f"soak: {samples[-1]}", file=sys.stderr, flush=True)
                alive = kg.proc.poll() is None
            finally:
                if kg is not None:
                    kg.stop()
        data = tmp / "kidgate-data"
        log_lines, bad_lines = check_log(data)
        integrity = check_db(data)
    first, last = samples[0], samples[-1]
    growth = (last["pss_mb"] - first["pss_mb"]) / first["pss_mb"]
    report = {
        "seconds": args.seconds, "capacity_rps": round(capacity, 1),
        "target_rps": round(target, 1), "median_rps": round(statistics.median(rates), 1),
        "requests": requests, "errors": errors, "memory_growth": round(growth, 4),
        "fd_growth": last["fds"] - first["fds"], "decision_log_lines": log_lines,
        "bad_log_lines": bad_lines[:5], "database": integrity, "proxy_alive": alive,
        "samples": samples, "elapsed_s": round(time.monotonic() - started, 1),
    }
    failures = []
    if growth >= MAX_GROWTH:
        failures.append(f"memory grew {growth:.1%} (limit {MAX_GROWTH:.0%})")
    if errors:
        failures.append(f"{errors} request errors")
    if report["fd_growth"] > FD_MARGIN:
        failures.append(f"{report['fd_growth']} more open files")
    if bad_lines or log_lines == 0:
        failures.append(f"decision log: {len(bad_lines)} bad lines of {log_lines}")
    if integrity != "ok":
        failures.append(f"database: {integrity}")
    if not alive:
        failures.append("kidgate exited during the soak")
    report["result"] = "pass" if not failures else "; ".join(failures)
    print(json.dumps({k: v for k, v in report.items() if k != "samples"}, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
