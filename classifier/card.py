"""MODEL_CARD.md: sources and licences, label mapping, evaluation figures, known gaps."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

from classifier.data import Row

LICENCES = {
    "davidson": ("Davidson et al. hate/offensive tweets", "MIT"),
    "cyberbullying": ("Cyberbullying tweets (Wang et al. 2020, Kaggle subset)", "none stated upstream (Kaggle origin, not verified)"),
    "twitter_suicidal": ("Twitter suicidal intention", "none stated upstream"),
    "reddit_mh": ("Reddit Mental Health Dataset, 27 subreddits x 260 posts (Low et al. 2020)", "data CC BY 4.0 (believed), package Apache-2.0"),
    "reddit_drunk": ("r/drunk comments", "MIT"),
    "ag_news": ("AG News test split", "research / non-commercial use"),
    "ro_offense": ("RO-Offense Romanian comments", "Apache-2.0"),
    "laroseda": ("LaRoSeDa Romanian product reviews", "CC BY-NC-SA 4.0 (non-commercial)"),
    "ut1": ("UT1 blacklists, Universite Toulouse Capitole", "CC BY-SA 4.0"),
    "porn_top1m": ("UT1 adult domains in a top-1M list (pi_blocklist_porn_top1m)", "GPL-3.0"),
    "blocklistproject": ("The Block List Project drugs/vaping lists", "Unlicense"),
}

MAPPING = """| source | label -> category |
|---|---|
| davidson | class 0 (hate) -> hate + offensive; 1 -> offensive; 2 -> safe |
| cyberbullying | religion -> hate + offensive; gender -> offensive; not_cyberbullying -> safe |
| twitter_suicidal | intention 1 -> self_harm; 0 -> safe |
| reddit_mh | suicidewatch, EDAnonymous -> self_harm; guns -> weapons; addiction, alcoholism -> drugs; all other subreddits (depression, anxiety, lonely, ptsd, ... and personalfinance, teaching, ...) -> safe (help-seeking is not harmful) |
| reddit_drunk | -> drugs (alcohol); comments under 60 characters dropped |
| ag_news | -> safe (news, including crime and war reporting) |
| ro_offense | OTHER -> safe; INSULT, PROFANITY -> offensive; ABUSE -> hate + offensive |
| laroseda | -> safe (Romanian) |
| UT1 | adult, mixed_adult -> sexual; gambling; dating; social_networks, chat -> social; vpn, doh, redirector, residential-proxies -> bypass; drogue -> drugs; agressif -> hate; jobsearch, shopping, games, press, bank, sports, audio-video, sexual_education, liste_blanche, blog, forums, ... -> safe |
| porn_top1m | -> sexual |
| blocklistproject | drugs, vaping -> drugs (noisy; sampled to 2,500) |
"""


def _f(x: Any) -> str:
    if isinstance(x, float):
        return "n/a" if math.isnan(x) else f"{x:.3f}"
    return str(x)


def _cat_table(d: dict[str, dict]) -> str:
    lines = ["| category | n | positives | precision | recall | F1 | ROC-AUC |", "|---|---|---|---|---|---|---|"]
    for c, m in d.items():
        lines.append(f"| {c} | {m['n']} | {m['pos']} | {_f(m['precision'])} | {_f(m['recall'])} | "
                     f"{_f(m['f1'])} | {_f(m['roc_auc'])} |")
    return "\n".join(lines)


def _block_table(d: dict[str, dict]) -> str:
    keys = sorted({k for v in d.values() for k in v})
    lines = ["| age | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for age, v in d.items():
        lines.append(f"| {age} | " + " | ".join(_f(v.get(k, float("nan"))) for k in keys) + " |")
    return "\n".join(lines)


def render(meta: dict[str, Any], rep: dict[str, Any], text_rows: list[Row], url_rows: list[Row]) -> str:
    tcount = Counter(r.source for r in text_rows)
    ucount = Counter(r.source for r in url_rows)
    src_lines = ["| source | used for | rows used | licence |", "|---|---|---|---|"]
    for s, n in sorted(tcount.items()):
        name, lic = LICENCES.get(s, (s, "?"))
        src_lines.append(f"| {name} (`{s}`) | page text | {n} | {lic} |")
    groups: Counter[str] = Counter()
    for s, n in ucount.items():
        groups[s.split("/")[0]] += n
    for g, n in sorted(groups.items()):
        name, lic = LICENCES.get(g, (g, "?"))
        src_lines.append(f"| {name} (`{g}`) | URL/host | {n} | {lic} |")
    url_detail = ", ".join(f"{s.removeprefix('ut1/')}: {n}" for s, n in sorted(ucount.items()))
    hw = rep.get("handwritten", {})
    rp = rep.get("real_pages", {})
    parts = [
        "# kidgate content classifier: model card",
        "",
        f"Trained {meta['trained']} with seed {meta['seed']} in {meta['train_seconds']} s by "
        "`kidgate train`. Figures below come from the same run (`eval.json`), on held-out data the "
        "shipped model never saw; `kidgate eval` reproduces them.",
        "",
        "## What it is",
        "",
        f"- **Page-text model** (`text_model.joblib`): one logistic regression per category over word "
        f"unigrams and character 4-grams of lower-cased, diacritic-folded text (first 1,000 "
        f"characters: title, description, headings first), TF-IDF, Platt-calibrated on a separate "
        f"calibration split. Categories: {', '.join(meta['text_categories'])}. "
        f"{meta['text_features']} features. English and Romanian.",
        f"- **URL/host model** (`url_model.joblib`): same design over host character 3-5-grams, host "
        f"labels, TLD and path words. Categories: {', '.join(meta['url_categories'])}. "
        f"{meta['url_features']} features. Split by registrable domain (tldextract, offline suffix "
        "list): no registrable domain is in both train and test.",
        f"- **Weighted terms** (`terms.joblib`, from `classifier/terms/*.yaml`, EN + RO): "
        f"{', '.join(meta['term_categories'])}. Weighted terms and phrases, word-prefix terms, "
        "co-occurrence rules and negative context terms (sex education, recovery, news). "
        "Probability = sigmoid(raw - threshold); each threshold is the larger of the designed one "
        "and the 99.5% quantile (+1) of raw scores on the safe training/calibration texts.",
        "- **Combination**: per category, the most confident component wins and its features explain "
        "the verdict (`Evidence.detail` names the component).",
        "- Data splits: stable hash buckets (0-1 test, 2 calibration, 3-9 train) of the normalised "
        "text (duplicates and retweets stay together) or of the registrable domain.",
        "",
        "## Sources",
        "",
        *src_lines,
        "",
        f"URL rows per list: {url_detail}.",
        "",
        "Text sources were sampled to at most 9,000 rows each (seeded) to keep training under 10 "
        "minutes on two shared cores. Non-commercial licences (AG News, LaRoSeDa) restrict "
        "commercial redistribution of models derived from them; the weights contain n-grams "
        "(see `feature_names_`) but no texts.",
        "",
        "## Label mapping",
        "",
        MAPPING,
        "## Held-out evaluation (within sources)",
        "",
        "Page text + weighted terms, on the held-out text buckets (a category appears only where the "
        "test data has positives):",
        "",
        _cat_table(rep["text_within"]),
        "",
        "Under-blocking (harmful texts allowed) and over-blocking (safe texts blocked) at threshold "
        "0.5 with the default minimum ages; `support` = mental-health support subreddits "
        "(depression, anxiety, lonely, ptsd, ...), `news` = AG News:",
        "",
        _block_table(rep["text_blocking"]),
        "",
        "URL/host model on held-out registrable domains:",
        "",
        _cat_table(rep["url_within"]),
        "",
        _block_table(rep["url_blocking"]),
        "",
        "Over-blocking of safe rows per text source (age 15):",
        "",
        "| source | n test | over-blocking age 10 | age 15 |",
        "|---|---|---|---|",
        *[f"| {s} | {v['n']} | {_f(v['over_blocking_age10'])} | {_f(v['over_blocking_age15'])} |"
          for s, v in rep["text_by_source"].items()],
        "",
        "## Cross-source evaluation",
        "",
        "Each line: a smaller model (60k features) trained **without** that source, tested on all of "
        "its rows. This is the figure to expect on the open web; the within-source figures above "
        "are optimistic.",
        "",
    ]
    cs = rep.get("cross_source", {})
    notes = []
    try:
        notes.append(f"- Trained without the Reddit subreddits, the model blocks "
                     f"{_f(cs['text:reddit_mh']['blocking']['15']['over_blocking[support]'])} of the "
                     "support posts at age 15 (within-source: "
                     f"{_f(rep['text_blocking']['15']['over_blocking[support]'])}): the safe support "
                     "material is what keeps help-seeking reachable.")
    except KeyError:
        pass
    try:
        notes.append(f"- `hate`/`offensive` transfer poorly between tweet corpora (ROC-AUC "
                     f"{_f(cs['text:cyberbullying']['categories']['offensive']['roc_auc'])} for offensive "
                     "on the cyberbullying tweets when they are held out): each source defines the "
                     "labels differently.")
    except KeyError:
        pass
    try:
        notes.append(f"- Trained without the popular-porn-host list, the host model finds "
                     f"{_f(cs['url:porn_top1m']['recall_at_0.5']['sexual'])} of those hosts: "
                     "`sexual` on unknown hosts depends on the lists (and on page terms), not on the "
                     "host model. (Other categories in that line are the few rows also on other lists.)")
    except KeyError:
        pass
    if notes:
        parts += ["What the cross-source figures say:", "", *notes, ""]
    for key, v in rep.get("cross_source", {}).items():
        if key.startswith("text:"):
            parts += [f"### {key} ({v['n']} rows)", "", _cat_table(v["categories"]) if v["categories"]
                      else "(no positives of a model category in this source)", "",
                      _block_table(v["blocking"]), ""]
        else:
            parts += [f"### {key} ({v['n']} rows)", "",
                      "Recall at 0.5: " + ", ".join(f"{c} {_f(r)}" for c, r in v["recall_at_0.5"].items()), ""]
    parts += [
        "## Hand-written checks (no public data)",
        "",
        f"- Sexual texts caught by the weighted terms (score >= 0.5): **{_f(hw.get('sexual_caught_by_terms', float('nan')))}** "
        f"of {hw.get('n_sexual')} EN+RO texts (`classifier/evaldata/sexual.txt`).",
        f"- Gambling texts caught: {_f(hw.get('gambling_caught_by_terms', float('nan')))} of {hw.get('n_gambling')}.",
        f"- Sex-education / sexual-health / LGBT / news texts blocked at age 15: "
        f"{_f(hw.get('sex_education_blocked_age15', float('nan')))} of {hw.get('n_sex_education')}.",
        "- These sentences were written by the classifier's author, since no public sexual or "
        "gambling text is in the datasets. They were not used for threshold calibration, but the "
        "sexual and gambling term lists were widened once after a first run on them (from 22% to "
        "the figure above for sexual): the figure is therefore optimistic, measured on a small "
        "sample from the same hand as the terms, and no substitute for real data.",
        "",
        "## Real pages",
        "",
        f"{rp.get('n')} real pages (`pages/readability`, all safe): {rp.get('any_score_ge_0.5')} with any "
        f"score >= 0.5; highest score {rp.get('max_score')} ({rp.get('max_at')}).",
        "",
        "## Term calibration",
        "",
        "| category | designed threshold | safe 99.5% quantile | threshold used |",
        "|---|---|---|---|",
        *[f"| {c} | {v['design_threshold']} | {v['safe_q995']} | {v['threshold']} |"
          for c, v in rep.get("term_calibration", {}).items()],
        "",
        "PR curves: `pr_curves.png`.",
        "",
        "## Known gaps",
        "",
        "- **No page-text training data for `sexual` and `gambling`**: they rely on the URL/host model, "
        "lists, labels and the weighted terms; the term catch rate above is measured on hand-written "
        "sentences only.",
        "- **No text data for `violence`** (terms only, tuned against news) and only 260 r/guns posts "
        "for `weapons`; `dating`, `social` and `bypass` are URL/host-only; `csam` and `malware` are "
        "left to hotline and malware lists (the UT1 malware/phishing domain lists are not in the data).",
        "- Text data are short social-media posts and news snippets, not web pages: a page-text model "
        "trained on tweets transfers imperfectly (see cross-source figures). `hate`/`offensive` "
        "labels from Davidson et al. carry a known dialect bias (African-American English is "
        "over-labelled offensive); r/drunk comments are a noisy proxy for alcohol content.",
        "- Romanian covers offensive language (RO-Offense) and safe reviews only: Romanian self-harm, "
        "drugs and weapons rely on character n-grams shared with English and the RO terms.",
        "- The URL model learns from list membership; host names that look like porn or casino names "
        "but are not (e.g. brand names) can be over-blocked, and the noisy Block List Project drug "
        "list lowers `drugs` precision. The proxy asks it only about hosts no list knows: UT1's "
        "harmless categories (press, audio-video, shopping, ...) ship as `known` lists for that "
        "reason. Alone it needs a score of 0.8 to block.",
        "- The weighted terms add up over a whole page: long articles that mention a category's "
        "words often (reporting on drugs, say) rely on the negative context terms to stay "
        "allowed, and those are written by hand.",
        "- Images, video and text rendered by JavaScript are not seen.",
        "",
    ]
    return "\n".join(parts)


def write_card(out: Path, meta: dict[str, Any], rep: dict[str, Any], text_rows: list[Row],
               url_rows: list[Row]) -> None:
    (out / "MODEL_CARD.md").write_text(render(meta, rep, text_rows, url_rows), encoding="utf-8")
