"""Age labels a proxy can read: page labels, site label files, and which of them count.

``read_labels`` turns one response into :class:`~policies.core.Evidence` with
``source="label"`` and ``kind`` one of :data:`LABEL_KINDS`; :func:`enforced` keeps what the
profile's ``labels`` policy lets count. Site files (age-de.xml) are fetched in the background
by :class:`policies.labels.sitefile.SiteLabelCache`.

Strength: RTA, ``rating`` and the site's own age declarations say an age outright. schema.org
is weaker: ``isFamilyFriendly: false`` only means "not for young children" (12), and
``contentRating`` is mapped from the named system (MPAA/TV, FSK, USK, PEGI); unknown values give
nothing. A profile can ignore any kind, e.g. ``labels: {schema: ignore}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from policies.core import Evidence, Profile
from policies.labels.agede import (
    MAX_SITE_FILE,
    AgeDeclaration,
    LabelError,
    ScopedAge,
    parse_age_de_xml,
)
from policies.labels.page import SCAN_LIMIT, read_labels

#: Label kinds, the keys of ``Profile.labels``.
LABEL_KINDS: Final[tuple[str, ...]] = (
    "rta", "rating", "pics", "age-de", "age-de-meta", "miracle", "og", "schema")


def enforced(profile: Profile, evidence: Iterable[Evidence]) -> list[Evidence]:
    """Evidence the profile lets count: labels whose kind is set to ``ignore`` are dropped."""
    return [e for e in evidence
            if e.source != "label" or profile.labels.get(e.kind, "enforce") != "ignore"]


__all__ = ["LABEL_KINDS", "MAX_SITE_FILE", "SCAN_LIMIT", "AgeDeclaration", "LabelError",
           "ScopedAge", "enforced", "parse_age_de_xml", "read_labels"]
