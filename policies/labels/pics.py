"""PICS-1.1 label lists (RSACi, ICRA, SafeSurf), read with a small tokenizer.

PICS is legacy and rare, so this reads just enough: the service URL, ``for`` prefixes and the
``r``/``ratings`` pairs. Unknown services and malformed lists give nothing, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from policies.labels.values import (
    CATEGORY_FROM_AGE,
    ICRA_FLAGS,
    RSACI_AGES,
    RSACI_CATEGORY,
    SAFESURF_AGES,
    SAFESURF_CATEGORY,
)

MAX_LABEL_CHARS = 4096
_TOKEN_RE = re.compile(r'"([^"]*)"?|\'([^\']*)\'?|(\()|(\))|([^\s()"\']+)')


@dataclass(frozen=True, slots=True)
class PicsRating:
    service: str  # "RSACi" | "ICRA" | "SafeSurf"
    min_age: int
    category: str | None
    text: str  # the ratings as written, for the reason


def _service(url: str) -> str | None:
    u = url.lower()
    if "rsac.org" in u:
        return "RSACi"
    if "icra.org" in u or "fosi.org" in u:
        return "ICRA"
    if "safesurf" in u or "classify.org" in u:
        return "SafeSurf"
    return None


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for m in _TOKEN_RE.finditer(text[:MAX_LABEL_CHARS]):
        if m.group(1) is not None or m.group(2) is not None:
            out.append(("str", m.group(1) if m.group(1) is not None else m.group(2)))
        elif m.group(3):
            out.append(("(", "("))
        elif m.group(4):
            out.append((")", ")"))
        else:
            out.append(("word", m.group(5)))
    return out


def _score(service: str, pairs: list[tuple[str, str]]) -> tuple[int, str | None]:
    """The highest age over all dimensions; the category of the most severe named one."""
    best, category, cat_age = 0, None, -1
    for key, raw in pairs:
        k = key.lower()
        try:
            level = int(float(raw))
        except (ValueError, OverflowError):  # "x", "inf", "nan"
            continue
        age, cat = 0, None
        if service == "RSACi" and k in RSACI_AGES:
            age = RSACI_AGES[k][max(0, min(4, level))]
            cat = RSACI_CATEGORY[k] if age >= CATEGORY_FROM_AGE else None
        elif service == "ICRA" and k in ICRA_FLAGS and level > 0:
            age, cat = ICRA_FLAGS[k]
        elif service == "SafeSurf":
            code = key.upper().removeprefix("SS~~")
            if code in SAFESURF_CATEGORY:
                age = SAFESURF_AGES[max(0, min(9, level))]
                cat = SAFESURF_CATEGORY[code] if age >= CATEGORY_FROM_AGE else None
        best = max(best, age)
        if cat and age > cat_age:
            category, cat_age = cat, age
    return best, category


def parse_pics(text: str, url: str) -> list[PicsRating]:
    """Ratings in a PICS-1.1 label list that apply to ``url`` (``for`` prefixes honoured)."""
    toks = _tokens(text)
    if not any(t == "word" and v.upper() == "PICS-1.1" for t, v in toks[:3]):
        return []
    out: list[PicsRating] = []
    service: str | None = None
    prefix: str | None = None
    i = 0
    while i < len(toks):
        typ, val = toks[i]
        if typ == "str" and i > 0 and (toks[i - 1][1].upper() == "PICS-1.1" or toks[i - 1][0] == ")"):
            service = _service(val)
            prefix = None
        elif typ == "word" and val.lower() in ("l", "labels"):
            prefix = None
        elif typ == "word" and val.lower() == "for" and i + 1 < len(toks) and toks[i + 1][0] == "str":
            prefix = toks[i + 1][1]
            i += 1
        elif typ == "word" and val.lower() in ("r", "ratings") and i + 1 < len(toks) \
                and toks[i + 1][0] == "(":
            j = i + 2
            words: list[str] = []
            while j < len(toks) and toks[j][0] != ")":
                words.append(toks[j][1])
                j += 1
            i = j
            if service is None or (prefix and not _applies(prefix, url)):
                i += 1
                continue
            pairs = list(zip(words[0::2], words[1::2]))
            age, cat = _score(service, pairs)
            out.append(PicsRating(service, age, cat, " ".join(words)))
        i += 1
    return out


def _applies(prefix: str, url: str) -> bool:
    """PICS ``for``: the label covers URLs starting with the prefix (scheme and case loose)."""
    def norm(u: str) -> str:
        u = u.strip().lower()
        for s in ("https://", "http://"):
            u = u.removeprefix(s)
        return u.removeprefix("www.")
    return norm(url).startswith(norm(prefix))
