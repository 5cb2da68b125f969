"""Text normalisation and feature analyzers shared by training and inference.

Character n-grams over lower-cased, diacritic-folded text make spelling tricks ("s3x", "seeex")
and Romanian diacritics (ş/ș, ţ/ț, ă, â, î, with or without) cost the model little. Analyzers are
plain functions so the vocabulary learnt by scikit-learn maps one-to-one onto what inference sees.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote, urlsplit

import numpy as np

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


#: "18+" and the like: an age gate says something, but "+" is not a word character. Not
#: "2+2", "c++" or "+18" (a phone prefix).
_AGE_PLUS = re.compile(r"(?<![\w+.])(1[0-8]|21)\s?\+(?![\w+])")

#: Byte table for the last step: ASCII word characters and "'" stay, every other ASCII byte
#: becomes a space; bytes >= 0x80 (UTF-8 sequences of word characters) stay.
_SQUEEZE = bytes(c if c >= 128 or chr(c).isalnum() or c in b"_'" else 32 for c in range(256))
#: Non-ASCII characters that are not word characters (dashes, quotes, symbols, spaces).
_WIDE_NONWORD = re.compile(r"[^\x00-\x7f\w]+")
_APOSTROPHE = ord("'")


def _collapse_runs(a: np.ndarray) -> np.ndarray | None:
    """Runs of 3+ equal characters cut to 2, or None if there are none (cheaper than a regex).

    ``a`` holds squeezed text (word characters, apostrophes and single spaces), so every equal
    triple other than three apostrophes is a run of one word character, as ``_REPEAT`` means.
    """
    if len(a) < 3:
        return None
    eq = a[1:] == a[:-1]
    drop = eq[1:] & eq[:-1]
    if not drop.any():
        return None
    drop &= a[2:] != _APOSTROPHE
    if not drop.any():
        return None
    keep = np.ones(len(a), dtype=bool)
    keep[2:] = ~drop
    return a[keep]


def normalize(text: str) -> str:
    """Lower-case, fold diacritics, collapse runs of a letter, squeeze non-word characters;
    an age gate such as "18+" becomes the word "18plus".

    Same result as the regex definition (``_FOLD``, NFKD without combining marks, ``_REPEAT``,
    ``_NONWORD``), computed with C-speed string calls: a per-character ``str.translate`` and
    regex substitutions with one match per word cost more than the models on a page.
    """
    t = text.lower()
    if "+" in t:
        t = _AGE_PLUS.sub(r" \1plus ", t)
    if not t.isascii():
        # The Romanian letters of _FOLD fold the same way through NFKD below; quotes do not.
        if "\u2019" in t or "\u2018" in t:
            t = t.replace("\u2019", "'").replace("\u2018", "'")
    if "@" in t or "$" in t:
        t = t.replace("@", "a").replace("$", "s")
    if t.isascii():
        b = b" ".join(t.encode("ascii").translate(_SQUEEZE).split())
        a = _collapse_runs(np.frombuffer(b, dtype=np.uint8))
        return (b if a is None else a.tobytes()).decode("ascii")
    # NFKD can yield upper-case ASCII (e.g. U+210C): it stays upper-case, as before.
    t = _COMBINING.sub("", unicodedata.normalize("NFKD", t))
    t = _WIDE_NONWORD.sub(" ", t)
    b = b" ".join(t.encode("utf-8").translate(_SQUEEZE).split())
    t = b.decode("utf-8")
    if t.isascii():
        a = _collapse_runs(np.frombuffer(b, dtype=np.uint8))
        return t if a is None else a.tobytes().decode("ascii")
    a = _collapse_runs(np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32))
    return t if a is None else a.tobytes().decode("utf-32-le")


def plain_words(norm: str) -> bool:
    """Are the tokens of ``norm`` just its space-separated words of 2+ characters?

    True for ASCII text without upper case (NFKD can leave some) or "_": its words are runs of
    [a-z0-9'], which ``TOKEN`` takes whole.
    """
    # lower() == itself: ~7x faster than islower() on ASCII text.
    return norm.isascii() and "_" not in norm and norm.lower() == norm


def tokens(norm: str) -> list[str]:
    """Word tokens of normalised text (``TOKEN``); a plain split when that gives the same."""
    if plain_words(norm):
        return [w for w in norm.split(" ") if len(w) > 1]
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
