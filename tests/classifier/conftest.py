"""A tiny dataset in the ../shared/datasets layout, and a model trained on it once per session."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

REAL_DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets"
REAL_PAGES = REAL_DATA / "pages" / "readability"

_HATE = ["all {g} are vermin and should be thrown out", "i hate {g}, they ruin everything",
         "{g} are subhuman filth"]
_OFF = ["shut up you stupid idiot {n}", "you are a pathetic loser {n}", "what a dumb moron {n}"]
_SAFE = ["the weather in {c} is sunny today {n}", "our team won the match in {c} {n}",
         "new phone released with a better camera {n}", "recipe for apple pie with cinnamon {n}"]
_SUI = ["i want to end my life tonight {n}", "i am going to kill myself, no reason to live {n}"]
_SUP = ["my therapist helped me with anxiety this week {n}", "feeling lonely but talking helps {n}"]
_DRUG = ["got so drunk on vodka last night {n}", "smoking weed and getting high {n}"]
_GUN = ["just bought a new 9mm pistol and ammo {n}", "cleaning my rifle after the range {n}"]
_RO_SAFE = ["produs foarte bun, livrare rapida {n}", "telefonul merge excelent, recomand {n}"]
_RO_OFF = ["esti un prost si un idiot {n}", "taci din gura, nesimtitule {n}"]


def _fill(templates: list[str], k: int, rng: random.Random) -> list[str]:
    groups = ["foreigners", "them", "those people"]
    cities = ["paris", "cluj", "leeds", "rome"]
    return [rng.choice(templates).format(g=rng.choice(groups), c=rng.choice(cities), n=i)
            for i in range(k)]


def make_tiny_dataset(root: Path, seed: int = 1) -> Path:
    rng = random.Random(seed)
    t = root / "text"

    def write(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding=encoding, newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)

    dav = ([[str(i), "3", "0", "0", "3", "0", s] for i, s in enumerate(_fill(_HATE, 40, rng))]
           + [[str(i), "3", "0", "3", "0", "1", s] for i, s in enumerate(_fill(_OFF, 40, rng))]
           + [[str(i), "3", "0", "0", "3", "2", s] for i, s in enumerate(_fill(_SAFE, 40, rng))])
    write(t / "davidson_hate_offensive/labeled_data.csv",
          ["", "count", "hate_speech", "offensive_language", "neither", "class", "tweet"], dav)
    write(t / "cyberbullying_tweets_subset/cyberbullying_tweets.csv", ["tweet_text", "cyberbullying_type"],
          [[s, "religion"] for s in _fill(_HATE, 20, rng)] + [[s, "not_cyberbullying"] for s in _fill(_SAFE, 20, rng)])
    write(t / "twitter_suicidal_intention/twitter-suicidal_data.csv", ["tweet", "intention"],
          [[s, "1"] for s in _fill(_SUI, 40, rng)] + [[s, "0"] for s in _fill(_SAFE, 40, rng)], "latin-1")
    write(t / "reddit_mental_health_27subreddits/rmhd_27subreddits_260posts_test.csv",
          ["subreddit", "date", "post"],
          [["suicidewatch", "2019/01/01", s] for s in _fill(_SUI, 20, rng)]
          + [["depression", "2019/01/01", s] for s in _fill(_SUP, 40, rng)]
          + [["guns", "2019/01/01", s] for s in _fill(_GUN, 40, rng)]
          + [["alcoholism", "2019/01/01", s] for s in _fill(_DRUG, 20, rng)])
    write(t / "reddit_drunk_comments/lifestyle_drunk.csv", ["", "0", "1"],
          [[str(i), s + " and it was a long long night out with friends", "x"]
           for i, s in enumerate(_fill(_DRUG, 40, rng))])
    write(t / "ag_news_test/test.csv", ["label", "title", "description"],
          [["1", s, "reporters said " + s] for s in _fill(_SAFE, 40, rng)])
    write(t / "ro_offense/train.csv", ["id", "text", "label"],
          [[str(i), s, "INSULT"] for i, s in enumerate(_fill(_RO_OFF, 30, rng))]
          + [[str(i), s, "OTHER"] for i, s in enumerate(_fill(_RO_SAFE, 30, rng))])
    write(t / "ro_offense/test.csv", ["id", "text", "label"],
          [["1", "esti un prost fara pereche azi", "PROFANITY"]])
    for name in ("positive_reviews.json", "negative_reviews.json"):
        p = t / "laroseda_ro_reviews" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps({"reviews": [{"index": str(i), "title": "bun", "content": s}
                                             for i, s in enumerate(_fill(_RO_SAFE, 20, rng))]}))
    ut1 = root / "domains" / "ut1" / "blacklists"
    words = {"gambling": ["casino", "bet", "slots", "poker"], "dating": ["date", "love", "singles"],
             "vpn": ["vpn", "proxy", "tunnel"], "social_networks": ["social", "friends"],
             "drogue": ["weed", "cannabis", "seeds"], "agressif": ["hate", "white-power"],
             "mixed_adult": ["sexy", "xxx"], "shopping": ["shop", "store", "buy"],
             "press": ["news", "times", "daily"], "jobsearch": ["jobs", "careers", "work"]}
    for cat, ws in words.items():
        d = ut1 / cat
        d.mkdir(parents=True, exist_ok=True)
        (d / "domains").write_text("\n".join(f"{rng.choice(ws)}{rng.choice(['', 'best', 'top', 'my'])}"
                                             f"{i}.{rng.choice(['com', 'net', 'ro'])}"
                                             for i in range(40)) + "\n")
    (ut1 / "drugs").write_text("drogue")  # alias file, as upstream
    porn = root / "domains" / "porn_top1m"
    porn.mkdir(parents=True)
    (porn / "pi_blocklist_porn_top1m.list").write_text(
        "\n".join(f"{rng.choice(['porn', 'xxx', 'sex', 'nude'])}tube{i}.com" for i in range(60)) + "\n")
    pages = root / "pages" / "readability"
    pages.mkdir(parents=True)
    for i, p in enumerate(sorted(REAL_PAGES.glob("*.html"))[:3]):
        (pages / f"p{i}.html").write_bytes(p.read_bytes())
    if not list(pages.iterdir()):
        (pages / "p0.html").write_text("<html><title>Hello</title><body><p>Safe page</p></body></html>")
    return root


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_dataset(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def tiny_models(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from classifier.train import train

    out = tmp_path_factory.mktemp("models")
    train(tiny_data, out, seed=3, cross_source=False, max_features=5000, meaning=True)
    return out
