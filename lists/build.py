"""Compile list sources (UT1 tree or tarball, plain lists, hotline list) into a store file."""

from __future__ import annotations

import datetime as dt
import logging
import os
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from policies.categories import CATEGORIES
from lists.sources import FORMATS, ParseStats, read_entries
from lists.store import ListInfo, StoreBuilder, list_role

__all__ = ["Source", "BuildReport", "build_store", "load_mapping", "parse_global_usage",
           "extract_tarball", "UT1_FILES", "MAX_TAR_BYTES"]

log = logging.getLogger("kidgate.lists")

#: Files read in each UT1 category folder, and the reader used for each.
UT1_FILES = {"domains": "domains", "urls": "urls", "expressions": "expressions"}
#: Refuse archives that would unpack to more than this (zip-bomb guard).
MAX_TAR_BYTES = 4 << 30
#: Besides kidgate categories: ``allow`` (an allow-list), ``known`` (categorised as not harmful:
#: kept so that the URL/host model does not guess about the host) and ``ignore`` (left out).
_MAPPING_VALUES = frozenset(CATEGORIES) | {"allow", "known", "ignore"}


@dataclass(frozen=True, slots=True)
class Source:
    """One list source.

    ``format`` is ``ut1`` (a UT1 tree or ``blacklists.tar.gz``) or one of
    :data:`lists.sources.FORMATS`. ``category`` is a kidgate category, ``allow`` or ``known``
    (ignored for ``ut1``, whose categories come from the mapping). A ``hotline`` source is always category
    ``csam``, blocks for every profile and is never displayed in full.
    """

    name: str
    path: str
    format: str = "domains"
    category: str | None = None
    hotline: bool = False
    origin: str = ""


@dataclass(slots=True)
class BuildReport:
    """What a build kept and skipped, per list; printed by ``kidgate lists build``."""

    output: str = ""
    entries: int = 0
    bytes: int = 0
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning("%s", message)

    def to_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "bytes": self.bytes, "lists": self.lists,
                "ignored": self.ignored, "aliases": self.aliases, "warnings": self.warnings}

    def format(self) -> str:
        lines = [f"{self.output}: {self.entries} entries, {self.bytes / 1e6:.1f} MB"]
        for name, d in sorted(self.lists.items()):
            c = d["counts"]
            s = d["stats"]
            what = list_role(d["category"], d["allow"])
            skipped = {k: s[k] for k in ("invalid", "too_long", "binary", "unsupported",
                                         "unsafe_regex") if s.get(k)}
            extra = f" skipped {skipped}" if skipped else ""
            if c.get("duplicates"):
                extra += f" duplicates {c['duplicates']}"
            if s.get("latin1"):
                extra += f" latin-1 lines {s['latin1']}"
            lines.append(f"  {name:32} {what:9} domains {c['domain']:>8} ip {c['ip']:>6} "
                         f"urls {c['url']:>7} expr {c['expression']:>3}{extra}")
        if self.ignored:
            lines.append(f"  ignored by mapping: {', '.join(sorted(self.ignored))}")
        if self.aliases:
            lines.append("  aliases: " + ", ".join(f"{a}->{t}" for a, t in sorted(self.aliases.items())))
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def load_mapping(override: Mapping[str, str] | str | os.PathLike[str] | None = None
                 ) -> dict[str, Any]:
    """The shipped UT1 mapping with ``override`` (a dict or a YAML file) applied on top.

    Returns ``{"categories": {...}, "default_black": ..., "default_white": ...}``; raises
    ValueError for a value that is neither a kidgate category nor ``allow``/``known``/``ignore``.
    """
    text = resources.files("lists").joinpath("ut1_mapping.yaml").read_text("utf-8")
    mapping: dict[str, Any] = yaml.safe_load(text)
    extra: Mapping[str, Any] | None
    if override is None or isinstance(override, Mapping):
        extra = override
    else:
        extra = yaml.safe_load(Path(override).read_text("utf-8")) or {}
    if extra and not isinstance(extra, Mapping):
        raise ValueError("UT1 mapping override: expected a mapping of category names")
    if extra:
        # Either the shipped file's shape ({categories: {...}}) or a flat {ut1: value} dict.
        nested = extra.get("categories")
        cats = nested if isinstance(nested, Mapping) else extra
        for key in ("default_black", "default_white"):
            if key in extra and isinstance(extra[key], str):
                mapping[key] = extra[key]
        mapping["categories"] = {**mapping["categories"],
                                 **{k: v for k, v in cats.items()
                                    if k not in ("default_black", "default_white")}}
    for name, value in [*mapping["categories"].items(),
                        ("default_black", mapping["default_black"]),
                        ("default_white", mapping["default_white"])]:
        if value not in _MAPPING_VALUES:
            raise ValueError(f"UT1 mapping: {name}: {value!r} is not a kidgate category, "
                             f"'allow', 'known' or 'ignore'")
    return mapping


