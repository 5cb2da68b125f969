"""Site label files: age-de.xml / age.xml (JMStV) and MIRACLE v2 age declarations.

Files come from the site being filtered, so they are hostile input: at most 50 kB, any DTD is
refused (no entity expansion, no external entities) and malformed XML is a :class:`LabelError`,
never a crash.
"""

from __future__ import annotations

import fnmatch
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _safe_fromstring

from policies.core import Evidence

MAX_SITE_FILE: Final[int] = 50_000
MIRACLE_NS: Final[str] = "http://www.miracle-label.eu/ns/2.0/"
MAX_LABELS: Final[int] = 500
_VALID_AGES: Final[range] = range(0, 22)


class LabelError(ValueError):
    """A label file that cannot be used; the message says why, for the log."""


@dataclass(frozen=True, slots=True)
class ScopedAge:
    pattern: str  # lower case, scheme stripped, e.g. "*.example.org/kids/*"
    age: int

    def matches(self, target: str) -> bool:
        if fnmatch.fnmatchcase(target, self.pattern):
            return True
        # "*.example.org/*" also covers the bare "example.org/...".
        return self.pattern.startswith("*.") and fnmatch.fnmatchcase(target, self.pattern[2:])

    @property
    def specificity(self) -> int:
        return len(self.pattern.replace("*", ""))


@dataclass(frozen=True, slots=True)
class AgeDeclaration:
    """A parsed site label file: scoped ages, a default age and how long it may be cached."""

    labels: tuple[ScopedAge, ...] = ()
    default_age: int | None = None
    revisit_after: float | None = None  # seconds
    kind: str = "age-de"  # "age-de" | "miracle"
    source: str = "age-de.xml"

    def age_for(self, url: str) -> int | None:
        """The age for ``url``: the most specific matching scope, else the default age."""
        target = _scope_target(url)
        best: ScopedAge | None = None
        for lab in self.labels:
            if lab.matches(target) and (best is None or (lab.specificity, lab.age)
                                        > (best.specificity, best.age)):
                best = lab
        return best.age if best is not None else self.default_age

    def evidence(self, url: str) -> Evidence | None:
        age = self.age_for(url)
        if age is None:
            return None
        return Evidence(source="label", category=None, min_age=age, kind=self.kind,
                        detail=f"{self.source} declares age {age}")


def _scope_target(url: str) -> str:
    parts = urlsplit(url if "://" in url else "http://" + url)
    host = (parts.hostname or "").lower()
    path = parts.path or "/"
    return f"{host}{path}"


def _scope_pattern(text: str) -> str | None:
    p = text.strip().lower()
    if not p or len(p) > 512:
        return None
    p = re.sub(r"^[a-z][a-z0-9+.-]*://", "", p)
    if "/" not in p:
        p += "/*"
    return p


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _age(text: str | None) -> int | None:
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d{1,2})\s*\+?\s*", text)
    if not m:
        return None
    age = int(m.group(1))
    return age if age in _VALID_AGES else None


_DURATION_RE = re.compile(r"\s*(\d{1,6})\s*([a-z]*)\s*", re.I)
_UNITS: Final[dict[str, int]] = {"": 86400, "d": 86400, "day": 86400, "days": 86400,
                                 "tag": 86400, "tage": 86400, "h": 3600, "hour": 3600,
                                 "hours": 3600, "stunden": 3600, "m": 60, "min": 60,
                                 "minutes": 60, "s": 1, "seconds": 1, "w": 604800,
                                 "week": 604800, "weeks": 604800}


def parse_duration(text: str | None) -> float | None:
    """``7days``, ``7 days``, ``12 hours``, ``7`` (days) -> seconds."""
    if not text:
        return None
    m = _DURATION_RE.fullmatch(text)
    if not m or m.group(2).lower() not in _UNITS:
        return None
    return float(int(m.group(1)) * _UNITS[m.group(2).lower()])


def parse_age_de_xml(data: bytes | str, source: str = "age-de.xml") -> AgeDeclaration:
    """Parse an age-de.xml / age.xml / MIRACLE v2 file; :class:`LabelError` if unusable."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_SITE_FILE:
        raise LabelError(f"{source}: {len(raw)} bytes exceeds the {MAX_SITE_FILE} byte limit")
    try:
        root = _safe_fromstring(raw, forbid_dtd=True, forbid_entities=True,
                                forbid_external=True)
    except DefusedXmlException as e:
        raise LabelError(f"{source}: refused ({type(e).__name__}: DTDs and entities are not "
                         f"allowed in label files)") from None
    except (ET.ParseError, ValueError, UnicodeError) as e:
        raise LabelError(f"{source}: not well-formed XML ({e})") from None

    miracle = isinstance(root.tag, str) and root.tag.startswith("{" + MIRACLE_NS)
    if not miracle and _local(root.tag) != "age-declaration":
        raise LabelError(f"{source}: root element <{_local(root.tag)}> is not <age-declaration>")

    default_age: int | None = None
    revisit: float | None = None
    labels: list[ScopedAge] = []
    for el in root.iter():
        name = _local(el.tag)
        if name == "default-age" and default_age is None:
            default_age = _age(el.text)
        elif name == "revisit-after" and revisit is None:
            revisit = parse_duration(el.text)
        elif name == "label" and len(labels) < MAX_LABELS:
            labels.extend(_label_scopes(el))
    if default_age is None and not labels:
        raise LabelError(f"{source}: no age found")
    return AgeDeclaration(tuple(labels), default_age, revisit,
                          "miracle" if miracle else "age-de", source)


def _label_scopes(label: ET.Element) -> list[ScopedAge]:
    """One ``<label>``: its ``<age>``/``<min-age>`` and every scope pattern below it."""
    age: int | None = None
    patterns: list[str] = []
    for el in label.iter():
        name = _local(el.tag)
        if name in ("age", "min-age") and age is None:
            age = _age(el.text)
        elif name in ("scope", "scope-url", "url") and el.text and el.text.strip():
            if p := _scope_pattern(el.text):
                patterns.append(p)
    if age is None:
        return []
    return [ScopedAge(p, age) for p in patterns[:MAX_LABELS]]
