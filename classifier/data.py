"""Loading the public training data (../shared/datasets layout) into labelled rows.

Every source keeps its name so evaluation can hold a whole source out. Splits are by a stable
hash: of the normalised text for text rows (retweets and duplicates land on the same side), of
the registrable domain for URL rows (never the same registrable domain in train and test).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from classifier.features import normalize, split_url

TEXT_CATEGORIES: tuple[str, ...] = ("hate", "offensive", "self_harm", "violence", "drugs", "weapons")
URL_CATEGORIES: tuple[str, ...] = ("sexual", "gambling", "dating", "social", "bypass", "drugs", "hate")

#: Reddit support and everyday subreddits: help-seeking is not harmful.
RMHD_LABELS: dict[str, tuple[str, ...]] = {
    "suicidewatch": ("self_harm",), "EDAnonymous": ("self_harm",), "guns": ("weapons",),
    "addiction": ("drugs",), "alcoholism": ("drugs",),
}
SUPPORT_SUBREDDITS = frozenset({"depression", "anxiety", "mentalhealth", "lonely", "ptsd", "bpd",
                                "bipolarreddit", "schizophrenia", "socialanxiety", "healthanxiety",
                                "adhd", "autism", "ForeverAlone", "mindfulness"})

#: UT1 category -> our vocabulary (None = safe). Categories not listed are not used.
UT1_MAP: dict[str, str | None] = {
    "gambling": "gambling", "dating": "dating", "social_networks": "social", "chat": "social",
    "vpn": "bypass", "doh": "bypass", "redirector": "bypass", "residential-proxies": "bypass",
    "drogue": "drugs", "agressif": "hate", "mixed_adult": "sexual", "adult": "sexual",
    "jobsearch": None, "shopping": None, "games": None, "press": None, "bank": None,
    "sports": None, "audio-video": None, "cooking": None, "educational_games": None,
    "sexual_education": None, "liste_blanche": None, "radio": None, "webmail": None,
    "blog": None, "forums": None, "celebrity": None, "manga": None, "financial": None,
    "translation": None, "mobile-phone": None, "astrology": None, "child": None,
}
#: Smaller caps for noisy sources (r/drunk is chit-chat more than alcohol content).
SOURCE_CAPS: dict[str, int] = {"reddit_drunk": 4000}
#: Sources whose harmful rows are rare: a capped sample keeps every harmful row (up to half
#: the cap) and fills the rest with safe rows, so that a cap never drops the few positives.
STRATIFIED = frozenset({"germeval_violence", "stormfront", "roff_ro", "implicit_hate"})
#: Sources that are only ever tested on, never trained on: French hostility tweets (MLMA-FR) are
#: 78% harmful with few ordinary French texts beside them, so training on them teaches "French
#: is offensive" and blocks French news pages; held out, they still measure transfer.
EVAL_ONLY = frozenset({"mlma_fr"})
#: Text sources in languages kidgate ships no vocabulary for (terms, stance markers, stance
#: pairs are English and Romanian): kept in every evaluation, reported beside the EN/RO worst.
OTHER_LANGUAGE: dict[str, str] = {"germeval2018": "German", "germeval_violence": "German",
                                  "mlma_fr": "French"}
#: Hand-written contrastive material (EN, RO): pairs that share words and differ in stance.
CONTRAST_DIR = Path(__file__).with_name("contrast")
#: The sources of the first release: ``kidgate eval --recipe v1`` retrains on these only, to
#: compare a new recipe with the old one by the same leave-one-source-out code.
V1_SOURCES = frozenset({"davidson", "cyberbullying", "twitter_suicidal", "reddit_mh",
                        "reddit_drunk", "ag_news", "ro_offense", "laroseda"})
#: Cap per (source, category) so one huge list does not drown the rest.
URL_CAP = 9000


@dataclass(frozen=True, slots=True)
class Row:
    text: str
    labels: frozenset[str]
    source: str
    group: str  # split key: normalised text hash or registrable domain
    kind: str = ""  # e.g. "support" for help-seeking posts, for over-blocking figures

    @property
    def bucket(self) -> int:
        """0-1 test, 2 calibration, 3-9 train (stable across runs and machines)."""
        return int(hashlib.md5(self.group.encode("utf-8")).hexdigest()[:8], 16) % 10


def split(rows: list[Row]) -> tuple[list[Row], list[Row], list[Row]]:
    train = [r for r in rows if r.bucket >= 3]
    cal = [r for r in rows if r.bucket == 2]
    test = [r for r in rows if r.bucket < 2]
    return train, cal, test


class DataError(RuntimeError):
    """The data directory lacks something training needs."""


def _need(path: Path) -> Path:
    if not path.exists():
        raise DataError(f"missing dataset file: {path}")
    return path


def _text_row(text: str, labels: tuple[str, ...] | set[str], source: str, kind: str = "") -> Row | None:
    text = _repair(text or "").strip()
    if len(text) < 15:
        return None
    return Row(text[:3000], frozenset(labels), source, normalize(text)[:200], kind)


def _csv(path: Path, encoding: str = "utf-8") -> Iterator[dict[str, str]]:
    csv.field_size_limit(10**7)
    with open(path, encoding=encoding, newline="", errors="replace") as f:
        yield from csv.DictReader(f)


def _hate(extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Hate is also offensive (minimum age 12): one rule for every source."""
    return ("hate", "offensive", *extra)


