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
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from classifier.features import normalize, split_url

TEXT_CATEGORIES: tuple[str, ...] = ("hate", "offensive", "self_harm", "drugs", "weapons")
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
    text = (text or "").strip()
    if len(text) < 15:
        return None
    return Row(text[:3000], frozenset(labels), source, normalize(text)[:200], kind)


def _csv(path: Path, encoding: str = "utf-8") -> Iterator[dict[str, str]]:
    csv.field_size_limit(10**7)
    with open(path, encoding=encoding, newline="", errors="replace") as f:
        yield from csv.DictReader(f)


def load_text(data: Path, say: Callable[[str], None] = lambda m: None,
              seed: int = 0, cap: int | None = 9000) -> list[Row]:
    """All text rows; ``cap`` limits each source (random, seeded) to keep training short."""
    t = data / "text"
    rng = random.Random(seed)
    sources: dict[str, list[Row]] = {}

    def add(name: str, row: Row | None) -> None:
        if row is not None:
            sources.setdefault(name, []).append(row)

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
    rows: list[Row] = []
    for name, rs in sources.items():
        c = None if cap is None else min(cap, SOURCE_CAPS.get(name, cap))
        if c is not None and len(rs) > c:
            rs = rng.sample(rs, c)
        say(f"  text source {name}: {len(rs)} rows")
        rows.extend(rs)
    return rows


_EXTRACTOR = None


def registrable(host: str) -> str:
    """Registrable domain (eTLD+1) with the bundled suffix list, never the network."""
    global _EXTRACTOR
    if _EXTRACTOR is None:
        import tldextract

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
