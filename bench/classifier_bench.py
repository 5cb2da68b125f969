"""Classifier benchmark on the 60 real pages: latency, memory, jsonl throughput, naive baseline.

Run with ``.venv/bin/python -m bench.classifier_bench [--data DIR] [--rounds N]``. Targets:
extraction (3,000 characters) + classification (up to three page-text windows, the word-meaning
model on the same windows, weighted terms, stance markers) median <= 1 ms and p99 <= 5 ms per page on one core, <= 100 MB
resident for the loaded models, >= 1000 pages/s through ``classify --jsonl``. The naive pipeline
(whole visible text, word 1-2-gram HashingVectorizer + linear model, no cap) runs in the same
process on the same pages so the ratios are fair.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PAGES = REPO.parent / "shared" / "datasets" / "pages" / "readability"


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def naive_pipeline(pages: list[bytes]):
    """Whole text, word 1-2 grams, hashing, linear model: what a first attempt would do."""
    import numpy as np
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import SGDClassifier

    from classifier.extract import extract

    vec = HashingVectorizer(ngram_range=(1, 2), n_features=2**20, alternate_sign=False)
    texts = [extract(p, content_type="text/html", max_bytes=1 << 30, max_chars=1 << 30).text
             for p in pages]
    model = SGDClassifier(loss="log_loss", random_state=0).fit(
        vec.transform(texts + ["bad words here"] * 3), np.array([0] * len(texts) + [1] * 3))

    def run(page: bytes) -> float:
        t = extract(page, content_type="text/html", max_bytes=1 << 30, max_chars=1 << 30).text
        return float(model.predict_proba(vec.transform([t]))[0, 1])

    return run


def print_stages(clf, pages: list[bytes], rounds: int) -> None:
    """CPU time per page of each stage of ``Classifier.classify`` as it runs them (the page-text
    windows scored together, the terms on the tokens the windows made), beside the whole call
    on the same pages in the same rounds (each page's order alternating): the stages' means add
    up to the whole call's mean, and what is left (merging the models' scores, the result
    object, the cache's bookkeeping) is printed as "rest"."""
    import classifier
    from classifier.extract import extract_view, read_body

    headers = {"content-type": "text/html"}
    names = ("read body + cache key", "extract", "normalize", "windows + tokens", "page-text model",
             "word-meaning model", "weighted terms")
    stages: dict[str, list[float]] = {k: [] for k in names}
    whole: list[float] = []
    clock = time.process_time

    def run_stages(p: bytes) -> None:
        c0 = clock()
        view = read_body(p, content_type="text/html")
        h = classifier._KEY_HASH()
        classifier._hash_parts(h, b"html %d" % view.kind, b"text/html", *view.parts)
        h.digest()
        c1 = clock()
        text = extract_view(view, content_type="text/html").text
        c2 = clock()
        norm = classifier.normalize(text)
        c3 = clock()
        cs = [c0, c1, c2, c3]
        if norm:
            spans, win_toks, toks, own = classifier._text_tokens(norm)
            cs.append(clock())
            if clf.text_model is not None:
                clf.text_model.windows_decision(norm, spans, win_toks)
            cs.append(clock())
            if clf.meaning is not None:
                for words in win_toks:
                    clf.meaning.decision(words)
            cs.append(clock())
            if clf.terms is not None:
                clf.terms.score(norm, normalized=True, toks=toks, own_tokens=own)
            cs.append(clock())
        else:
            cs += [c3] * 4
        for name, a, b in zip(names, cs, cs[1:]):
            stages[name].append((b - a) * 1000)

    def run_whole(p: bytes) -> None:
        c = clock()
        clf.classify(html=p, headers=headers)
        whole.append((clock() - c) * 1000)

    for r in range(rounds):
        for i, p in enumerate(pages):
            for fn in ((run_stages, run_whole) if (r + i) % 2 else (run_whole, run_stages)):
                fn(p)
    total = sum(statistics.mean(v) for v in stages.values())
    print("stages (CPU median / mean per page, ms): " + "; ".join(
        f"{k} {statistics.median(v):.3f} / {statistics.mean(v):.3f}" for k, v in stages.items()))
    print(f"  sum of the stages' means {total:.3f} ms; whole classify() median "
          f"{statistics.median(whole):.3f} / mean {statistics.mean(whole):.3f} ms; rest (merging, "
          f"result, cache) {statistics.mean(whole) - total:.3f} ms")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", default=str(DEFAULT_PAGES))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--models", default=None)
    ap.add_argument("--stages", action="store_true", help="also print the cost of each stage")
    args = ap.parse_args(argv)
    try:
        all_cpus = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {sorted(all_cpus)[0]})  # one core
    except (AttributeError, OSError):
        all_cpus = None
    pages = [p.read_bytes() for p in sorted(Path(args.pages).glob("*.html"))]
    if not pages:
        print(f"no pages under {args.pages}", file=sys.stderr)
        return 2

    import numpy  # noqa: F401  - libraries load before the baseline RSS
    import sklearn  # noqa: F401

    import classifier
    from classifier.batch import classify_jsonl_parallel, default_jobs

    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    clf = classifier.load(Path(args.models) if args.models else None, cache_size=0)
    load_s = time.perf_counter() - t0
    gc.collect()
    model_mb = rss_mb() - before
    headers = {"content-type": "text/html"}

    def timed(fn, rounds: int) -> tuple[list[float], list[float]]:
        """Per-page wall time and CPU time of this process (ms)."""
        wall, cpu = [], []
        for _ in range(rounds):
            for p in pages:
                c, t = time.process_time(), time.perf_counter()
                fn(p)
                wall.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
        return wall, cpu

    ours_wall, ours = timed(lambda p: clf.classify(html=p, headers=headers), args.rounds)
    naive = naive_pipeline(pages)
    base_wall, base = timed(naive, args.rounds)

    # classify --jsonl throughput on a file, as `kidgate classify --jsonl --input FILE` reads it:
    # one process on one core, then worker processes on every usable core (the default).
    # The marker comes first so that every record is new content: the cache cannot help.
    n_rep = 20
    jsonl = tempfile.NamedTemporaryFile(prefix="kidgate-bench-", suffix=".jsonl")
    n_lines = 0
    for j in range(n_rep):
        for i, p in enumerate(pages):
            jsonl.write(json.dumps({"id": f"{i}-{j}", "url": f"http://example.org/{i}",
                                    "html": f"<!-- {j} -->" + p.decode("utf-8", "replace")}
                                   ).encode("utf-8") + b"\n")
            n_lines += 1
    jsonl.flush()
    mean_kb = os.path.getsize(jsonl.name) / n_lines / 1024

    def run_jsonl(jobs: int) -> tuple[float, float, int]:
        clf.cache_clear()
        out = io.StringIO()
        t, c = time.perf_counter(), time.process_time()
        classify_jsonl_parallel(clf, jsonl.name, out, jobs=jobs)
        errs = sum('"error"' in ln for ln in out.getvalue().splitlines())
        return time.perf_counter() - t, time.process_time() - c, errs

    jsonl_s, jsonl_cpu, errors = run_jsonl(1)
    if all_cpus:
        os.sched_setaffinity(0, all_cpus)
    jobs = default_jobs()
    par_s, _, par_errors = run_jsonl(jobs)
    errors += par_errors
    jsonl.close()
    pps = n_lines / jsonl_s
    pps_cpu = n_lines / jsonl_cpu
    pps_par = n_lines / par_s

    med, p99 = statistics.median(ours), pct(ours, 0.99)
    bmed, bp99 = statistics.median(base), pct(base, 0.99)
    print(f"pages: {len(pages)} x {args.rounds} rounds (median size {statistics.median(map(len, pages)) / 1024:.0f} KB)")
    print(f"model load: {load_s * 1000:.0f} ms, resident memory added: {model_mb:.1f} MB (target <= 100)")
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"load average {load:.2f} on {os.cpu_count()} CPUs; pinned to one core; "
          "CPU time = this process's time on that core, wall time includes time taken by others")
    print(f"kidgate classifier: CPU median {med:.3f} ms, p99 {p99:.3f} ms, max {max(ours):.3f} ms "
          f"(targets 1 / 5 ms); wall median {statistics.median(ours_wall):.3f} ms, "
          f"p99 {pct(ours_wall, 0.99):.3f} ms")
    print(f"naive pipeline:     CPU median {bmed:.3f} ms, p99 {bp99:.3f} ms, max {max(base):.3f} ms; "
          f"wall median {statistics.median(base_wall):.3f} ms, p99 {pct(base_wall, 0.99):.3f} ms")
    print(f"ratio naive/kidgate (CPU): median x{bmed / med:.1f}, p99 x{bp99 / p99:.1f}")
    print(f"classify --jsonl: {n_lines} records (mean {mean_kb:.0f} KB of JSON each), {errors} errors")
    print(f"  one process, one core: wall {jsonl_s:.2f} s = {pps:.0f} pages/s, "
          f"CPU {jsonl_cpu:.2f} s = {pps_cpu:.0f} pages/s")
    print(f"  {jobs} worker processes (--jobs default): wall {par_s:.2f} s = {pps_par:.0f} pages/s "
          f"(target >= 1000), x{pps_par / pps:.2f} the single process")
    if args.stages:
        print_stages(clf, pages, args.rounds)
    ok = med <= 1.0 and p99 <= 5.0 and model_mb <= 100 and pps_par >= 1000
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