def _tsv(path: Path) -> Iterator[dict[str, str]]:
    csv.field_size_limit(10**7)
    with open(path, encoding="utf-8", newline="", errors="replace") as f:
        yield from csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)


def load_contrast(directory: Path = CONTRAST_DIR) -> list[Row]:
    """Hand-written stance pairs: ``labels<TAB>kind<TAB>text`` lines, labels comma-separated
    categories or ``safe``; the file name (``en.tsv``, ``ro.tsv``) names the source."""
    from policies.categories import is_category

    rows: list[Row] = []
    for p in sorted(directory.glob("*.tsv")):
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 3:
                raise DataError(f"{p}:{n}: expected labels<TAB>kind<TAB>text")
            labs = () if parts[0] == "safe" else tuple(parts[0].split(","))
            bad = [c for c in labs if not is_category(c)]
            if bad:
                raise DataError(f"{p}:{n}: not a kidgate category: {bad[0]!r}")
            if "hate" in labs and "offensive" not in labs:
                labs = (*labs, "offensive")
            row = _text_row(parts[2], labs, f"contrast_{p.stem}", parts[1] if parts[1] != "-" else "")
            if row is not None:
                rows.append(row)
    return rows


def load_text(data: Path, say: Callable[[str], None] = lambda m: None,
              seed: int = 0, cap: int | None = 9000,
              sources: frozenset[str] | None = None) -> list[Row]:
    """All text rows; ``cap`` limits each source (random, seeded) to keep training short.

    The first release's eight sources are required; the later ones are read when present
    (a missing one is reported), so an older datasets folder still trains. ``sources`` keeps
    only the named sources.
    """
    t = data / "text"
    rng = random.Random(seed)
    by_source: dict[str, list[Row]] = {}

    def add(name: str, row: Row | None) -> None:
        if row is not None:
            by_source.setdefault(name, []).append(row)

    for r in _csv(_need(t / "davidson_hate_offensive/labeled_data.csv")):
        cls = r["class"]
        add("davidson", _text_row(r["tweet"], {"0": ("hate", "offensive"), "1": ("offensive",),
                                               "2": ()}[cls], "davidson"))
    for r in _csv(_need(t / "cyberbullying_tweets_subset/cyberbullying_tweets.csv")):
        lab = {"religion": ("hate", "offensive"), "gender": ("offensive",)}.get(r["cyberbullying_type"], ())
        add("cyberbullying", _text_row(r["tweet_text"], lab, "cyberbullying"))
    for r in _csv(_need(t / "twitter_suicidal_intention/twitter-suicidal_data.csv"), "latin-1"):
        add("twitter_suicidal", _text_row(r["tweet"], ("self_harm",) if r["intention"] == "1" else (),
                                          "twitter_suicidal"))
    for r in _csv(_need(t / "reddit_mental_health_27subreddits/rmhd_27subreddits_260posts_test.csv")):
        sub = r["subreddit"]
        kind = "support" if sub in SUPPORT_SUBREDDITS else sub
        add("reddit_mh", _text_row(r["post"], RMHD_LABELS.get(sub, ()), "reddit_mh", kind))
    with open(_need(t / "reddit_drunk_comments/lifestyle_drunk.csv"), encoding="utf-8", errors="replace") as f:
        rd = csv.reader(f)
        next(rd, None)
        for r in rd:
            if len(r) > 1 and len(r[1]) >= 60:
                add("reddit_drunk", _text_row(r[1], ("drugs",), "reddit_drunk"))
    for r in _csv(_need(t / "ag_news_test/test.csv")):
        add("ag_news", _text_row(f"{r['title']}. {r['description']}", (), "ag_news", "news"))
    for name in ("train.csv", "test.csv"):
        for r in _csv(_need(t / "ro_offense" / name)):
            lab = {"OTHER": (), "INSULT": ("offensive",), "PROFANITY": ("offensive",),
                   "ABUSE": ("hate", "offensive")}.get(r["label"], ())
            add("ro_offense", _text_row(r["text"], lab, "ro_offense"))
    for name in ("positive_reviews.json", "negative_reviews.json"):
        doc = json.loads(_need(t / "laroseda_ro_reviews" / name).read_text(encoding="utf-8"))
        for r in doc["reviews"]:
            add("laroseda", _text_row(f"{r.get('title', '')}. {r.get('content', '')}", (), "laroseda"))
    _load_new_sources(t, add, say)
    for row in load_contrast():
        add(row.source, row)
    rows: list[Row] = []
    for name, rs in by_source.items():
        if sources is not None and name not in sources:
            continue
        c = None if cap is None else min(cap, SOURCE_CAPS.get(name, cap))
        if c is not None and len(rs) > c:
            if name in STRATIFIED:
                pos = [r for r in rs if r.labels]
                neg = [r for r in rs if not r.labels]
                pos = rng.sample(pos, min(len(pos), c // 2))
                rs = pos + rng.sample(neg, min(len(neg), c - len(pos)))
            else:
                rs = rng.sample(rs, c)
        say(f"  text source {name}: {len(rs)} rows ({sum(1 for r in rs if r.labels)} harmful)")
        rows.extend(rs)
    return rows


def _load_new_sources(t: Path, add: Callable[[str, Row | None], None],
                      say: Callable[[str], None]) -> None:
    """The sources added for cross-source generalisation (each folder's SOURCE.txt)."""
    def have(rel: str) -> Path | None:
        p = t / rel
        if p.exists():
            return p
        say(f"  (optional source missing: {p})")
        return None

    if p := have("implicit_hate/implicit_hate_v1_stg1_posts.tsv"):
        threat: set[str] = set()
        if p2 := have("implicit_hate/implicit_hate_v1_stg2_posts.tsv"):
            threat = {r["post"] for r in _tsv(p2)
                      if "threatening" in (r.get("implicit_class"), r.get("extra_implicit_class"))}
        for r in _tsv(p):
            cls = r.get("class")
            if cls in ("implicit_hate", "explicit_hate"):
                lab = _hate(("violence",)) if r["post"] in threat else _hate()
                add("implicit_hate", _text_row(_untweet(r["post"]), lab, "implicit_hate"))
            elif cls == "not_hate":
                add("implicit_hate", _text_row(_untweet(r["post"]), (), "implicit_hate", "forum"))
    if p := have("hatexplain/092-HateXplain.csv"):
        for r in _csv(p):
            lab = {"0": (), "1": _hate(), "2": ("offensive",)}.get(r["category"])
            if lab is not None:
                add("hatexplain", _text_row(_untweet(r["text"]), lab, "hatexplain"))
    if p := have("mlma/en_dataset_with_stop_words.csv"):
        for name, path in (("mlma", p), ("mlma_fr", t / "mlma/fr_dataset.csv")):
            if not path.exists():
                continue
            for r in _csv(path):
                tags = set(r.get("sentiment", "").split("_"))
                if "hateful" in tags:
                    lab: tuple[str, ...] | None = _hate()
                elif tags & {"offensive", "abusive", "disrespectful"}:
                    lab = ("offensive",)
                elif tags == {"normal"}:
                    lab = ()
                else:
                    lab = None  # fear or shock alone: no category
                if lab is not None:
                    add(name, _text_row(_untweet(r["tweet"]), lab, name))
    if p := have("stormfront/stormfront_sentences.csv"):
        for r in _csv(p):
            if r["label"] == "hate":
                add("stormfront", _text_row(r["text"], _hate(), "stormfront"))
            elif r["label"] == "noHate":
                add("stormfront", _text_row(r["text"], (), "stormfront", "forum"))
    if p := have("germeval2026_violence/vio_train_26.csv"):
        with open(p, encoding="utf-8", newline="", errors="replace") as f:
            for r in csv.DictReader(f, delimiter=";"):
                vio = (r.get("vio") or "").strip()
                if vio:
                    add("germeval_violence", _text_row(_untweet(r.get("description") or ""),
                                                       () if vio == "nothing" else ("violence",),
                                                       "germeval_violence"))
    if p := have("germeval2018/germeval2018.training.txt"):
        for name in ("germeval2018.training.txt", "germeval2018.test.txt"):
            path = p.with_name(name)
            if not path.exists():
                continue
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                parts = line.split("\t")
                if len(parts) < 3:
                    continue
                lab = {"OTHER": (), "INSULT": ("offensive",), "PROFANITY": ("offensive",),
                       "ABUSE": _hate()}.get(parts[2].strip())
                if lab is not None:
                    add("germeval2018", _text_row(_untweet(parts[0]), lab, "germeval2018"))
    if p := have("hasoc2021_en/rawData.csv"):
        for r in _csv(p):
            lab = {"NONE": (), "HATE": _hate(), "OFFN": ("offensive",),
                   "PRFN": ("offensive",)}.get(r.get("task_2", ""))
            if lab is not None:
                add("hasoc", _text_row(_untweet(r["text"]), lab, "hasoc"))
    if p := have("roff_ro/OLID_ROFF.tsv"):
        for r in _tsv(p):
            if r.get("Offensive") == "NOT":
                lab = ()
            elif r.get("Target") == "GRP":
                lab = _hate()  # OLID: offence targeted at a group is hate speech
            else:
                lab = ("offensive",)
            add("roff_ro", _text_row(_untweet(r.get("Tweet", "")), lab, "roff_ro"))
    if p := have("counsel_chat/20200325_counsel_chat.csv"):
        seen: set[str] = set()
        for r in _csv(p):
            q = r.get("questionID", "")
            if q not in seen:  # the question once, however many therapists answered
                seen.add(q)
                add("counsel_chat", _text_row(f"{r.get('questionTitle', '')}. "
                                              f"{r.get('questionText', '')}", (),
                                              "counsel_chat", "support"))
            add("counsel_chat", _text_row(r.get("answerText", ""), (), "counsel_chat", "support"))
    if p := have("medquad/medquad_qa.csv"):
        for r in _csv(p):
            add("medquad", _text_row(f"{r['question']} {r['answer']}", (), "medquad", "health"))


#: A run of JSON-style escapes left in the text by an upstream export ("we\u2019re",
#: emoji as surrogate pairs "\ud83d\ude02") and an escaped line break.
_ESCAPES = re.compile(r"(?:\\u[0-9a-fA-F]{4})+|\\n")


def _repair(text: str) -> str:
    """The text as its author wrote it: mojibake (UTF-8 read as Windows-1252, "iâ€™m") fixed
    by ftfy, and escapes that an export left as characters decoded. Both would otherwise teach
    the models n-grams no page contains ("u2019", "â€"), and ~40 % of MLMA's English rows and
    ~9 % of HASOC's carry one."""
    if "\\" in text:
        text = _ESCAPES.sub(_unescape, text)
    if not text.isascii():
        from kidgate.extras import require
        text = require("ftfy", "train", "repairing mis-decoded training texts").fix_encoding(text)
    return text


def _unescape(m: re.Match[str]) -> str:
    run = m.group()
    if run == "\\n":
        return "\n"
    units = "".join(chr(int(run[i + 2:i + 6], 16)) for i in range(0, len(run), 6))
    # Surrogate pairs become one character; a lone surrogate becomes U+FFFD.
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


_MENTION = re.compile(r"@\w+|https?://\S+|\bRT\b|&amp;|<user>|<url>", re.IGNORECASE)


def _untweet(text: str) -> str:
    """Drop user handles, links and "RT": they name accounts, not content."""
    return _MENTION.sub(" ", text or "")


_EXTRACTOR = None


def registrable(host: str) -> str:
    """Registrable domain (eTLD+1) with the bundled suffix list, never the network."""
    global _EXTRACTOR
    if _EXTRACTOR is None:
        from kidgate.extras import require
        tldextract = require("tldextract", "train", "training the URL/host model")
        _EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    ext = _EXTRACTOR(host)
    return ext.top_domain_under_public_suffix if hasattr(ext, "top_domain_under_public_suffix") \
        else ext.registered_domain or host


def _lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                yield line.split()[-1] if " " in line else line


def load_urls(data: Path, say: Callable[[str], None] = lambda m: None, seed: int = 0,
              cap: int = URL_CAP) -> list[Row]:
    """URL/host rows from UT1, the porn top-1M list and the blocklistproject drug lists."""
    d = data / "domains"
    ut1 = _need(d / "ut1" / "blacklists")
    rng = random.Random(seed)
    by: dict[tuple[str, str | None], list[str]] = {}
    for cat_dir, mapped in UT1_MAP.items():
        base = ut1 / cat_dir
        if base.is_file():  # an alias file naming another folder
            base = ut1 / base.read_text().strip()
        for fname in ("domains", "urls"):
            p = base / fname
            if p.is_file():
                by.setdefault((f"ut1/{cat_dir}/{fname}", mapped), []).extend(_lines(p))
    porn = d / "porn_top1m" / "pi_blocklist_porn_top1m.list"
    if porn.exists():
        by[("porn_top1m", "sexual")] = list(_lines(porn))
    for name in ("drugs-nl.txt", "vaping-nl.txt"):
        p = d / "blocklistproject_drugs" / name
        if p.exists():
            # Noisy list (many unrelated hosts): a smaller sample than the curated UT1 lists.
            items = sorted(set(_lines(p)))
            by[(f"blocklistproject/{name}", "drugs")] = rng.sample(items, min(len(items), 2500))
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for (src, cat), items in sorted(by.items(), key=lambda kv: kv[0][0]):
        items = sorted(set(items))
        if len(items) > cap:
            items = rng.sample(items, cap)
        say(f"  url source {src} -> {cat or 'safe'}: {len(items)} rows")
        for u in items:
            host, _ = split_url(u)
            if not host or "." not in host:
                continue
            labels = frozenset({cat}) if cat else frozenset()
            key = u.lower()
            if key in seen:  # the same entry in two lists: merge labels
                old = rows[seen[key]]
                rows[seen[key]] = Row(old.text, old.labels | labels, old.source, old.group, old.kind)
                continue
            seen[key] = len(rows)
            rows.append(Row(u, labels, src, registrable(host) or host, "safe" if not cat else ""))
    if not rows:
        raise DataError(f"no URL rows found under {d}")
    # A registrable domain that is safe in one list and harmful in another stays harmful.
    return rows


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
