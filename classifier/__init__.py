"""kidgate's content classifier: page text, URL/host and weighted-term models.

Public API used by the proxy and the CLI::

    clf = classifier.load()                      # verifies models/MANIFEST.json first
    c = clf.classify(url=..., html=..., headers=...)
    c.scores, c.features, c.to_evidence()
    clf.classify_url(url)                         # host/URL model only, cheap

No mitmproxy import here: the classifier runs in worker threads and in offline tools alike.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


from classifier.extract import MAX_CHARS, BodyView, extract_view, read_body, str_body
from classifier.extract import search_query as _search_query
from classifier.features import MODEL_CHARS, normalize, tokens

__all__ = ["Classification", "Classifier", "ModelIntegrityError", "load", "DEFAULT_MODELS_DIR"]

DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
MANIFEST = "MANIFEST.json"
#: Files in models/ that are never unpickled and need no manifest entry.
_NOT_LOADED = frozenset({MANIFEST})

TEXT_DETAIL = "page text model"
URL_DETAIL = "URL/host model"
TERMS_DETAIL = "weighted terms"
MEANING_DETAIL = "word-meaning model"


class ModelIntegrityError(RuntimeError):
    """A model file is missing from, unknown to, or different from models/MANIFEST.json."""


class _Explain:
    """A model's explanation of one category, computed only when someone reads it."""

    __slots__ = ("model", "j", "ia", "va")

    def __init__(self, model: Any, j: int, ia: Any, va: Any) -> None:
        self.model, self.j, self.ia, self.va = model, j, ia, va

    def __call__(self) -> tuple[str, ...]:
        return self.model.explain(self.j, self.ia, self.va)


class Classification:
    """Per-category probabilities, the features behind them and which model gave each.

    ``features`` is worked out on first read: ranking a model's features costs more than
    scoring, and batch scoring (``kidgate classify --jsonl``) rarely needs them. Instances are
    read-only and safe to share between threads (a racing first read computes the same value).
    """

    __slots__ = ("_scores", "_features", "_sources")

    def __init__(self, scores: dict[str, float] | None = None,
                 features: Mapping[str, tuple[str, ...] | Callable[[], tuple[str, ...]]] | None = None,
                 sources: dict[str, str] | None = None) -> None:
        object.__setattr__(self, "_scores", {} if scores is None else scores)
        object.__setattr__(self, "_features", {} if features is None else features)
        object.__setattr__(self, "_sources", {} if sources is None else sources)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Classification is read-only: cannot set {name!r}")

    @property
    def scores(self) -> dict[str, float]:
        return self._scores

    @property
    def sources(self) -> dict[str, str]:
        return self._sources

    @property
    def features(self) -> dict[str, tuple[str, ...]]:
        f = self._features
        if any(callable(v) for v in f.values()):
            f = {k: v() if callable(v) else v for k, v in f.items()}
            object.__setattr__(self, "_features", f)
        return f

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Classification):
            return NotImplemented
        return (self.scores, self.features, self.sources) == (other.scores, other.features,
                                                              other.sources)

    __hash__ = None  # type: ignore[assignment]  # mutable dicts inside, as before

    def __repr__(self) -> str:
        return (f"Classification(scores={self.scores!r}, features={self.features!r}, "
                f"sources={self.sources!r})")

    def to_evidence(self, kinds: Mapping[str, str] | None = None) -> list[Any]:
        """One ``policies.core.Evidence`` per scored category (source "classifier"); ``kinds``
        gives the evidence of some sources (details) a kind, such as the URL model's stricter
        threshold (cheaper than replacing each frozen Evidence afterwards)."""
        from policies.core import Evidence

        return [Evidence(*fields) for fields in self.evidence_fields(kinds)]

    def evidence_fields(self, kinds: Mapping[str, str] | None = None) -> list[tuple]:
        """The fields of each Evidence :meth:`to_evidence` makes, in ``Evidence``'s order
        (source, category, detail, min_age, score, allow, kind, features): what a worker
        process sends, without building frozen objects (~2 µs each) only to take them apart."""
        feats = self.features
        sources = self.sources
        kinds = kinds or {}
        out = []
        for cat, score in sorted(self.scores.items(), key=lambda kv: -kv[1]):
            detail = sources.get(cat, TEXT_DETAIL)
            out.append(("classifier", cat, detail, None, float(score), False,
                        kinds.get(detail, ""), feats.get(cat, ())))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"scores": {k: round(v, 4) for k, v in self.scores.items()},
                "features": {k: list(v) for k, v in self.features.items() if v},
                "sources": dict(self.sources)}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_manifest(models_dir: Path) -> dict[str, str]:
    """Check every file in ``models_dir`` against MANIFEST.json; return name -> sha256."""
    mpath = models_dir / MANIFEST
    if not mpath.is_file():
        raise ModelIntegrityError(f"{mpath} is missing: refusing to load unverified models")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        files: dict[str, str] = manifest["files"]
    except (ValueError, KeyError, TypeError) as e:
        raise ModelIntegrityError(f"{mpath} is not a valid manifest: {e}") from e
    present = {p.name for p in models_dir.iterdir() if p.is_file() and p.name not in _NOT_LOADED
               and not p.name.startswith(".")}
    unknown = present - set(files)
    if unknown:
        raise ModelIntegrityError(f"unknown files in {models_dir} (not in manifest): {sorted(unknown)}")
    for name, digest in files.items():
        p = models_dir / name
        if "/" in name or "\\" in name or name.startswith("."):
            raise ModelIntegrityError(f"manifest names a file outside {models_dir}: {name!r}")
        if not p.is_file():
            raise ModelIntegrityError(f"{p} is listed in the manifest but missing")
        if _sha256(p) != digest:
            raise ModelIntegrityError(f"{p} does not match its SHA-256 in the manifest")
    return files


