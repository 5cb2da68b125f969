"""The one category vocabulary shared by lists, classifier, labels, policy, block page and logs."""

from __future__ import annotations

from typing import Final

#: Category names, in the order the brief lists them.
CATEGORIES: Final[tuple[str, ...]] = (
    "csam",
    "sexual",
    "violence",
    "hate",
    "offensive",
    "self_harm",
    "drugs",
    "gambling",
    "weapons",
    "dating",
    "social",
    "bypass",
    "malware",
)

#: Sentinel age meaning "blocked for everyone, whatever their age".
NEVER: Final[int] = 1000

#: Categories blocked for every profile, adults included. Not overridable.
ALWAYS_BLOCKED: Final[frozenset[str]] = frozenset({"csam", "malware"})

#: Categories blocked for every child profile (age < ADULT_AGE).
CHILD_ALWAYS_BLOCKED: Final[frozenset[str]] = frozenset({"bypass"})

ADULT_AGE: Final[int] = 18

#: Default minimum ages (BRIEF.md). ``NEVER`` means no age is old enough.
DEFAULT_MIN_AGES: Final[dict[str, int]] = {
    "csam": NEVER,
    "sexual": 18,
    "violence": 16,
    "hate": 18,
    "offensive": 12,
    "self_harm": 18,
    "drugs": 18,
    "gambling": 18,
    "weapons": 16,
    "dating": 18,
    "social": 13,
    "bypass": ADULT_AGE,
    "malware": NEVER,
}

#: Categories for which the block page offers a report to the hotline.
REPORTABLE: Final[frozenset[str]] = frozenset({"csam", "sexual", "violence", "hate"})


def is_category(name: object) -> bool:
    return isinstance(name, str) and name in DEFAULT_MIN_AGES
