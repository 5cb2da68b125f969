"""A compact multi-label linear model: scikit-learn trains it, numpy scores it.

scikit-learn's per-call input validation costs more than the arithmetic for one short page, so
training uses CountVectorizer + TfidfTransformer + LogisticRegression and then keeps only what
inference needs: the vocabulary, idf, one weight column per category and a Platt (sigmoid)
calibration fitted on a calibration split the weights never saw.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from itertools import chain, repeat
from operator import is_not
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression

from classifier import features as F

ANALYZERS: dict[str, Callable[[str], list[str]]] = {
    "text": F.text_features,
    "text2": F.text2_features,
    "text_plain": F.plain_text_features,
    "url": F.url_features,
    "url2": F.url2_features,  # needs the model's host words: see LinearMultiLabel.features
}
#: The stance markers each page-text analyzer adds to a text's words (a model keeps the
#: markers it was trained with).
_STANCE = {"text": F.stance_tokens, "text2": F.stance2_tokens}


#: Function words say nothing to a parent reading a block reason.
_STOP = frozenset("""the and you are was for that this with have not but what all they his her
she him them your our their its from just can will would about there been were who how when
when why com www html php index the si sa la de pe cu in din care nu un o ce mai sunt este
""".split())


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


def _calibrated(z: np.ndarray, platt: np.ndarray) -> list[float]:
    """Platt-calibrated probabilities of one page's decision values.

    Plain floats for the handful of categories: seven numpy calls on five numbers cost more
    than the arithmetic (float64 here, float32 in :func:`_sigmoid`: a difference below 1e-7).
    """
    out = []
    for zj, (a, b) in zip(z.tolist(), platt.tolist()):
        x = a * zj + b
        out.append(1.0 / (1.0 + math.exp(-(40.0 if x > 40.0 else -40.0 if x < -40.0 else x))))
    return out


def _counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_counts=True)`` in a few plain numpy calls (it makes a dozen,
    costing more than the sort of a page's few thousand keys)."""
    keys = np.sort(keys)
    if not len(keys):
        return keys, np.zeros(0, dtype=np.intp)
    first = np.empty(len(keys), dtype=bool)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return keys.take(starts), np.append(starts[1:], len(keys)) - starts


#: Is a vocabulary lookup's answer an index (not None)? A C call, for ``filter``.
_is_index = partial(is_not, None)

#: Above this many 3-character prefixes (alphabet size cubed) the page-text index falls back
#: from tables to a sorted array of 4-gram keys.
_MAX_PREFIXES = 1 << 21
#: Sublinear term frequency 1 + log(count) for small counts, as float32 like the vectoriser's.
_TF = np.concatenate(([np.float32(0)], 1.0 + np.log(np.arange(1, 4096, dtype=np.float32))))


