"""``kidgate check --jsonl`` throughput: records per second through the whole decision path.

Measured in the same run against a baseline that only parses and re-serialises the JSON lines
(the floor any checker pays), for URL records and for page records (60 real pages).

    python -m bench.check_bench [--records 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import time
from pathlib import Path

from kidgate.cli import check_jsonl
from kidgate.engine import Engine
from policies import config

PAGES = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "pages" / "readability"
WORDS = ["news", "garden", "school", "shop", "casino", "chat", "video", "music", "bet", "porn",
         "wiki", "forum", "game", "sport", "weather", "recipes", "cars", "travel"]


def url_records(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        host = f"{rng.choice(WORDS)}{rng.randrange(10_000)}.{rng.choice(['com', 'ro', 'net', 'org'])}"
        if i % 5 == 0:
            host = rng.choice(["pornhub.com", "www.bet365.com", "facebook.com", "wikipedia.org"])
        out.append(json.dumps({"id": i, "url": f"https://{host}/{rng.choice(WORDS)}/{i}"}))
    return out


def page_records(n: int) -> list[str]:
    pages = sorted(PAGES.glob("*.html")) if PAGES.is_dir() else []
    if not pages:
        return []
    html = [p.read_text(errors="replace") for p in pages]
    return [json.dumps({"id": i, "url": f"https://site{i}.example/article",
                        "html": html[i % len(html)]}) for i in range(n)]


def _parse_only(lines: list[str]) -> None:
    out = io.StringIO()
    for line in lines:
        out.write(json.dumps(json.loads(line)) + "\n")


def _rate(fn, lines: list[str], rounds: int) -> float:
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn(lines)
        rates.append(len(lines) / (time.perf_counter() - start))
    return statistics.median(rates)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    cfg = config.load()
    profile = cfg.profile(None)
    engines = {"lists + labels": Engine.from_config(cfg, with_classifier=False),
               "lists + labels + classifier": Engine.from_config(cfg)}
    print(f"{'records':<8}{'pipeline':<30}{'records/s':>12}{'vs JSON parse':>15}")
    for kind, lines in (("urls", url_records(args.records)),
                        ("pages", page_records(max(args.records // 10, 60)))):
        if not lines:
            continue
        base = _rate(_parse_only, lines, args.rounds)
        print(f"{kind:<8}{'JSON parse only (baseline)':<30}{base:>12.0f}{1.0:>15.2f}")
        for name, engine in engines.items():
            if engine.load_errors:
                print(f"{kind:<8}{name:<30}{'unavailable: ' + ', '.join(engine.load_errors):>27}")
                continue
            def run(ls: list[str], e: Engine = engine) -> None:
                check_jsonl(e, profile, io.StringIO("\n".join(ls) + "\n"), io.StringIO())
            rate = _rate(run, lines, args.rounds)
            print(f"{kind:<8}{name:<30}{rate:>12.0f}{rate / base:>15.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
