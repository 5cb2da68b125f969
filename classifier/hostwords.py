"""Host names split into words: "freeteenpornvideos" -> free teen porn videos.

Hosts are written without spaces, so character n-grams learnt from the training hosts are all
the URL/host model knew: a word that no training host spelt counted for nothing. A
:class:`HostWords` splits each host label into its most probable words (a dynamic program over
a word vocabulary with costs from word frequencies in English, French, German and Romanian,
plus every word of kidgate's weighted-term lists) and marks the words that a category's term
list names, so that a linear model can give weight to "casino" or "milf" in a host even when
no training host of that category spelt them that way.

The vocabulary and term words live inside the model (pickled with it): the features a model
was trained with never change under it. Building one (:func:`build`) needs the ``wordfreq``
package (the ``train`` extra); using one needs nothing beyond the standard library.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

#: Longest word the split looks for (longer runs of letters are split or left unknown).
MAX_WORD = 18
#: DNS labels are at most 63 characters; anything longer is cut before splitting.
MAX_LABEL = 63
#: Cost of a piece that is no vocabulary word: a fixed part plus a part per letter, so that
#: an unknown name ("vulkan", "scunthorpe") stays one piece instead of a chain of short words.
UNKNOWN_BASE = 60
UNKNOWN_LETTER = 8
#: Added to every piece: fewer, longer words are the likelier reading of a host name.
PIECE_COST = 10
#: Words shorter than this are not features (two-letter pieces are mostly split noise).
MIN_FEATURE = 3
_LETTERS = re.compile(r"[a-z]+|[0-9]+")


class HostWords:
    """Word vocabulary (word -> integer cost) and per-category term words for host labels.

    Costs are small integers (about ten times the negative natural log of a word's
    frequency, capped at 255) so that the dictionary's values are shared int objects: 40,000
    words take ~4 MB in a worker, not ~10.
    """

    def __init__(self, costs: Mapping[str, int], terms: Mapping[str, Iterable[str]],
                 stems: Mapping[str, Iterable[str]] | None = None) -> None:
        self.costs = dict(costs)
        self.terms = {c: frozenset(ws) for c, ws in terms.items()}
        self.stems = {c: tuple(sorted(ws)) for c, ws in (stems or {}).items()}
        self._init_cache()

    def _init_cache(self) -> None:
        self.split_label = lru_cache(maxsize=8192)(self._split_label)
        self.label_features = lru_cache(maxsize=8192)(self._label_features)
        self._categories: dict[str, tuple[str, ...]] = {}
        for c, ws in sorted(self.terms.items()):
            for w in ws:
                self._categories[w] = self._categories.get(w, ()) + (c,)
        self._stem_categories: dict[str, tuple[str, ...]] = {}
        for c, ws in sorted(self.stems.items()):
            for w in ws:
                self._stem_categories[w] = self._stem_categories.get(w, ()) + (c,)
        self._stem_lengths = sorted({len(w) for w in self._stem_categories})

    def __getstate__(self) -> dict:
        # Sorted lists, not sets: a set's order follows the process's string hash seed, and
        # `kidgate train` must write the same bytes in every run.
        return {"costs": self.costs,
                "terms": {c: sorted(ws) for c, ws in sorted(self.terms.items())},
                "stems": {c: list(ws) for c, ws in sorted(self.stems.items())}}

    def __setstate__(self, state: dict) -> None:
        self.costs = state["costs"]
        self.terms = {c: frozenset(ws) for c, ws in state["terms"].items()}
        self.stems = {c: tuple(ws) for c, ws in state["stems"].items()}
        self._init_cache()

    def __len__(self) -> int:
        return len(self.costs)

    def _split_label(self, label: str) -> tuple[str, ...]:
        """The most probable words of one host label (lower-case ASCII; other characters,
        digits and hyphens separate pieces). Digits stay whole; unknown letters are kept
        together as one piece."""
        out: list[str] = []
        for run in _LETTERS.findall(label[:MAX_LABEL]):
            if run[0].isdigit():
                out.append(run)
            else:
                out.extend(self._split_run(run))
        return tuple(out)

    def _split_run(self, s: str) -> list[str]:
        costs = self.costs
        n = len(s)
        best = [0] * (n + 1)
        back = [0] * (n + 1)
        # The cheapest unknown piece ending at i starts where best[k] - UNKNOWN_LETTER * k is
        # least (its cost grows by a fixed amount per letter): kept as a running minimum, so
        # the split costs O(n * MAX_WORD) dictionary probes, not O(n^2).
        unk, unk_k = 0, 0
        for i in range(1, n + 1):
            bi = unk + UNKNOWN_BASE + UNKNOWN_LETTER * i
            bk = unk_k
            for k in range(max(0, i - MAX_WORD), i):
                c = costs.get(s[k:i])
                if c is not None and best[k] + c < bi:
                    bi, bk = best[k] + c, k
            best[i], back[i] = bi + PIECE_COST, bk
            if best[i] - UNKNOWN_LETTER * i < unk:
                unk, unk_k = best[i] - UNKNOWN_LETTER * i, i
        pieces: list[str] = []
        i = n
        while i > 0:
            k = back[i]
            pieces.append(s[k:i])
            i = k
        pieces.reverse()
        return pieces

    def words(self, labels: Iterable[str]) -> list[str]:
        """The words of several labels, in order."""
        out: list[str] = []
        for lab in labels:
            out.extend(self.split_label(lab))
        return out

    def known(self, word: str) -> bool:
        return word in self.costs

    def categories_of(self, word: str) -> list[str]:
        """Categories whose weighted-term list names ``word`` (exactly, as a plural, or as a
        stem*): a few dictionary probes, no scan of the lists."""
        out = list(self._categories.get(word, ()))
        if word[-1:] == "s":
            out += [c for c in self._categories.get(word[:-1], ()) if c not in out]
        for n in self._stem_lengths:
            if n > len(word):
                break
            out += [c for c in self._stem_categories.get(word[:n], ()) if c not in out]
        return out

    def _label_features(self, label: str) -> tuple[str, ...]:
        """The ``url2`` features of one host label: its known words of MIN_FEATURE+ letters
        ("hw casino") and the categories whose term lists name them ("tw gambling")."""
        out: list[str] = []
        for w in self.split_label(label):
            if len(w) < MIN_FEATURE or w.isdigit() or w not in self.costs:
                continue
            out.append("hw " + w)
            out += ["tw " + c for c in self.categories_of(w)]
        return tuple(out)


def _cost(freq: float) -> int:
    return min(255, max(1, round(-math.log(max(freq, 1e-12)) * 10 / 3)))


#: Words per language taken from the frequency lists (English is the web's lingua franca
#: for host names).
TOP_WORDS = {"en": 30000, "fr": 6000, "de": 6000, "ro": 6000}
#: Frequency given to a term-list word that the frequency lists rank lower (host names use
#: these words far more than prose does).
TERM_FREQ = 2e-5


def build(terms_dir: Path | None = None, top: Mapping[str, int] = TOP_WORDS) -> HostWords:
    """A vocabulary from ``wordfreq`` (pinned, so a build is reproducible) and the words of
    the weighted-term lists in ``terms_dir``."""
    from kidgate.extras import require

    wordfreq = require("wordfreq", "train", "splitting host names into words")
    from classifier.features import normalize

    freqs: dict[str, float] = {}
    for lang, n in sorted(top.items()):
        for w in wordfreq.top_n_list(lang, n):
            f = wordfreq.word_frequency(w, lang)
            w = normalize(w)
            if not w.isascii() or not w.isalpha():
                continue
            # One- and two-letter words make the split fragment unknown names into noise.
            if len(w) == 1 or len(w) == 2 and (lang != "en" or f < 1e-3):
                continue
            freqs[w] = max(freqs.get(w, 0.0), f)
    terms, stems, vocab = term_words(terms_dir)
    for w in vocab | {w + "s" for ws in list(terms.values()) + list(stems.values()) for w in ws}:
        freqs[w] = max(freqs.get(w, 0.0), TERM_FREQ)
    costs = {w: _cost(f) for w, f in sorted(freqs.items())}
    return HostWords(costs, terms, stems)


def term_words(terms_dir: Path | None = None
               ) -> tuple[dict[str, set[str]], dict[str, set[str]], set[str]]:
    """Per category, the single-word terms (and word stems*) of weight 2 or more in its
    weighted-term list, and every word of every term (for the vocabulary). Words of
    multi-word terms name no category alone ("sex video*" must not make "video" sexual);
    negative terms name none."""
    from classifier.terms import TERMS_DIR, TermScorer

    scorer = TermScorer.from_dir(terms_dir or TERMS_DIR)
    exact: dict[str, set[str]] = {}
    stems: dict[str, set[str]] = {}
    vocab: set[str] = set()
    for cat, tl in scorer.lists.items():
        for table, out in ((tl.exact, exact), (tl.stems, stems)):
            for key, weight in table.items():
                words = [w for w in key.split(" ") if w.isascii() and w.isalpha()]
                vocab.update(w for w in words if len(w) >= 3)
                if weight >= 2 and len(words) == 1 and " " not in key and len(words[0]) >= 3:
                    out.setdefault(cat, set()).add(words[0])
    return exact, stems, vocab


#: Categories the host-name terms may score: those of the URL/host model that have a
#: weighted-term list (a host word alone says nothing reliable about violence or self-harm).
HOST_TERM_CATEGORIES = ("sexual", "gambling", "drugs", "hate")
#: Raw term score a host's words need, at least, to reach the URL model's blocking score
#: alone: one strong word ("casino", "porn", "xxx": weight 3-4), never a weak one ("sex").
HOST_TERM_FLOOR = 3.0
#: Share of harmless training hosts allowed to reach that score, per category.
HOST_TERM_SAFE_RATE = 0.005


class HostTerms:
    """The weighted terms read on a host's words ("free teen porn videos"), calibrated on host
    names: a category's score reaches ``block_at`` (the URL model's threshold to block alone)
    at the raw score that at most :data:`HOST_TERM_SAFE_RATE` of the harmless training hosts
    reach, and never below :data:`HOST_TERM_FLOOR`. Independent of which hosts the lists
    hold: it finds a category whose every list is unknown. Explains itself by the terms."""

    def __init__(self, words: HostWords, scorer: object, block_at: float) -> None:
        self.words = words
        self.scorer = scorer
        self.block_at = block_at

    @classmethod
    def fit(cls, words: HostWords, safe_hosts: Iterable[str], block_at: float,
            terms_dir: Path | None = None,
            categories: Iterable[str] = HOST_TERM_CATEGORIES) -> HostTerms:
        import copy

        from classifier.terms import TERMS_DIR, TermScorer

        lists = TermScorer.from_dir(terms_dir or TERMS_DIR).lists
        scorer = TermScorer({c: copy.deepcopy(tl) for c, tl in lists.items() if c in set(categories)})
        self = cls(words, scorer, block_at)
        texts = [self.text(h) for h in safe_hosts]
        raws = scorer.raw_scores([t for t in texts if t]) if any(texts) else {}
        n = max(1, len(texts))
        for cat, tl in scorer.lists.items():
            vals = sorted((v for v in raws.get(cat, []) if v > 0), reverse=True)
            # The lowest raw score reached by at most SAFE_RATE of the harmless hosts.
            allowed = int(HOST_TERM_SAFE_RATE * n)
            need = HOST_TERM_FLOOR
            if len(vals) > allowed:
                need = max(need, vals[allowed] + 0.01)
            tl.threshold = need - math.log(block_at / (1 - block_at)) / tl.slope
            tl.design_threshold = need
        return self

    def text(self, url_or_host: str) -> str:
        """The words of a URL's host labels (without the TLD), as a sentence."""
        from classifier.features import split_url

        host, _ = split_url(url_or_host)
        if host.startswith("www."):
            host = host[4:]
        labels = host.split(".")[:-1] or [host]
        return " ".join(w for w in self.words.words(labels) if not w.isdigit())

    def score(self, url: str) -> dict[str, tuple[float, tuple[str, ...]]]:
        """category -> (probability, terms that decided it), for categories with any term."""
        from classifier.features import split_url

        host, _ = split_url(url)
        return self._score_host(host[4:] if host.startswith("www.") else host)

    def _score_host(self, host: str) -> dict[str, tuple[float, tuple[str, ...]]]:
        cache = self.__dict__.setdefault("_cache", {})
        hit = cache.get(host)
        if hit is not None:
            return hit
        labels = host.split(".")[:-1] or [host]
        words = [w for w in self.words.words(labels) if not w.isdigit()]
        out: dict[str, tuple[float, tuple[str, ...]]] = {}
        # Most hosts hold no word of any term: the page scorer's work is skipped for them.
        if any(w in self._vocab() or self._stem_hit(w) for w in words):
            out = {cat: (p, tuple(f.replace("term ", "host word ", 1) for f in feats))
                   for cat, (p, raw, feats) in self.scorer.score(" ".join(words)).items()
                   if raw > 0}
        if len(cache) >= 8192:  # bounded: a flood of random host names cannot grow it
            cache.clear()
        cache[host] = out
        return out

    def _vocab(self) -> frozenset[str]:
        v = self.__dict__.get("_vocab_")
        if v is None:
            v = self._vocab_ = frozenset(w for tl in self.scorer.lists.values()
                                         for key in tl.exact for w in key.split(" "))
            self._stems_ = tuple(sorted({k for tl in self.scorer.lists.values()
                                         for k in tl.stems if " " not in k}))
        return v

    def _stem_hit(self, word: str) -> bool:
        self._vocab()
        return word.startswith(self._stems_)

    def __getstate__(self) -> dict:
        return {"words": self.words, "scorer": self.scorer, "block_at": self.block_at}

    def thresholds(self) -> dict[str, float]:
        """Raw score each category needs to block alone (for the model card)."""
        return {c: round(tl.design_threshold, 2) for c, tl in self.scorer.lists.items()}
