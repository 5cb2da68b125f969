"""`kidgate train | eval | classify` subcommands; kidgate/cli.py calls :func:`register`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "datasets"


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _data_dir(arg: str | None) -> Path:
    d = Path(arg) if arg else DEFAULT_DATA
    if not d.is_dir():
        where = arg or f"{DEFAULT_DATA} (the default, ../shared/datasets from the repository root)"
        raise SystemExit(f"kidgate: training data directory not found: {where}; "
                         "pass --data DIR pointing at the datasets folder (text/, domains/, pages/)")
    return d


def register(subparsers: Any) -> None:
    """Add ``train``, ``eval`` and ``classify`` to an argparse subparsers object."""
    p = subparsers.add_parser("train", help="train the content classifier into models/")
    p.add_argument("--data", help="datasets directory (default: ../shared/datasets)")
    p.add_argument("--out", default=str(REPO_ROOT / "models"), help="output directory (default: models/)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-cross-source", action="store_true", help="skip cross-source evaluation")
    p.add_argument("--no-compare", action="store_true",
                   help="skip the first release's recipe in the leave-one-source-out comparison")
    p.add_argument("--max-features", type=int, default=150_000)
    p.add_argument("--meaning", action="store_true",
                   help="also fit the word-meaning model on the shipped word table "
                        "(not in the shipped models: see README)")
    p.add_argument("--distil", action="store_true",
                   help="rebuild the word table (models/word_vectors.npz) with the teacher "
                        "encoder first, then fit the word-meaning model (needs "
                        "kidgate[teacher], x86-64; ~10 minutes)")
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser("eval", help="evaluate the shipped classifier on held-out data")
    p.add_argument("--data", help="datasets directory (default: ../shared/datasets)")
    p.add_argument("--models", help="models directory (default: the shipped models/)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", default="pr_curves.png", help="PR-curve image to write")
    p.add_argument("--json", dest="json_out", help="write the full report as JSON here")
    p.add_argument("--no-cross-source", action="store_true", help="skip cross-source evaluation")
    p.add_argument("--compare", action="store_true",
                   help="also run the first release's recipe through leave-one-source-out")
    p.set_defaults(func=cmd_eval)

    p = subparsers.add_parser("classify", help="score pages with the content classifier")
    p.add_argument("--jsonl", action="store_true",
                   help="read JSON lines (id, url, text, html) on stdin, write scores as JSON lines")
    p.add_argument("--models", help="models directory (default: the shipped models/)")
    p.add_argument("--input", help="read from this file instead of stdin")
    p.add_argument("--explain", action="store_true", help="include top features per category")
    p.add_argument("--jobs", type=_positive_int, default=None,
                   help="worker processes for --jsonl (default: every usable CPU)")
    p.add_argument("url", nargs="?", help="a single URL to score with the URL/host model")
    p.set_defaults(func=cmd_classify)


def cmd_train(args: argparse.Namespace) -> int:
    from classifier.train import train

    data = _data_dir(args.data)
    rep = train(data, Path(args.out), seed=args.seed, say=_say, max_features=args.max_features,
                cross_source=not args.no_cross_source, compare_v1=not args.no_compare,
                distil=args.distil, meaning=args.meaning)
    _say(f"wrote {args.out}/MODEL_CARD.md")
    print(_summary(rep))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import classifier
    from classifier.train import evaluate, load_word_table

    data = _data_dir(args.data)
    models = Path(args.models) if args.models else None
    clf = classifier.load(models)
    rep = evaluate(clf, data, seed=args.seed, say=_say, cross_source=not args.no_cross_source,
                   plot=Path(args.plot) if args.plot else None, compare_v1=args.compare,
                   table=load_word_table(models))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rep, indent=2, default=float), encoding="utf-8")
    print(_summary(rep))
    return 0


def _summary(rep: dict[str, Any]) -> str:
    """The report for a terminal: leave-one-source-out first, then the within-source figures."""
    from classifier.card import _block_table, _cat_table, loso_tables

    out: list[str] = []
    loso = rep.get("cross_source", {}).get("loso")
    if loso:
        out += ["leave-one-source-out (each source held out of training; thresholds for 3%/5% "
                "over-blocking chosen on the other sources' calibration split):",
                loso_tables(loso, rep.get("loso_v1")), ""]
    out += ["page text + terms (held out within sources):", _cat_table(rep["text_within"]), "",
            _block_table(rep["text_blocking"]), "", "URL/host (held-out domains):",
            _cat_table(rep["url_within"]), "", _block_table(rep["url_blocking"]), "",
            f"hand-written: {json.dumps(rep.get('handwritten', {}), default=float)}",
            f"real pages: {json.dumps(rep.get('real_pages', {}), default=float)}"]
    lists = rep.get("cross_source", {}).get("url_lists")
    if lists:
        from classifier.card import url_lists_text

        out += ["", "URL/host model, lists held out (worst first):", url_lists_text(lists)]
    return "\n".join(out)


def _positive_int(v: str) -> int:
    try:
        n = int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {v!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def cmd_classify(args: argparse.Namespace) -> int:
    import classifier
    from classifier.batch import classify_jsonl_parallel

    if args.jsonl and args.input:
        try:
            with open(args.input, "rb"):
                pass
        except OSError as e:  # before loading the models: a typo should fail at once
            raise SystemExit(f"kidgate classify: cannot read --input {args.input}: "
                             f"{e.strerror or e}") from None
    clf = classifier.load(Path(args.models) if args.models else None)
    if args.jsonl:
        if args.input:
            classify_jsonl_parallel(clf, args.input, sys.stdout, jobs=args.jobs, explain=args.explain)
        else:
            # A 1 MB buffer: reading 200 kB lines through the default 8 kB one costs as much
            # as parsing them.
            with open(sys.stdin.fileno(), "rb", buffering=1 << 20, closefd=False) as stdin:
                classify_jsonl_parallel(clf, stdin, sys.stdout, jobs=args.jobs,
                                        explain=args.explain)
        return 0
    if args.url:
        print(json.dumps(clf.classify_url(args.url).to_dict(), ensure_ascii=False))
        return 0
    raise SystemExit("kidgate classify: give a URL or --jsonl")


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m classifier.cli``) with the same subcommands."""
    parser = argparse.ArgumentParser(prog="kidgate-classifier")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
