"""Text normalisation and feature analyzers shared by training and inference.

Character n-grams over lower-cased, diacritic-folded text make spelling tricks ("s3x", "seeex")
and Romanian diacritics (ş/ș, ţ/ț, ă, â, î, with or without) cost the model little. Analyzers are
plain functions so the vocabulary learnt by scikit-learn maps one-to-one onto what inference sees.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote, urlsplit

_FOLD = str.maketrans({
    "ș": "s", "ş": "s", "ț": "t", "ţ": "t", "ă": "a", "â": "a", "î": "i",
    "Ș": "s", "Ş": "s", "Ț": "t", "Ţ": "t", "Ă": "a", "Â": "a", "Î": "i",
    "’": "'", "‘": "'", "“": '"', "”": '"', "@": "a", "$": "s",
})
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_REPEAT = re.compile(r"(\w)\1{2,}")
_NONWORD = re.compile(r"[^\w']+")
TOKEN = re.compile(r"[a-z0-9']{2,}|[^\W\d_]{2,}")
#: How much normalised text the page-text model reads; the term scan reads all extracted text.
MODEL_CHARS = 1000


def normalize(text: str) -> str:
    """Lower-case, fold diacritics, collapse runs of a letter, squeeze non-word characters."""
    t = text.lower().translate(_FOLD)
    if not t.isascii():
        t = _COMBINING.sub("", unicodedata.normalize("NFKD", t))
    t = _REPEAT.sub(r"\1\1", t)
    return _NONWORD.sub(" ", t).strip()


def tokens(norm: str) -> list[str]:
    return TOKEN.findall(norm)


def text_features(text: str, *, normalized: bool = False) -> list[str]:
    """Word unigrams plus character 4-grams of the first MODEL_CHARS characters.

    One n-gram size keeps a page under a millisecond; 4-grams still cover "s3x"-style spellings
    and words with or without Romanian diacritics (folded by :func:`normalize`).
    """
    s = text if normalized else normalize(text)
    s = " " + s[:MODEL_CHARS] + " "
    feats = ["w " + w for w in TOKEN.findall(s)]
    feats += [s[i:i + 4] for i in range(len(s) - 3)]
    return feats


def split_url(url: str) -> tuple[str, str]:
    """(host, path-and-query) of a URL or bare host name, lower-cased."""
    u = url.strip()
    if "//" not in u:
        u = "http://" + u
    try:
        p = urlsplit(u)
        host = (p.hostname or "").rstrip(".")
    except ValueError:
        return "", ""
    return host.lower(), unquote(p.path + ("?" + p.query if p.query else "")).lower()[:300]


def url_features(url: str) -> list[str]:
    """Host character 3-5-grams with label boundaries, host labels, TLD and path words."""
    host, path = split_url(url)
    if host.startswith("www."):
        host = host[4:]
    labels = host.split(".")
    tld = labels[-1] if labels else ""
    name = ".".join(labels[:-1]) if len(labels) > 1 else host
    s = "^" + name.replace("-", ".") + "$"
    feats = ["tld " + tld]
    feats += ["h " + lab for lab in labels[:-1]]
    for n in (3, 4, 5):
        feats += [s[i:i + n] for i in range(len(s) - n + 1)]
    if path and path != "/":
        feats += ["p " + w for w in TOKEN.findall(normalize(path))[:20]]
    return feats


def describe_feature(f: str) -> str:
    """Human-readable name of a feature, for parents reading a block reason."""
    if f.startswith("w "):
        return f"word '{f[2:]}'"
    if f.startswith("h "):
        return f"host word '{f[2:]}'"
    if f.startswith("p "):
        return f"path word '{f[2:]}'"
    if f.startswith("tld "):
        return f"domain ending '.{f[4:]}'"
    return f"'{f.strip().strip('^$')}'"