class Classifier:
    """Loaded models plus a bounded, thread-safe result cache."""

    def __init__(self, text_model: Any, url_model: Any, terms: Any, *,
                 meaning: Any = None, meta: Mapping[str, Any] | None = None,
                 cache_size: int = 4096) -> None:
        self.text_model = text_model
        self.url_model = url_model
        self.terms = terms
        self.meaning = meaning
        self.meta = dict(meta or {})
        self._cache: OrderedDict[tuple[str, str], Classification] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def categories(self) -> tuple[str, ...]:
        cats: list[str] = []
        for m in (self.text_model, self.meaning, self.url_model):
            if m is not None:
                cats.extend(m.categories)
        if self.terms is not None:
            cats.extend(self.terms.lists)
        return tuple(dict.fromkeys(cats))

    # -- cache ----------------------------------------------------------------------------

    def _memo(self, key: tuple[str, Any], compute: Callable[[], Classification]) -> Classification:
        """The cached result for ``key``, or ``compute()``'s, stored (least recently used out)."""
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        value = compute()  # outside the lock: other threads keep scoring meanwhile
        with self._lock:
            self._cache[key] = value
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return value

    # -- scoring --------------------------------------------------------------------------

    def classify_url(self, url: str) -> Classification:
        """Host/URL model only: cheap enough for every request."""
        def compute() -> Classification:
            scores: dict[str, float] = {}
            feats: dict[str, tuple[str, ...]] = {}
            srcs: dict[str, str] = {}
            self._add_url(url, scores, feats, srcs)
            return Classification(scores, feats, srcs)
        return self._memo(("url", url), compute)

    def _add_url(self, url: str, scores: dict, feats: dict, srcs: dict) -> None:
        if self.url_model is None or not url:
            return
        um = self.url_model
        p, ia, va = um.decision_list(um.features(url))
        for j, cat in enumerate(um.categories):
            pj = p[j]
            _merge(scores, feats, srcs, cat, pj, _Explain(um, j, ia, va) if pj >= 0.2 else (),
                   URL_DETAIL)
        host_terms = getattr(um, "host_terms_", None)
        if host_terms is not None:
            # The weighted terms on the host's words: part of the URL/host model (its
            # threshold to block alone), for categories no list of the training data covers.
            for cat, (pj, tf) in host_terms.score(url).items():
                _merge(scores, feats, srcs, cat, pj, tf, URL_DETAIL)

    def _add_text(self, text: str, scores: dict, feats: dict, srcs: dict) -> None:
        norm = normalize(text)
        if not norm:
            return
        spans, win_toks, toks, own = _text_tokens(norm)
        if self.text_model is not None:
            tm = self.text_model
            for p, ia, va in tm.windows_decision(norm, spans, win_toks):
                for j, cat in enumerate(tm.categories):
                    pj = p[j]
                    if cat not in scores or pj > scores[cat]:  # else _merge keeps the score
                        _merge(scores, feats, srcs, cat, pj,
                               _Explain(tm, j, ia, va) if pj >= 0.2 else (), TEXT_DETAIL)
        if self.meaning is not None:
            # The same windows, each scored by the meaning of its words.
            mm = self.meaning
            for words in win_toks:
                p, ia, va = mm.decision(words)
                for j, cat in enumerate(mm.categories):
                    pj = p[j]
                    _merge(scores, feats, srcs, cat, pj,
                           _Explain(mm, j, ia, va) if pj >= 0.2 else (), MEANING_DETAIL)
        if self.terms is not None:
            for cat, (p, _raw, tf) in self.terms.score(norm, normalized=True, toks=toks,
                                                        own_tokens=own).items():
                if cat not in scores or p > scores[cat]:
                    _merge(scores, feats, srcs, cat, p, tf, TERMS_DETAIL)

    def classify(self, *, url: str | None = None, text: str | None = None,
                 html: bytes | str | None = None,
                 headers: Mapping[str, str] | None = None) -> Classification:
        """Score a page from any of its URL, plain text and HTML body (with response headers).

        Scores combine the models by taking, per category, the most confident one; ``features``
        explain that model's verdict. Results are cached by URL and content hash.
        """
        ctype = cenc = None
        for k, v in (headers or {}).items():
            kl = k.lower()
            if kl == "content-type":
                ctype = v
            elif kl == "content-encoding":
                cenc = v
        if isinstance(html, str):
            # Byte search and windowed decoding are faster than regexes over a wide str.
            html = str_body(html)
            ctype, cenc = "text/html; charset=utf-8", None
        ctype = ctype or "text/html"
        # Hash what the models read, once: the bytes extraction reads (decompressed, within
        # the caps: typically 40 kB of a 100 kB page) and the text used. Collision-resistant:
        # a crafted collision must not reuse a safe verdict.
        h = _KEY_HASH()
        view = None
        if html is not None:
            view = read_body(html, content_type=ctype, content_encoding=cenc)
            _hash_parts(h, b"html %d" % view.kind, ctype.encode("utf-8", "surrogatepass"), *view.parts)
        if text is not None:
            text = text[: MAX_CHARS * 2]
            _hash_parts(h, b"text", text.encode("utf-8", "surrogatepass"))
        return self._memo((url or "", h.digest()),
                          lambda: self._score_page(url, text, view, ctype))

    def _score_page(self, url: str | None, text: str | None, view: BodyView | None,
                    ctype: str) -> Classification:
        scores: dict[str, float] = {}
        feats: dict[str, tuple[str, ...]] = {}
        srcs: dict[str, str] = {}
        pieces: list[str] = []
        q = _search_query(url) if url else None
        if q:
            pieces.append(q)
        if view is not None:
            ex = extract_view(view, content_type=ctype)
            if ex.text:
                pieces.append(ex.text)
        if text:
            pieces.append(text)
        if pieces:
            self._add_text(" \n".join(pieces), scores, feats, srcs)
        if url and self.url_model is not None:
            # Through classify_url's cache: the proxy has usually scored this URL already, when
            # the request went out.
            u = self.classify_url(url)
            for cat, p in u.scores.items():
                _merge(scores, feats, srcs, cat, p, u._features.get(cat, ()), u.sources[cat])
        return Classification(scores, feats, srcs)

    def cache_clear(self) -> None:
        with self._lock:
            self._cache.clear()


