"""Weighted terms: e2guardian-style phrase scoring, readable by a parent, calibrated on our data.

Each ``terms/<category>.yaml`` lists terms (a trailing ``*`` matches word endings) with weights,
negative context terms that pull the score down (sex education, recovery, news), and
co-occurrence rules that add weight when all their terms appear (a rule term ``a|b`` is
either word). The raw score is turned into a
probability by ``sigmoid(slope * (raw - threshold))``; training moves ``threshold`` up until the
safe material we have (news, support posts, real pages) is blocked at most rarely.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from itertools import compress
from operator import itemgetter
from pathlib import Path

from classifier.features import normalize, plain_words, tokens
from policies.categories import is_category
from policies.config import YamlDocument

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
        """Read and check one term file; mistakes are ``ConfigError``s naming file and line."""
        doc = YamlDocument.read(path)
        data = doc.data
        if not isinstance(data, dict):
            raise doc.error("", "expected a mapping with category, threshold, terms, negative, rules")
        unknown = set(data) - {"category", "threshold", "terms", "negative", "rules"}
        if unknown:
            raise doc.error(sorted(unknown)[0], "unknown key (expected category, threshold, "
                            "terms, negative, rules)")
        category = data.get("category")
        if not is_category(category):
            raise doc.error("category", f"not a kidgate category: {category!r}")
        threshold = _number(doc, "threshold", data.get("threshold", 5.0))
        exact: dict[str, float] = {}
        stems: dict[str, float] = {}
        for part in ("terms", "negative"):
            entries = data.get(part) or {}
            if not isinstance(entries, dict):
                raise doc.error(part, "expected a mapping of term: weight")
            for term, w in entries.items():
                key = f"{part}.{term}"
                weight = _number(doc, key, w)
                if (weight < 0) != (part == "negative") and weight != 0:
                    raise doc.error(key, f"{part} weights must be "
                                    f"{'negative' if part == 'negative' else 'positive'}")
                stem = term.strip().endswith("*")
                norm = normalize(term.strip()[:-1] if stem else term)
                if not norm:
                    raise doc.error(key, "the term has no letters or digits left to match")
                (stems if stem else exact)[_as_tokens(norm)] = weight
        rules = []
        for i, rule in enumerate(data.get("rules") or ()):
            key = f"rules[{i}]"
            if not (isinstance(rule, dict) and isinstance(rule.get("all"), list) and rule["all"]
                    and set(rule) == {"all", "weight"}):
                raise doc.error(key, "expected {all: [term, ...], weight: number}")
            terms = tuple("|".join(_rule_term(alt) for alt in str(t).split("|"))
                          for t in rule["all"])
            if not all(alt.strip("*") for t in terms for alt in t.split("|")):
                raise doc.error(key, "a rule term has no letters or digits left to match")
            rules.append((terms, _number(doc, key, rule["weight"])))
        return cls(category, threshold, 1.0, exact, stems, rules, threshold)

    def raw(self, norm: str, found: Counter[str], stem_found: Counter[str],
            present: Callable[[str], bool] | None = None) -> tuple[float, list[tuple[str, float]]]:
        """Raw score and the contributing (term, contribution) pairs, largest first.

        ``found`` and ``stem_found`` come from :meth:`TermScorer.hits` (all lists at once);
        ``present`` answers :func:`_present` for this text (a scorer shares one between its
        lists, see :meth:`TermScorer.presence`).
        """
        exact, stems = self.exact, self.stems
        contrib: list[tuple[str, float]] = []
        for term, count in found.items():
            w = exact.get(term)
            if w is not None:
                contrib.append((term, w * (1.0 + 0.3 * math.log(count)) if w > 0 else w))
        for stem, count in stem_found.items():
            w = stems.get(stem)
            if w is not None:
                contrib.append((stem + "*", w * (1.0 + 0.3 * math.log(count)) if w > 0 else w))
        if contrib and self.rules:
            padded = " " + norm + " "
            if present is None:
                present = partial(_present, padded=padded)
            for terms, w in self.rules:
                if all(map(present, terms)):
                    contrib.append(("+".join(_which(t, padded) for t in terms), w))
        # Ties in name order: the same explanation every run (the sum does not depend on it).
        contrib.sort(key=lambda tw: (-tw[1], tw[0]))
        return sum(c for _, c in contrib), contrib

    def proba(self, raw: float) -> float:
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, self.slope * (raw - self.threshold)))))


def _number(doc: YamlDocument, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise doc.error(key, f"expected a number, got {value!r}")
    return float(value)


def _as_tokens(phrase: str) -> str:
    """A phrase as the tokens see it: one-letter words are not tokens ("make a bomb" is
    matched as "make bomb"), so a phrase containing one would otherwise never match."""
    if " " not in phrase:
        return phrase
    return " ".join(w for w in phrase.split(" ") if len(w) > 1) or phrase


def _which(term: str, padded: str) -> str:
    """The alternative of a present rule term that the text contains (for explanations)."""
    if "|" not in term:
        return term
    return next(alt for alt in term.split("|") if _present(alt, padded))


def _rule_term(t: str) -> str:
    t = t.strip()
    return normalize(t[:-1]) + "*" if t.endswith("*") else normalize(t)


def _rule_alternative(alt: str) -> tuple[str | None, tuple[str, ...]]:
    """How :class:`TermScorer` looks for one alternative of a rule term: (what :func:`_present`
    searches the padded text for, or None when the words alone answer; the whole words the
    text must contain for that search to find anything)."""
    if alt.endswith("*"):
        whole = alt[:-1].split(" ")[:-1]  # the last word is a prefix
        return " " + alt[:-1], tuple(w for w in whole if w)
    if alt and " " not in alt:
        return None, (alt,)
    return " " + alt + " ", tuple(w for w in alt.split(" ") if w)


def _present(term: str, padded: str) -> bool:
    """Is a rule term in the space-padded normalised text (``*`` matches word endings)?

    ``a|b|c`` is present when any alternative is: "group words" or "dehumanising words"
    stay one readable rule instead of every pairing.
    """
    if "|" in term:
        return any(_present(alt, padded) for alt in term.split("|"))
    if term.endswith("*"):
        return (" " + term[:-1]) in padded
    return (" " + term + " ") in padded


class TermScorer:
    """All term lists; scores every category in one pass over the tokens.

    ``_index`` turns the lists into lookups keyed by what a text can contain: single words,
    the first word of phrases, and word prefixes (by their first ``_pre_len`` characters). A
    page then costs a few set intersections at C speed plus work proportional to the terms it
    actually contains, instead of building every 1-3-gram of the page.
    """

    def __init__(self, lists: dict[str, TermList]) -> None:
        self.lists = lists
        self._index()

    def _index(self) -> None:
        stems = {s for tl in self.lists.values() for s in tl.stems}
        self._stem_lengths = tuple(sorted({len(s) for s in stems}))
        exact = {t for tl in self.lists.values() for t in tl.exact}
        self._unigrams = frozenset(t for t in exact if " " not in t)
        # Phrases of any length, and multi-word stems ("slot machine*": the last word is a
        # prefix), are found from the positions of their first word.
        self._phrases = frozenset(t for t in exact if " " in t)
        self._phrase_lengths = tuple(sorted({t.count(" ") + 1 for t in self._phrases}))
        multi: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}
        for stem in sorted(s for s in stems if " " in s):
            words = stem.split(" ")
            multi.setdefault(words[0], []).append((tuple(words[1:-1]), words[-1], stem))
        self._multi_stems = {k: tuple(v) for k, v in multi.items()}
        self._firsts = frozenset(t.split(" ", 1)[0] for t in self._phrases) | frozenset(multi)
        self._word_stems = frozenset(s for s in stems if " " not in s)
        self._pre_len = min((len(s) for s in self._word_stems), default=0)
        # The first _pre_len characters of every word stem: a token that starts with none of
        # them starts no stem.
        self._prefixes = frozenset(stem[: self._pre_len] for stem in self._word_stems)
        self._prefix_of = itemgetter(slice(None, self._pre_len))
        # Phrases by first word: the second words they go on with (most occurrences of a
        # first word start no phrase, and testing the next token is cheaper than joining).
        seconds: dict[str, set[str]] = {}
        for t in self._phrases:
            first, second = t.split(" ", 2)[:2]
            seconds.setdefault(first, set()).add(second)
        self._seconds = {k: frozenset(v) for k, v in seconds.items()}
        # Rule terms by alternative: (what to look for in the padded text, words it needs).
        # The third item says whether a word it needs is shorter than a token (see presence).
        self._rule_alts: dict[str, tuple[tuple[str | None, tuple[str, ...], bool], ...]] = {}
        for tl in self.lists.values():
            for terms, _w in tl.rules:
                for term in terms:
                    self._rule_alts[term] = tuple(
                        (needle, whole, any(len(w) < 2 for w in whole))
                        for needle, whole in map(_rule_alternative, term.split("|")))
        # Which lists a term or stem belongs to: lists without any hit score 0 at once.
        self._lists_of: dict[str, tuple[str, ...]] = {}
        for cat, tl in self.lists.items():
            for t in tl.exact:
                self._lists_of[t] = self._lists_of.get(t, ()) + (cat,)
            for st in tl.stems:
                self._lists_of[st + "*"] = self._lists_of.get(st + "*", ()) + (cat,)

    def __getstate__(self) -> dict:
        return {"lists": self.lists}  # the lookups are rebuilt by _index on load

    def __setstate__(self, d: dict) -> None:
        self.__dict__.update(d)
        self._index()

    def hits(self, norm: str, toks: list[str]) -> tuple[Counter[str], Counter[str]]:
        """(exact term -> count, stem -> count) for the terms of all lists in ``toks``.

        Exact terms are word 1-3-grams of the tokens; a stem counts every token it starts.
        Only tokens that can start a term are looked at: no n-gram of the page is built.
        """
        return self._hits(norm, toks, set(toks))

    def _hits(self, norm: str, toks: list[str], uniq: set[str]) -> tuple[Counter[str], Counter[str]]:
        """:meth:`hits` given ``uniq``, the set of ``toks``.

        Counts come from one ``Counter`` of the tokens (made in C) instead of a scan of the
        token list per word found, and a stem's count is the sum of the counts of the distinct
        tokens it starts (those whose first ``_pre_len`` characters begin a stem, found in one
        pass): a stem starts as many tokens as that.
        """
        found: Counter[str] = Counter()
        stem_found: Counter[str] = Counter()
        if not toks:
            return found, stem_found
        unigrams = self._unigrams.intersection(uniq)
        prefixes = self._prefixes
        # The tokens whose first _pre_len characters begin a stem, in C calls (no Python
        # step per token); then counts of only the tokens that are looked up.
        stemmed = list(compress(uniq, map(prefixes.__contains__, map(self._prefix_of, uniq)))
                       ) if prefixes else []
        if unigrams or stemmed:
            wanted = unigrams.union(stemmed)
            counts = Counter(filter(wanted.__contains__, toks))
        else:
            counts = Counter()
        for t in unigrams:
            found[t] = counts[t]
        firsts = self._firsts.intersection(uniq)
        if firsts:
            phrases, lengths, multi = self._phrases, self._phrase_lengths, self._multi_stems
            seconds = self._seconds
            n = len(toks)
            # One pass for the positions of every first word (not one list scan per word).
            for i in compress(range(n), map(firsts.__contains__, toks)):
                w = toks[i]
                if i + 1 < n and toks[i + 1] in seconds.get(w, ()):
                    for k in lengths:
                        if i + k > n:
                            break
                        cand = " ".join(toks[i:i + k])
                        if cand in phrases:
                            found[cand] += 1
                for middle, last, stem in multi.get(w, ()):
                    j = i + 1 + len(middle)
                    if j < n and tuple(toks[i + 1:j]) == middle and toks[j].startswith(last):
                        stem_found[stem] += 1
        if stemmed:
            stems, lengths = self._word_stems, self._stem_lengths
            for tok in stemmed:
                count = counts[tok]
                for k in lengths:
                    if k > len(tok):
                        break
                    if tok[:k] in stems:
                        stem_found[tok[:k]] += count
        return found, stem_found

    @classmethod
    def from_dir(cls, directory: Path = TERMS_DIR) -> TermScorer:
        lists = {}
        for p in sorted(directory.glob("*.yaml")):
            tl = TermList.from_yaml(p)
            lists[tl.category] = tl
        return cls(lists)

    def score(self, text: str, *, normalized: bool = False, toks: list[str] | None = None,
              own_tokens: bool = False) -> dict[str, tuple[float, float, tuple[str, ...]]]:
        """category -> (probability, raw score, top positive terms).

        ``toks`` are the tokens to match (default: ``tokens`` of the normalised text);
        ``own_tokens`` says they are exactly those, which lets the rules reuse their set.
        """
        norm = text if normalized else normalize(text)
        if toks is None:
            toks, own_tokens = tokens(norm), True
        uniq = set(toks)
        found, stem_found = self._hits(norm, toks, uniq)
        hit = self._lists_hit(found, stem_found)
        present = self.presence(norm, uniq if own_tokens else None) if hit else None
        out = {}
        for cat, tl in self.lists.items():
            if cat in hit:
                raw, contrib = tl.raw(norm, found, stem_found, present)
                feats = tuple(f"term '{t}'" for t, c in contrib[:5] if c > 0)
            else:
                raw, feats = 0.0, ()
            out[cat] = (tl.proba(raw), raw, feats)
        return out

    def presence(self, norm: str, token_set: set[str] | None = None) -> Callable[[str], bool]:
        """:func:`_present` for one normalised text, each rule term answered once for all lists.

        " word " occurs in " norm " exactly when "word" is one of ``norm.split(" ")`` (the
        pieces between spaces, whatever the spacing): a whole-word alternative is a set lookup
        instead of a substring search of the page per rule and list, and a phrase is searched
        for only when all its words are there.

        ``token_set``, the set of ``tokens(norm)`` when the caller has it, saves splitting the
        text again where :func:`plain_words` holds: the tokens are then the pieces of two or
        more characters, so a word of two or more characters is one exactly when it is a piece.
        Only words of one character need the pieces themselves, and " w " in the padded text
        answers for them.
        """
        padded = " " + norm + " "
        pieces: set[str] | None = None
        if token_set is None or not plain_words(norm):
            pieces = token_set = set(norm.split(" "))
        long_words = token_set
        memo: dict[str, bool] = {}
        alts = self._rule_alts

        def present(term: str) -> bool:
            known = memo.get(term)
            if known is not None:
                return known
            spec = alts.get(term)
            if spec is None:
                result = _present(term, padded)
            else:
                # A phrase is searched for only when the text has each of its words.
                result = False
                for needle, whole, short in spec:
                    if short:
                        # A word of one character is a piece exactly when " w " is in the
                        # padded text: one search instead of a set of every piece.
                        have = pieces.issuperset(whole) if pieces is not None else all(
                            w in long_words if len(w) > 1 else f" {w} " in padded for w in whole)
                    else:
                        have = long_words.issuperset(whole)
                    if have and (needle is None or needle in padded):
                        result = True
                        break
            memo[term] = result
            return result

        return present

    def _lists_hit(self, found: Counter[str], stem_found: Counter[str]) -> set[str]:
        lists_of = self._lists_of
        hit: set[str] = set()
        for t in found:
            hit.update(lists_of[t])
        for st in stem_found:
            hit.update(lists_of[st + "*"])
        return hit

    def raw_scores(self, texts: list[str]) -> dict[str, list[float]]:
        res: dict[str, list[float]] = {c: [] for c in self.lists}
        for t in texts:
            norm = normalize(t)
            found, stem_found = self.hits(norm, tokens(norm))
            for cat, tl in self.lists.items():
                res[cat].append(tl.raw(norm, found, stem_found)[0])
        return res