def _read_usage(path: Path) -> set[str]:
    try:
        words = path.read_text("utf-8", "replace").split()
    except OSError:
        return set()
    return {w.lower() for w in words if w.lower() in ("black", "white")}


def parse_global_usage(path: Path) -> dict[str, dict[str, str]]:
    """UT1's ``global_usage`` catalogue: per category its ``DEFAULT_TYPE`` (black/white) and
    English name and description. Unknown or malformed lines are ignored."""
    out: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    try:
        text = path.read_text("utf-8", "replace")
    except OSError:
        return out
    for line in text.splitlines():
        if line.startswith("#") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        key, value = key.strip().upper(), value.strip()
        if key == "NAME":
            current = out.setdefault(value, {})
        elif current is not None and key in ("DEFAULT_TYPE", "NAME EN", "DESC EN"):
            current[key.lower().replace(" ", "_")] = value
    return out


def _ut1_root(path: Path) -> Path:
    """The folder holding the category folders (``blacklists/`` inside a tarball)."""
    if (path / "blacklists").is_dir():
        return path / "blacklists"
    subdirs = [p for p in path.iterdir() if p.is_dir()]
    if len(subdirs) == 1 and not (subdirs[0] / "domains").exists() and not (path / "global_usage").exists():
        return _ut1_root(subdirs[0])
    return path


def _alias_target(entry: Path, root: Path) -> str | None:
    """Target category of an alias: a symlink, or a tiny file naming a sibling folder."""
    if entry.is_symlink():
        return Path(os.readlink(entry)).name
    if entry.is_file() and entry.stat().st_size < 64:
        name = entry.read_text("utf-8", "replace").strip()
        if name and "/" not in name and (root / name).is_dir():
            return name
    return None