class _TextIndex:
    """Vocabulary of the page-text model in a form numpy can look up without Python loops.

    Characters get small ids (0 for characters no 4-gram in the vocabulary uses). A 4-gram is
    found in two table lookups: its first three characters select a block (``prefix_block``),
    its last one a slot in that block (``blocks``), which holds the feature index or -1. That
    is ~2.7 MB for the shipped model and replaces ~1000 dict probes per page. Words ("w "
    features) stay in a dict keyed by the bare word; a feature such as "w ab" is both a word
    and a 4-gram, as in the vectoriser: both lookups find its one index.
    """

    def __init__(self, feature_names: Sequence[str], idf: np.ndarray | None = None) -> None:
        names = [str(f) for f in feature_names]
        word_idx = [i for i, f in enumerate(names) if f.startswith("w ")]
        if idf is not None:
            # Common words (low idf) first: a page's word lookups wait on memory one after
            # another (dict slot, entry, key, value), and a cold cache makes each a miss. Built
            # in this order, the entries, keys and values of the words most pages use lie
            # together, in fewer cache lines (~10 % less time per word, the same dict).
            word_idx = np.asarray(word_idx, dtype=np.intp)
            word_idx = word_idx[np.argsort(idf[word_idx], kind="stable")].tolist()
        self.words: dict[str, int] = {names[i][2:]: i for i in word_idx}
        gram_idx = np.array([i for i, f in enumerate(names) if len(f) == 4], dtype=np.int32)
        cps = np.frombuffer("".join(names[i] for i in gram_idx).encode("utf-32-le", "surrogatepass"),
                            dtype=np.uint32).reshape(-1, 4)
        alphabet = np.unique(cps)
        base = self.base = len(alphabet) + 1
        # Zero-filled on demand by the OS: only the pages of code points in use become resident.
        self.char_ids = np.zeros(0x110000, dtype=np.uint32)
        self.char_ids[alphabet] = np.arange(1, base, dtype=np.uint32)
        c = self.char_ids[cps].astype(np.int64)
        prefix = (c[:, 0] * base + c[:, 1]) * base + c[:, 2]
        self.keys: np.ndarray | None = None
        if base ** 3 <= _MAX_PREFIXES:
            used, block = np.unique(prefix, return_inverse=True)
            self.prefix_block = np.zeros(base ** 3, dtype=np.int32)
            self.prefix_block[used] = np.arange(1, len(used) + 1, dtype=np.int32)
            self.blocks = np.full((len(used) + 1) * base, -1, dtype=np.int32)  # block 0: none
            self.blocks[(block + 1) * base + c[:, 3]] = gram_idx
        else:
            keys = prefix * base + c[:, 3]
            order = np.argsort(keys, kind="stable")
            # A sentinel past every key: a search never runs off the end.
            self.keys = np.append(keys[order], np.iinfo(np.int64).max)
            self.gram_idx = np.append(gram_idx[order], -1).astype(np.int32)

    def lookup(self, s: str, words: list[str]) -> np.ndarray:
        """Vocabulary indices (with repeats) of the 4-grams of ``s`` and of ``words``."""
        wi = self.word_ids(words)
        if len(s) < 4:
            return wi[wi >= 0]
        idx = np.concatenate((self.gram_ids(s), wi))
        return idx[idx >= 0]

    def word_ids(self, words: list[str]) -> np.ndarray:
        """Vocabulary index of each word, -1 where none."""
        return np.fromiter(map(self.words.get, words, repeat(-1)), dtype=np.int32, count=len(words))

    def gram_ids(self, s: str) -> np.ndarray:
        """Vocabulary index of the 4-gram at each position of ``s`` (``len(s) - 3`` of them),
        -1 where none: the slice ``[i:j]`` holds those of ``s[i:j + 3]``."""
        if len(s) < 4:
            return np.zeros(0, dtype=np.int32)
        c = self.char_ids.take(np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32))
        if self.keys is not None:
            c = c.astype(np.int64)  # a large alphabet's keys do not fit 32 bits
        base = self.base
        p = c[:-3] * base
        p += c[1:-2]
        p *= base
        p += c[2:-1]
        if self.keys is None:
            return self.blocks.take(self.prefix_block.take(p) * base + c[3:])
        k = p * base + c[3:]
        pos = np.searchsorted(self.keys, k)
        return np.where(self.keys.take(pos) == k, self.gram_idx.take(pos), -1).astype(np.int32, copy=False)


