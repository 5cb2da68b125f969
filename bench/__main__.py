"""Run every kidgate benchmark: ``python -m bench [--quick]`` (or ``make bench``).

Each benchmark measures kidgate against a baseline in the same run and prints ratios, so the
figures stay comparable on a noisy machine. ``--quick`` uses small sizes for a smoke run.
"""

from __future__ import annotations

import argparse
import sys

from bench import check_bench, classifier_bench, lists_bench, proxy_bench

FULL = {
    "lists": (lists_bench.main, []),
    "classifier": (classifier_bench.main, []),
    "check": (check_bench.main, []),
    "proxy": (proxy_bench.main, []),
}
QUICK = {
    "lists": ["--entries", "200000"],
    "check": ["--records", "5000", "--rounds", "1"],
    "proxy": ["--seconds", "3", "--rounds", "1"],
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one round")
    ap.add_argument("only", nargs="*", help=f"benchmarks to run: {', '.join(FULL)} (default: all)")
    args = ap.parse_args(argv)
    if unknown := set(args.only) - set(FULL):
        ap.error(f"unknown benchmark: {', '.join(sorted(unknown))}")
    status = 0
    for name, (fn, default_args) in FULL.items():
        if args.only and name not in args.only:
            continue
        print(f"\n== {name} ==", flush=True)
        status |= fn(QUICK.get(name, default_args) if args.quick else default_args) or 0
    return status


if __name__ == "__main__":
    sys.exit(main())
