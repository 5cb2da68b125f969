"""Weighted terms: e2guardian-style phrase scoring, readable by a parent, calibrated on our data.

Each ``terms/<category>.yaml`` lists terms (a trailing ``*`` matches word endings) with weights,
negative context terms that pull the score down (sex education, recovery, news), and
co-occurrence rules that add weight when all their terms appear. The raw score is turned into a
probability by ``sigmoid(slope * (raw - threshold))``; training moves ``threshold`` up until the
safe material we have (news, support posts, real pages) is blocked at most rarely.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from classifier.features import normalize, tokens

TERMS_DIR = Path(__file__).with_name("terms")


@dataclass
class TermList:
    """The compiled term list of one category."""

    category: str
    threshold: float
    slope: float = 1.0
    exact: dict[str, float] = field(default_factory=dict)
    stems: dict[str, float] = field(default_factory=dict)
    rules: list[tuple[tuple[str, ...], float]] = field(default_factory=list)
    design_threshold: float = 0.0

    @classmethod
    def from_yaml(cls, path: Path) -> TermList:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        exact: dict[str, float] = {}
        stems: dict[str, float] = {}
        for part in ("terms", "negative"):
            for term, w in (doc.get(part) or {}).items():
                key = str(term).strip()
                if key.endswith("*"):
                    stems[normalize(key[:-1])] = float(w)
                else:
                    exact[normalize(key) if not key.endswith("+") else key] = float(w)
        rules = [(tuple(str(t) for t in r["all"]), float(r["weight"])) for r in doc.get("rules") or ()]
        thr = float(doc.get("threshold", 5.0))
        return cls(doc["category"], thr, 1.0, exact, stems, rules, thr)

    def matches(self, grams: Counter[str], stem_hits: Counter[str]) -> Counter[str]:
        """Occurrences of this list's terms, from the text's n-gram and word-prefix counts."""
        found: Counter[str] = Counter({g: grams[g] for g in grams.keys() & self.exact.keys()})
        for stem in stem_hits.keys() & self.stems.keys():
            found[stem + "*"] = stem_hits[stem]
        return found

    def weight(self, term: str) -> float:
        return self.stems[term[:-1]] if term.endswith("*") else self.exact[term]

    def raw(self, norm: str, grams: Counter[str], stem_hits: Counter[str]
            ) -> tuple[float, list[tuple[str, float]]]:
        """Raw score and the contributing (term, contribution) pairs, largest first."""
        found = self.matches(grams, stem_hits)
        contrib: list[tuple[str, float]] = []
        for term, count in found.items():
            w = self.weight(term)
            contrib.append((term, w * (1.0 + 0.3 * math.log(count)) if w > 0 else w))
        if found and self.rules:
            padded = " " + norm + " "
            for terms, w in self.rules:
                if all(_present(t, padded) for t in terms):
                    contrib.append(("+".join(terms), w))
        contrib.sort(key=lambda tw: -tw[1])
        return sum(c for _, c in contrib), contrib

    def proba(self, raw: float) -> float:
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, self.slope * (raw - self.threshold)))))


def ngrams(toks: list[str]) -> Counter[str]:
    """Counts of word 1-, 2- and 3-grams (terms and phrases are looked up by set intersection)."""
    bi = [a + " " + b for a, b in zip(toks, toks[1:])]
    tri = [a + " " + b for a, b in zip(bi, toks[2:])]
    return Counter(toks + bi + tri)


def _present(term: str, padded: str) -> bool:
    """Is a rule term in the space-padded normalised text (``*`` matches word endings)?"""
    if term.endswith("*"):
        return (" " + term[:-1]) in padded
    return (" " + term + " ") in padded


class TermScorer:
    """All term lists; scores every category in one pass over the tokens."""

    def __init__(self, lists: dict[str, TermList]) -> None:
        self.lists = lists
        self._index()

    def _index(self) -> None:
        stems = {s for tl in self.lists.values() for s in tl.stems}
        self._stems = frozenset(stems)
        self._stem_lengths = tuple(sorted({len(s) for s in stems}))

    def __setstate__(self, d: dict) -> None:
        self.__dict__.update(d)
        self._index()

    def stem_hits(self, grams: Counter[str]) -> Counter[str]:
        """Word-prefix terms: every stem that starts a word, counted (one dict probe per length)."""
        hits: Counter[str] = Counter()
        stems = self._stems
        for tok, n in grams.items():
            if " " in tok:
                continue
            for k in self._stem_lengths:
                if k > len(tok):
                    break
                if tok[:k] in stems:
                    hits[tok[:k]] += n
        return hits

    @classmethod
    def from_dir(cls, directory: Path = TERMS_DIR) -> TermScorer:
        lists = {}
        for p in sorted(directory.glob("*.yaml")):
            tl = TermList.from_yaml(p)
            lists[tl.category] = tl
        return cls(lists)

    def score(self, text: str, *, normalized: bool = False, toks: list[str] | None = None
              ) -> dict[str, tuple[float, float, tuple[str, ...]]]:
        """category -> (probability, raw score, top positive terms)."""
        norm = text if normalized else normalize(text)
        grams = ngrams(toks if toks is not None else tokens(norm))
        hits = self.stem_hits(grams)
        out = {}
        for cat, tl in self.lists.items():
            raw, contrib = tl.raw(norm, grams, hits)
            feats = tuple(f"term '{t}'" for t, c in contrib[:5] if c > 0)
            out[cat] = (tl.proba(raw), raw, feats)
        return out

    def raw_scores(self, texts: list[str]) -> dict[str, list[float]]:
        res: dict[str, list[float]] = {c: [] for c in self.lists}
        for t in texts:
            norm = normalize(t)
            grams = ngrams(tokens(norm))
            hits = self.stem_hits(grams)
            for cat, tl in self.lists.items():
                res[cat].append(tl.raw(norm, grams, hits)[0])
        return res
