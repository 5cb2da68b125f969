"""Help-seeking words in a search query: a child looking for help must get it.

A query such as "suicide prevention hotline" or "how to quit vaping" names a harmful topic but
asks for help with it. Filter studies count blocking such searches as over-blocking, and the
brief requires help and prevention sites to stay reachable. The text model, trained on posts
rather than queries, cannot tell the two apart on three words, so queries are checked against
these phrases first (English and Romanian, diacritics folded).
"""

from __future__ import annotations

import re
import unicodedata

#: Categories whose classifier score a help-seeking query cancels.
PROTECTED: frozenset[str] = frozenset({"self_harm", "drugs"})

_PHRASES = (
    # English
    "prevention", "prevent", "hotline", "helpline", "help line", "lifeline", "crisis line",
    "crisis text", "get help", "find help", "need help", "help me stop", "help for", "help with",
    "how to help", "support", "support group", "counselling", "counseling", "counselor",
    "counsellor", "therapy", "therapist", "treatment", "recovery", "recover from", "rehab",
    "quit", "quitting", "stop smoking", "stop drinking", "stop vaping", "warning signs",
    "signs of", "talk to someone", "someone to talk to", "116 111", "988", "samaritans",
    "childline", "awareness", "cope with", "coping", "survivor", "overdose first aid",
    "naloxone", "addiction help", "mental health",
    # Romanian (without diacritics)
    "prevenire", "prevenirea", "linia de ajutor", "linie de ajutor", "telefonul copilului",
    "ajutor", "sprijin", "consiliere", "consilier", "terapie", "terapeut", "tratament",
    "recuperare", "renunt", "renuntare", "sa ma las", "semne de", "vorbesc cu cineva",
    "sanatate mintala",
)
_PATTERN = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in sorted(_PHRASES, key=len, reverse=True))
                      + r")", re.IGNORECASE)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def help_seeking(query: str) -> str | None:
    """The help-seeking phrase in ``query``, or ``None``. Cheap: one regex over a short text."""
    m = _PATTERN.search(_fold(query[:500]).lower())
    return m.group(0) if m else None