#: Windows of MODEL_CHARS characters the page-text model reads per page (the speed budget:
#: one window costs ~0.08 ms on one core).
TEXT_WINDOWS = 3
#: A window shorter than this after the first is not scored on its own: a page's last few
#: words would otherwise be judged without context.
MIN_WINDOW = 200


def _text_tokens(norm: str) -> tuple[list[tuple[int, int]], list[list[str]], list[str], bool]:
    """The windows of a normalised text, each window's tokens, all the text's tokens, and
    whether those are exactly ``tokens(norm)``.

    The page-text model reads up to TEXT_WINDOWS windows of MODEL_CHARS characters (the
    first holds title, description and headings, then the body) and each category keeps
    its strongest window; the terms read everything. Windows end at a space, so no token
    crosses two windows and the windows' tokens are the text's tokens, tokenised once (only
    a window cut inside a word longer than a window splits a token in two).
    """
    spans = _windows(norm)
    win_toks = [tokens(norm[a:b]) for a, b in spans]
    end = spans[-1][1]
    toks = [t for w in win_toks for t in w]
    if end < len(norm):
        toks += tokens(norm[end:])
    own = all(b == len(norm) or norm[b] == " " for _a, b in spans)
    return spans, win_toks, toks, own


def _windows(norm: str) -> list[tuple[int, int]]:
    """(start, end) of the windows the page-text model scores, each ending before a space."""
    spans: list[tuple[int, int]] = []
    a, n = 0, len(norm)
    while a < n and len(spans) < TEXT_WINDOWS:
        if n - a <= MODEL_CHARS:
            b = n
        else:
            b = norm.rfind(" ", a, a + MODEL_CHARS)
            if b <= a:
                b = a + MODEL_CHARS  # one long "word": cut it
        if spans and b - a < MIN_WINDOW:
            break
        spans.append((a, b))
        a = b + 1 if b < n and norm[b] == " " else b
    return spans


