"""Label vocabularies turned into minimum ages.

Every reader in this package ends here, so that one table says what each label value means.
Ages follow the brief: adult-only labels are 18, age-only labels carry their own age, and a
label says a category only when its value names one (RTA and ``adult`` are ``sexual``).
"""

from __future__ import annotations

import re
from typing import Final

RTA: Final[str] = "RTA-5042-1996-1400-1577-RTA"

#: Informal ``<meta name="rating">`` values (lower case) -> (min_age, category).
RATING_WORDS: Final[dict[str, tuple[int, str | None]]] = {
    "adult": (18, "sexual"),
    "adults only": (18, "sexual"),
    "mature": (18, None),
    "restricted": (18, None),
    "general": (0, None),
    "safe for kids": (0, None),
    "safe for kids only": (0, None),
    "kids": (0, None),
    "everyone": (0, None),
}

_AGE_RE = re.compile(r"^\s*(?:ab\s*)?(\d{1,2})\s*(?:\+|years?|yrs?|jahre?n?|ans)?\b", re.I)


def plain_age(value: str) -> int | None:
    """``14 years``, ``18+``, ``16``, ``ab 12`` -> the age; anything else -> ``None``."""
    m = _AGE_RE.match(value)
    if not m:
        return None
    age = int(m.group(1))
    return age if 0 <= age <= 21 else None


def rating_value(value: str) -> tuple[int, str | None] | None:
    """A ``<meta name="rating">`` / ``Rating:`` value -> (min_age, category) or ``None``."""
    v = " ".join(value.strip().lower().split())
    if RTA.lower() in v:
        return 18, "sexual"
    if v in RATING_WORDS:
        return RATING_WORDS[v]
    age = plain_age(v)
    return (age, None) if age is not None else None


# --- schema.org contentRating (MPAA, US TV, FSK, USK, PEGI) -------------------------------

_MPAA: Final[dict[str, int]] = {
    "G": 0, "PG": 8, "PG-13": 13, "R": 17, "NC-17": 18, "X": 18, "XXX": 18,
    "TV-Y": 0, "TV-Y7": 7, "TV-Y7-FV": 7, "TV-G": 0, "TV-PG": 8, "TV-14": 14, "TV-MA": 17,
}
_SYSTEM_AGES: Final[dict[str, frozenset[int]]] = {
    "FSK": frozenset({0, 6, 12, 16, 18}),
    "USK": frozenset({0, 6, 12, 16, 18}),
    "PEGI": frozenset({3, 7, 12, 16, 18}),
}
_SYSTEM_RE = re.compile(r"\b(FSK|USK|PEGI)\s*[-:]?\s*(?:ab\s*)?(\d{1,2})\b", re.I)
_MPAA_RE = re.compile(r"^(?:(?:MPAA|Rated|MPA|US)\s*[:-]?\s*)*(TV-[A-Z0-9-]+|NC-17|PG-13|PG|G|R|XXX|X)$",
                      re.I)


def content_rating(value: str) -> int | None:
    """A schema.org ``contentRating`` text -> minimum age, ``None`` when not a known system."""
    v = " ".join(value.strip().split())
    if not v or len(v) > 64:
        return None
    m = _SYSTEM_RE.search(v)
    if m:
        age = int(m.group(2))
        return age if age in _SYSTEM_AGES[m.group(1).upper()] else None
    m = _MPAA_RE.match(v)
    if m:
        return _MPAA.get(m.group(1).upper())
    return None


#: schema.org ``isFamilyFriendly: false`` says "not for young children", not "adults only".
FAMILY_UNFRIENDLY_AGE: Final[int] = 12


# --- PICS-1.1 vocabularies ----------------------------------------------------------------

#: RSACi level (0-4) -> age, per dimension n(udity) s(ex) v(iolence) l(anguage).
RSACI_AGES: Final[dict[str, tuple[int, int, int, int, int]]] = {
    "n": (0, 12, 16, 18, 18),
    "s": (0, 12, 16, 18, 18),
    "v": (0, 12, 16, 16, 18),
    "l": (0, 12, 12, 16, 16),
}
RSACI_CATEGORY: Final[dict[str, str]] = {"n": "sexual", "s": "sexual", "v": "violence",
                                         "l": "offensive"}

#: ICRA (v2) descriptors present (value 1) -> (age, category). ``*z`` flags mean "none".
ICRA_FLAGS: Final[dict[str, tuple[int, str | None]]] = {
    "na": (12, None), "nb": (12, None), "nc": (16, "sexual"),
    "sa": (6, None), "sb": (12, None), "sc": (16, "sexual"), "sd": (18, "sexual"),
    "sf": (18, "sexual"),
    "va": (16, "violence"), "vb": (16, "violence"), "vc": (16, "violence"),
    "vd": (16, "violence"), "ve": (12, None), "vf": (16, "violence"), "vg": (16, "violence"),
    "vh": (16, "violence"),
    "la": (16, "offensive"), "lb": (12, None), "lc": (12, None),
    "oa": (16, None), "ob": (16, None), "oc": (18, "drugs"), "od": (16, "weapons"),
    "oe": (18, "gambling"), "of": (12, None), "og": (12, None), "oh": (18, "hate"),
    "cb": (12, None), "cd": (12, None),
}

#: SafeSurf level (0-9) -> age; categories 000-00A.
SAFESURF_AGES: Final[tuple[int, ...]] = (0, 0, 6, 12, 14, 16, 18, 18, 18, 18)
SAFESURF_CATEGORY: Final[dict[str, str | None]] = {
    "000": None, "001": "offensive", "002": "sexual", "003": "sexual", "004": "sexual",
    "005": "violence", "006": "sexual", "007": "hate", "008": "drugs", "009": None,
    "00A": "gambling",
}

#: Below this age a PICS dimension names no category: the label is an age hint only.
CATEGORY_FROM_AGE: Final[int] = 16