class LinearMultiLabel(BaseEstimator):
    """One calibrated logistic model per category over one shared sparse feature space."""

    def __init__(self, analyzer: str = "text", categories: Sequence[str] = (), *,
                 max_features: int = 150_000, min_df: int = 2, C: float = 4.0,
                 class_weight: str | None = "balanced", random_state: int = 0,
                 hostwords: Any = None) -> None:
        self.analyzer = analyzer
        self.categories = categories
        self.max_features = max_features
        self.min_df = min_df
        self.C = C
        self.class_weight = class_weight
        self.random_state = random_state
        self.hostwords = hostwords

    def features(self, doc: str) -> list[str]:
        """The features this model reads from ``doc`` (its analyzer; ``url2`` with the host
        words the model was trained with)."""
        if self.analyzer == "url2":
            return F.url2_features(doc, self.__dict__["hostwords"])
        return ANALYZERS[self.analyzer](doc)

    # -- training ------------------------------------------------------------------------

    def fit(self, X: Sequence[str], Y: np.ndarray, X_cal: Sequence[str], Y_cal: np.ndarray,
            progress: Callable[[str], None] | None = None, *,
            sample_weight: np.ndarray | None = None, protect: np.ndarray | None = None,
            max_protected_rate: float = 0.01) -> LinearMultiLabel:
        """Fit weights on (X, Y) and the sigmoid calibration on (X_cal, Y_cal).

        ``protect`` names, per calibration row, a kind of text that must stay allowed ("support"
        for help-seeking posts, "news"; "" for none): where more than ``max_protected_rate`` of
        the safe rows of one kind would reach 0.5 in a category, that category's calibration is
        shifted so that they do not. This is the child-safety trade-off made
        explicit: a missed harmful post costs less than hiding help from a struggling child.
        """
        say = progress or (lambda _m: None)
        if self.analyzer == "url2" and self.hostwords is None:
            raise ValueError("the url2 analyzer needs hostwords (classifier.hostwords.build())")
        vec = CountVectorizer(analyzer=self.features, min_df=self.min_df,
                              max_features=self.max_features, dtype=np.float32)
        say(f"  vectorising {len(X)} {self.analyzer} documents")
        counts = vec.fit_transform(X)
        tfidf = TfidfTransformer(sublinear_tf=True)
        Xt = tfidf.fit_transform(counts)
        Xc = tfidf.transform(vec.transform(X_cal))
        self.vocabulary_ = {f: int(i) for f, i in vec.vocabulary_.items()}
        self.feature_names_ = np.asarray(vec.get_feature_names_out(), dtype=object)
        self.idf_ = tfidf.idf_.astype(np.float32)
        n_cat = len(self.categories)
        self.coef_ = np.zeros((Xt.shape[1], n_cat), dtype=np.float32)
        self.intercept_ = np.zeros(n_cat, dtype=np.float32)
        self.platt_ = np.zeros((n_cat, 2), dtype=np.float32)
        for j, cat in enumerate(self.categories):
            y = Y[:, j]
            if y.sum() == 0 or y.sum() == len(y):
                raise ValueError(f"category {cat!r} needs positive and negative examples")
            say(f"  fitting {self.analyzer}/{cat}: {int(y.sum())} positive of {len(y)}")
            lr = LogisticRegression(C=self.C, class_weight=self.class_weight, solver="liblinear",
                                    random_state=self.random_state, max_iter=200)
            lr.fit(Xt, y, sample_weight=sample_weight)
            self.coef_[:, j] = lr.coef_[0]
            self.intercept_[j] = lr.intercept_[0]
            d = (Xc @ lr.coef_[0] + lr.intercept_[0]).reshape(-1, 1)
            yc = Y_cal[:, j]
            if 0 < yc.sum() < len(yc):
                platt = LogisticRegression(C=1e4).fit(d, yc)
                self.platt_[j] = (platt.coef_[0, 0], platt.intercept_[0])
            else:
                self.platt_[j] = (1.0, 0.0)
            if protect is not None:
                a, b = self.platt_[j]
                shift = 0.0
                for kind in sorted(set(protect.tolist()) - {""}):
                    zp = a * d[(protect == kind) & (yc == 0), 0] + b
                    if len(zp) and np.mean(zp >= 0) > max_protected_rate:
                        shift = max(shift, float(np.quantile(zp, 1.0 - max_protected_rate)))
                if shift > 0:
                    self.platt_[j, 1] = b - shift - 1e-3
                    say(f"    {cat}: calibration shifted by {-shift:.2f} to protect help-seeking texts")
        self.prune()
        return self

    def prune(self, keep: float = 1e-4) -> None:
        """Drop features whose weight is negligible in every category (smaller artefact)."""
        mask = np.abs(self.coef_).max(axis=1) > keep
        self.coef_ = np.ascontiguousarray(self.coef_[mask])
        self.idf_ = self.idf_[mask]
        self.feature_names_ = self.feature_names_[mask]
        self.vocabulary_ = {f: i for i, f in enumerate(self.feature_names_)}
        self.__dict__.pop("_text_index_", None)  # inference lookups of an earlier fit
        self.__dict__.pop("_rows_", None)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("vocabulary_", None)  # rebuilt from feature_names_ on load: half the size
        state.pop("_text_index_", None)  # rebuilt on first use
        state.pop("_rows_", None)
        state["feature_names_"] = list(state["feature_names_"])
        if state.get("hostwords", 0) is None:
            del state["hostwords"]  # models without host words pickle as before they existed
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("hostwords", None)  # saved before host words existed
        self.feature_names_ = np.asarray(self.feature_names_, dtype=object)
        if self.analyzer in ("text", "text2", "text_plain"):
            self._text_index()  # page text needs no string vocabulary (~7 MB): built on demand
            self._rows()
        else:
            self.vocabulary_ = {f: i for i, f in enumerate(self.feature_names_)}

    def __getattr__(self, name: str) -> Any:
        """Build ``vocabulary_`` from ``feature_names_`` the first time it is needed."""
        if name == "vocabulary_" and "feature_names_" in self.__dict__:
            vocab = {f: i for i, f in enumerate(self.feature_names_)}
            self.__dict__["vocabulary_"] = vocab
            return vocab
        raise AttributeError(name)

    # -- inference -----------------------------------------------------------------------

    def _vector(self, feats: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """TF-IDF of a feature list: one C-level pass of dict lookups, counts by ``np.unique``."""
        get = self.vocabulary_.get
        if len(feats) <= 128:
            # A host name's few dozen features: counting in a dict beats numpy's call overhead
            # (looked up, filtered and counted in C calls).
            counts = Counter(filter(_is_index, map(get, feats)))
            found = sorted(counts)
            ia = np.array(found, dtype=np.intp)
            va = _TF.take([counts[i] for i in found]) if found else np.zeros(0, np.float32)
            return ia, self._idf_norm(ia, va)
        idx = np.fromiter(map(get, feats, repeat(-1)), dtype=np.intp, count=len(feats))
        return self._weigh(idx[idx >= 0])

    def _idf_norm(self, ia: np.ndarray, va: np.ndarray) -> np.ndarray:
        va *= self.idf_.take(ia)
        norm = float(np.sqrt(va @ va)) if len(va) else 0.0
        if norm:
            va /= norm
        return va

    def _weigh(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sublinear TF-IDF, L2-normalised, of vocabulary indices with repeats."""
        ia, cnt = np.unique(idx, return_counts=True)
        if len(idx) < len(_TF):
            va = _TF.take(cnt)
        else:
            va = 1.0 + np.log(cnt.astype(np.float32))
        return ia, self._idf_norm(ia, va)

    # Page text: the features of F.text_features without building them as strings.

    def _text_index(self) -> _TextIndex:
        index = self.__dict__.get("_text_index_")
        if index is None:
            index = self._text_index_ = _TextIndex(self.feature_names_, self.idf_)
        return index

    def _rows(self) -> np.ndarray:
        """Per feature, its weights and then its idf in one row: one memory access, not two."""
        rows = self.__dict__.get("_rows_")
        if rows is None:
            rows = self._rows_ = np.ascontiguousarray(
                np.hstack([self.coef_, self.idf_[:, None]]), dtype=np.float32)
        return rows

    def text_vector(self, norm: str, words: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Same (indices, values) as ``_vector(F.text_features(norm, normalized=True))``.

        ``words`` may pass ``F.TOKEN.findall(norm[:MODEL_CHARS])`` when the caller has it.
        """
        return self._weigh(self._text_lookup(norm, words))

    def _text_lookup(self, norm: str, words: list[str] | None) -> np.ndarray:
        s = " " + norm[: F.MODEL_CHARS] + " "
        if words is None:
            words = F.tokens(s.strip())
        stance = _STANCE.get(self.analyzer)
        if stance is not None and (marks := stance(words)):
            words = words + marks
        return self._text_index().lookup(s, words)

    def text_decision(self, norm: str, words: list[str] | None = None
                      ) -> tuple[list[float], np.ndarray, np.ndarray]:
        """``decision`` of a normalised page text: (probabilities, indices, values)."""
        idx = self._text_lookup(norm, words)
        ia, cnt = np.unique(idx, return_counts=True)
        if not len(ia):
            return _calibrated(self.intercept_, self.platt_), ia, np.zeros(0, dtype=np.float32)
        rows = self._rows().take(ia, axis=0)
        va = _TF.take(cnt) if len(idx) < len(_TF) else 1.0 + np.log(cnt.astype(np.float32))
        va *= rows[:, -1]
        norm2 = float(np.sqrt(va @ va))
        if norm2:
            va /= norm2
        z = va @ rows[:, :-1] + self.intercept_
        return _calibrated(z, self.platt_), ia, va

    def windows_decision(self, norm: str, spans: Sequence[tuple[int, int]],
                         words: Sequence[list[str]]) -> list[tuple[list[float], np.ndarray, np.ndarray]]:
        """``text_decision(norm[a:b], w)`` for each window ``(a, b)`` of ``spans`` with its
        tokens ``w``, the windows looked up together.

        Windows that start and end at spaces (as a page's do) are pieces of one padded text:
        its 4-grams are read once, the windows' words in one pass and counted in one sort,
        instead of a dozen numpy calls per window. Other spans are scored one by one.
        """
        if not spans:
            return []
        end = spans[-1][1]
        if not all(0 <= a <= b <= end and b - a <= F.MODEL_CHARS and (a == 0 or norm[a - 1] == " ")
                   and (b == end or norm[b] == " ") for a, b in spans):
            return [self.text_decision(norm[a:b], w) for (a, b), w in zip(spans, words)]
        index = self._text_index()
        stance = _STANCE.get(self.analyzer)
        if stance is not None:
            words = [w + marks if (marks := stance(w)) else w for w in words]
        grams = index.gram_ids(" " + norm[:end] + " ")
        wids = index.word_ids(list(chain.from_iterable(words)))
        # Every window's 4-grams and words in one array, shifted by window number * vocabulary
        # size so that one sort counts every window apart; the rows of all windows are taken
        # at once too, and only the sums stay per window.
        size = len(self.idf_)
        n_win = len(spans)
        dtype = np.int32 if n_win * size < 1 << 31 else np.int64
        pieces: list[np.ndarray] = []
        lengths: list[int] = []
        pos = 0
        for (a, b), ws in zip(spans, words):
            g = grams[a:max(a, b - 1)]
            pieces += (g, wids[pos:pos + len(ws)])
            lengths.append(len(g) + len(ws))
            pos += len(ws)
        ids = np.concatenate(pieces).astype(dtype, copy=False)
        found = ids >= 0
        if n_win > 1:
            ids = ids + np.repeat(np.arange(0, n_win * size, size, dtype=dtype), lengths)
        keys, cnt = _counts(ids[found])
        bounds = np.searchsorted(keys, np.arange(n_win + 1, dtype=dtype) * size).tolist()
        if n_win > 1:
            keys = keys - np.repeat(np.arange(0, n_win * size, size, dtype=dtype),
                                    np.diff(bounds))
        ia_all = keys.astype(np.int32, copy=False)
        rows = self._rows().take(ia_all, axis=0)
        # Sublinear tf from the table while no window has 4096 features or more (a count
        # cannot exceed its window's number of features).
        if len(ia_all) and int(cnt.sum()) >= len(_TF):
            va_all = None
        else:
            va_all = _TF.take(cnt)
            va_all *= rows[:, -1]
        out = []
        for k in range(n_win):
            lo, hi = bounds[k], bounds[k + 1]
            if lo == hi:
                out.append((_calibrated(self.intercept_, self.platt_), np.zeros(0, dtype=np.int32),
                            np.zeros(0, dtype=np.float32)))
                continue
            r = rows[lo:hi]
            if va_all is not None:
                va = va_all[lo:hi].copy()  # its own array: the same sums as text_decision's
            else:
                c = cnt[lo:hi]
                va = _TF.take(c) if int(c.sum()) < len(_TF) else 1.0 + np.log(c.astype(np.float32))
                va *= r[:, -1]
            norm2 = float(np.sqrt(va @ va))
            if norm2:
                va /= norm2
            out.append((_calibrated(va @ r[:, :-1] + self.intercept_, self.platt_),
                        ia_all[lo:hi].copy(), va))
        return out

    def decision_vector(self, ia: np.ndarray, va: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of one (indices, values) vector."""
        z = va @ self.coef_.take(ia, axis=0) + self.intercept_ if len(ia) else self.intercept_.copy()
        return _sigmoid(self.platt_[:, 0] * z + self.platt_[:, 1])

    def decision_list(self, feats: list[str]) -> tuple[list[float], np.ndarray, np.ndarray]:
        """:meth:`decision` with the probabilities as a list (one page: cheaper, see
        :func:`_calibrated`)."""
        ia, va = self._vector(feats)
        z = va @ self.coef_.take(ia, axis=0) + self.intercept_ if len(ia) else self.intercept_
        return _calibrated(z, self.platt_), ia, va

    def decision(self, feats: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Calibrated probabilities plus the (indices, values) used, for explanations."""
        ia, va = self._vector(feats)
        return self.decision_vector(ia, va), ia, va

    def predict_proba_one(self, doc: str) -> np.ndarray:
        return self.decision(self.features(doc))[0]

    def predict_proba(self, docs: Sequence[str]) -> np.ndarray:
        """Batch scoring through scipy (evaluation); same numbers as ``predict_proba_one``."""
        rows, cols, data = [], [], []
        for r, d in enumerate(docs):
            ia, va = self._vector(self.features(d))
            rows.extend([r] * len(ia))
            cols.extend(ia.tolist())
            data.extend(va.tolist())
        X = sparse.csr_matrix((data, (rows, cols)), shape=(len(docs), self.coef_.shape[0]),
                              dtype=np.float32)
        z = np.asarray(X @ self.coef_) + self.intercept_
        return _sigmoid(self.platt_[:, 0] * z + self.platt_[:, 1])

    def explain(self, j: int, ia: np.ndarray, va: np.ndarray, k: int = 5) -> tuple[str, ...]:
        """Features that pushed category ``j`` up the most, described for people.

        Whole words come first; character n-grams are shown only when they are readable (three
        or more letters) and not part of a word already listed.
        """
        if not len(ia):
            return ()
        contrib = va * self.coef_[ia, j]
        # Stable: equal contributions (features that always co-occur) in vocabulary order.
        order = np.argsort(-contrib, kind="stable")[: 8 * k]
        words: list[str] = []
        grams: list[str] = []
        for t in order:
            if contrib[t] <= 0:
                break
            name = str(self.feature_names_[ia[t]])
            if name[:2] in ("w ", "h ", "p ") and len(name) > 4 or name.startswith(("tld ", "hw ", "tw ")):
                if name.split(" ", 1)[1] not in _STOP:
                    words.append(name)
            else:
                frag = name.strip(" ^$.")
                if sum(ch.isalnum() for ch in frag) >= 3 and " " not in frag:
                    grams.append(name)
        out = [F.describe_feature(w) for w in words]
        plain = " ".join(w.split(" ", 1)[1] for w in words if " " in w)
        out += [F.describe_feature(g) for g in grams if g.strip(" ^$.") not in plain]
        return tuple(dict.fromkeys(out))[:k]

    def predict(self, docs: Sequence[str], threshold: float = 0.5) -> np.ndarray:
        return (self.predict_proba(docs) >= threshold).astype(int)