#: The cache key's hash: SHA-256 runs on the CPU's SHA instructions where present (x86 SHA-NI,
#: ARMv8 crypto), about twice blake2b's speed there; both are collision-resistant.
_KEY_HASH = hashlib.sha256


def _hash_parts(h: Any, *parts: bytes) -> None:
    """Feed length-prefixed parts: no two different sequences of parts hash the same bytes."""
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)


def _merge(scores: dict, feats: dict, srcs: dict, cat: str, p: float,
           f: tuple[str, ...] | _Explain, detail: str) -> None:
    if cat not in scores or p > scores[cat]:
        scores[cat] = p
        feats[cat] = f
        srcs[cat] = detail


ARTIFACTS = {"text": "text_model.joblib", "url": "url_model.joblib", "terms": "terms.joblib",
             "meaning": "meaning_model.joblib"}
#: The distilled word table: read by training only (never by the proxy), checked like the rest.
WORD_TABLE = "word_vectors.npz"


def load(models_dir: Path | None = None, *, cache_size: int = 4096) -> Classifier:
    """Load the shipped (or given) models after verifying their SHA-256 manifest."""
    import joblib

    d = Path(models_dir) if models_dir is not None else DEFAULT_MODELS_DIR
    files = verify_manifest(d)
    loaded: dict[str, Any] = {}
    for key, name in ARTIFACTS.items():
        if name in files:
            blob = (d / name).read_bytes()
            if hashlib.sha256(blob).hexdigest() != files[name]:
                raise ModelIntegrityError(f"{d / name} changed while loading")
            loaded[key] = joblib.load(io.BytesIO(blob))
    if not loaded:
        raise ModelIntegrityError(f"no model artefacts listed in {d / MANIFEST}")
    meta = {}
    if "meta.json" in files:
        meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
    return Classifier(loaded.get("text"), loaded.get("url"), loaded.get("terms"),
                      meaning=loaded.get("meaning"), meta=meta, cache_size=cache_size)
