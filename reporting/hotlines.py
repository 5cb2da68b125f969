"""The hotline directory: which report page a country's users are sent to.

The data lives in ``hotlines.yaml`` (shipped with the package, editable, or replaced by a
file of the same shape); the fallback rules are documented at the top of that file.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

_CC = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True, slots=True)
class Link:
    name: str
    report_url: str


@dataclass(frozen=True, slots=True)
class Hotline:
    """Where to report. ``kind`` is ``national``, ``iwf_portal`` or ``directory``."""

    country: str | None
    name: str
    report_url: str
    languages: tuple[str, ...]
    anonymous: bool | None
    kind: str = "national"
    also: tuple[Link, ...] = ()


class Directory:
    """Parsed ``hotlines.yaml``; :meth:`for_country` applies the fallback rules."""

    def __init__(self, data: Mapping[str, object]) -> None:
        if not isinstance(data, Mapping):
            raise ValueError("hotlines: top level must be a mapping")
        self.aliases = {_cc(k, "aliases"): _cc(v, f"aliases.{k}")
                        for k, v in _mapping(data.get("aliases", {}), "aliases").items()}
        self.hotlines: dict[str, Hotline] = {}
        for cc, entry in _mapping(data.get("hotlines", {}), "hotlines").items():
            cc = _cc(cc, "hotlines")
            self.hotlines[cc] = _hotline(entry, f"hotlines.{cc}", cc, "national")
        portal = _mapping(data.get("iwf_portal", {}), "iwf_portal")
        self.portal_template = str(portal.get("url_template", ""))
        if self.portal_template and (not self.portal_template.startswith("https://")
                                     or "{cc}" not in self.portal_template):
            raise ValueError("hotlines: iwf_portal.url_template must be https and contain {cc}")
        self.portal_name = str(portal.get("name", "IWF reporting portal"))
        self.portal_languages = tuple(str(x) for x in portal.get("languages", ["en"]))
        self.portal_countries = frozenset(_cc(c, "iwf_portal.countries")
                                          for c in portal.get("countries", []))
        if "directory" not in data:
            raise ValueError("hotlines: 'directory' (the last fallback) is required")
        self.directory = _hotline(data["directory"], "directory", None, "directory")

    def for_country(self, cc: str | None) -> Hotline:
        code = (cc or "").strip().upper()
        code = self.aliases.get(code, code)
        if code in self.hotlines:
            return self.hotlines[code]
        if code in self.portal_countries and self.portal_template:
            return Hotline(code, self.portal_name,
                           self.portal_template.format(cc=code.lower()),
                           self.portal_languages, True, "iwf_portal")
        return self.directory


def _mapping(value: object, key: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ValueError(f"hotlines: '{key}' must be a mapping")
    return value


def _cc(value: object, key: str) -> str:
    code = str(value).strip().upper()
    if not _CC.fullmatch(code):
        raise ValueError(f"hotlines: '{key}': {value!r} is not a two-letter country code")
    return code


def _https(value: object, key: str) -> str:
    url = str(value or "")
    if not url.startswith("https://") or any(c in url for c in " \"'<>\r\n\t"):
        raise ValueError(f"hotlines: '{key}.report_url' must be a plain https:// URL")
    return url


def _hotline(entry: object, key: str, cc: str | None, kind: str) -> Hotline:
    e = _mapping(entry, key)
    name = str(e.get("name") or "").strip()
    if not name:
        raise ValueError(f"hotlines: '{key}.name' is required")
    anonymous = e.get("anonymous")
    if anonymous is not None and not isinstance(anonymous, bool):
        raise ValueError(f"hotlines: '{key}.anonymous' must be true, false or null")
    langs = e.get("languages") or []
    if not isinstance(langs, list):
        raise ValueError(f"hotlines: '{key}.languages' must be a list")
    also = tuple(Link(str(_mapping(a, f"{key}.also").get("name", "")),
                      _https(_mapping(a, f"{key}.also").get("report_url"), f"{key}.also"))
                 for a in e.get("also", []) or [])
    return Hotline(cc, name, _https(e.get("report_url"), key), tuple(str(x) for x in langs),
                   anonymous, kind, also)


def load(path: str | Path | None = None) -> Directory:
    """Load a directory file; ``None`` means the one shipped with kidgate."""
    if path is None:
        text = resources.files(__package__).joinpath("hotlines.yaml").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    return Directory(yaml.safe_load(text) or {})


@functools.cache
def default_directory() -> Directory:
    return load()


def for_country(cc: str | None, directory: Directory | None = None) -> Hotline:
    """The hotline for ``cc`` (ISO 3166 alpha-2, ``GB`` and ``UK`` both accepted)."""
    return (directory or default_directory()).for_country(cc)
