"""The ``lists:`` section of a kidgate configuration file, as build and update sources.

```yaml
lists:
  path: /var/lib/kidgate/lists.kglist     # the store the proxy maps
  mapping: {press: ignore, games: social} # or a YAML file name; see lists/ut1_mapping.yaml
  sources:                                # default: the UT1 upstream tarball
    - {name: ut1, url: "https://dsi.ut-capitole.fr/blacklists/download/blacklists.tar.gz",
       format: ut1, sha256: "..."}
    - {name: family, path: /etc/kidgate/family-block.txt, format: domains, category: sexual}
    - {name: school-allow, path: /etc/kidgate/allow.txt, format: domains, category: allow}
  hotline:                                # lists a hotline gives its members (category csam)
    - {name: hotline, path: /etc/kidgate/hotline.txt, format: urls}
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lists.build import Source
from lists.update import UT1_URL, RemoteSource

__all__ = ["ListsConfig", "parse_lists_config"]

_KEYS = {"name", "url", "path", "format", "category", "sha256", "md5", "min_bytes",
         "checksum_url"}


@dataclass(slots=True)
class ListsConfig:
    path: Path | None = None
    mapping: Mapping[str, str] | str | None = None
    remote: list[RemoteSource] = field(default_factory=list)
    local: list[Source] = field(default_factory=list)


def _entry(d: Any, where: str, hotline: bool, names: set[str]) -> RemoteSource | Source:
    if not isinstance(d, Mapping):
        raise ValueError(f"{where}: expected a mapping")
    unknown = set(d) - _KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    if ("url" in d) == ("path" in d):
        raise ValueError(f"{where}: give exactly one of 'url' or 'path'")
    fmt = str(d.get("format", "ut1" if not hotline else "urls"))
    name = str(d.get("name") or ("hotline" if hotline else fmt))
    base, i = name, 2
    while name in names:
        name, i = f"{base}-{i}", i + 1
    names.add(name)
    category = "csam" if hotline else d.get("category")
    if fmt != "ut1" and category is None:
        raise ValueError(f"{where}: 'category' is required for format {fmt!r}")
    if "url" in d:
        return RemoteSource(name, str(d["url"]), fmt, category, hotline,
                            sha256=d.get("sha256"), md5=d.get("md5"),
                            checksum_url=d.get("checksum_url"),
                            min_bytes=int(d.get("min_bytes", 1024 if fmt == "ut1" else 1)))
    return Source(name, str(Path(str(d["path"])).expanduser()), fmt, category, hotline)


def parse_lists_config(section: Mapping[str, Any] | None) -> ListsConfig:
    """Sources from a ``lists:`` mapping; without ``sources`` the UT1 upstream is used."""
    section = section or {}
    cfg = ListsConfig()
    if section.get("path"):
        cfg.path = Path(str(section["path"])).expanduser()
    cfg.mapping = section.get("mapping")
    names: set[str] = set()
    sources = section.get("sources")
    if sources is None:
        sources = [{"name": "ut1", "url": UT1_URL, "format": "ut1"}]
    for key, items, hotline in (("sources", sources, False),
                                ("hotline", section.get("hotline") or [], True)):
        if not isinstance(items, list):
            raise ValueError(f"lists.{key}: expected a list")
        for i, d in enumerate(items):
            item = _entry(d, f"lists.{key}[{i}]", hotline, names)
            (cfg.remote if isinstance(item, RemoteSource) else cfg.local).append(item)
    return cfg