def extract_tarball(archive: Path, dest: Path) -> Path:
    """Unpack a UT1 tarball safely (no paths outside ``dest``, size-capped)."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            total = sum(m.size for m in members if m.isfile())
            if total > MAX_TAR_BYTES:
                raise ValueError(f"{archive}: unpacks to {total} bytes, over the limit")
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, EOFError, OSError) as e:
        raise ValueError(f"{archive}: not a readable tarball ({e})") from e
    return _ut1_root(dest)


class _Compiler:
    def __init__(self, mapping: Mapping[str, Any], report: BuildReport,
                 seed: int | None) -> None:
        self.mapping = mapping
        self.report = report
        self.builder = StoreBuilder(seed)
        self.stats: dict[int, ParseStats] = {}

    def new_list(self, name: str, category: str | None, allow: bool, hotline: bool,
                 origin: str, date: str) -> int:
        index = self.builder.add_list(ListInfo(name, category, allow, hotline, origin, date))
        self.stats[index] = ParseStats()
        return index

    def load_file(self, index: int, path: Path, fmt: str) -> None:
        stats = ParseStats()
        b = self.builder
        name = b.lists[index].name
        try:
            with open(path, "rb") as f:
                for kind, text, prefix in read_entries(f, fmt, stats):
                    if kind == "url":
                        b.add_url(index, text, prefix)
                    elif kind == "expression":
                        b.add_expression(index, text)
                    else:
                        b.add(index, kind, text)
        except OSError as e:
            self.report.warn(f"{name}: cannot read {path.name}: {e.strerror or e}")
        if b.lists[index].hotline:
            stats.examples.clear()  # hotline lines are never echoed
        if stats.lines == 0:
            self.report.warn(f"{name}: {path.name} is empty")
        elif stats.skipped:
            shown = f" ({', '.join(stats.examples[:2])})" if stats.examples else ""
            self.report.warn(f"{name}: {path.name}: skipped {stats.skipped} of {stats.lines} "
                             f"lines{shown}")
        if stats.latin1:
            self.report.warn(f"{name}: {path.name}: {stats.latin1} lines were not UTF-8, "
                             "read as Latin-1")
        self.stats[index].merge(stats)

    def load_ut1(self, source: Source, root: Path) -> None:
        cats = self.mapping["categories"]
        date = _mtime(root)
        catalogue = parse_global_usage(root / "global_usage")
        for entry in sorted(root.iterdir()):
            target = _alias_target(entry, root)
            if target is not None:
                self.report.aliases[entry.name] = target
                continue
            if not entry.is_dir():
                continue
            ut1 = entry.name
            usage = _read_usage(entry / "usage")
            described = catalogue.get(ut1, {})
            if not usage and described.get("default_type") in ("black", "white"):
                usage = {described["default_type"]}
            value = cats.get(ut1)
            if value is None:
                value = self.mapping["default_white"] if usage == {"white"} else \
                    self.mapping["default_black"]
            if value == "ignore":
                self.report.ignored.append(ut1)
                continue
            allow = value == "allow"
            index = self.new_list(f"{source.name}/{ut1}", _list_category(value), allow,
                                  False, source.origin or source.path, date)
            self.builder.lists[index].description = described.get("desc_en", "")
            found = False
            for fname, fmt in UT1_FILES.items():
                if (entry / fname).is_file():
                    found = True
                    self.load_file(index, entry / fname, fmt)
            if not found:
                self.report.warn(f"{source.name}/{ut1}: no domains, urls or expressions file")

    def load(self, source: Source, workdir: Path) -> None:
        path = Path(source.path)
        if source.format == "ut1":
            if path.is_dir():
                self.load_ut1(source, _ut1_root(path))
            else:
                self.load_ut1(source, extract_tarball(path, Path(tempfile.mkdtemp(dir=workdir))))
            return
        if source.format not in FORMATS:
            raise ValueError(f"{source.name}: unknown format {source.format!r}")
        if source.hotline:
            category, allow = "csam", False
        elif source.category in _MAPPING_VALUES and source.category != "ignore":
            category, allow = _list_category(source.category), source.category == "allow"
        else:
            raise ValueError(f"{source.name}: category {source.category!r} is not a kidgate "
                             "category, 'allow' or 'known'")
        index = self.new_list(source.name, category, allow, source.hotline,
                              source.origin or str(path), _mtime(path))
        self.load_file(index, path, source.format)


def _list_category(value: str) -> str | None:
    """The store's category of a mapping value: allow and known lists have none."""
    return None if value in ("allow", "known") else value


def _mtime(path: Path) -> str:
    try:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).date().isoformat()
    except OSError:
        return ""


def build_store(sources: list[Source], output: str | os.PathLike[str],
                mapping: Mapping[str, str] | str | os.PathLike[str] | None = None,
                seed: int | None = None) -> BuildReport:
    """Compile ``sources`` into ``output`` (written atomically). Bad lines are skipped and
    counted in the report; unreadable or unknown sources raise ValueError before writing."""
    report = BuildReport(output=str(output))
    compiler = _Compiler(load_mapping(mapping), report, seed)
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ValueError("source names must be unique")
    with tempfile.TemporaryDirectory(prefix="kidgate-lists-") as work:
        for source in sources:
            if not Path(source.path).exists():
                raise ValueError(f"{source.name}: {source.path} does not exist")
            compiler.load(source, Path(work))
        for index, info in enumerate(compiler.builder.lists):
            report.lists[info.name] = {"category": info.category, "allow": info.allow,
                                       "hotline": info.hotline,
                                       "stats": compiler.stats[index].to_dict()}
        result = compiler.builder.write(output, report={
            "stats": {name: d["stats"] for name, d in report.lists.items()},
            "ignored": report.ignored, "aliases": report.aliases,
            "warnings": report.warnings})
    for info in compiler.builder.lists:
        report.lists[info.name]["counts"] = dict(info.counts)
    report.entries = result["entries"]
    report.bytes = result["bytes"]
    return report
