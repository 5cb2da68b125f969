"""``kidgate lists build|update|info``: compile, download and describe list stores.

Source specifications on the command line are ``FORMAT:CATEGORY:PATH`` (``--add``) or
``FORMAT:CATEGORY:URL`` (``--fetch``), where FORMAT is one of domains, hosts, adblock, urls,
expressions, and CATEGORY a kidgate category, ``allow`` or ``known``. A hotline list is given with
``--hotline FORMAT:PATH``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from lists.build import Source, build_store
from lists.config import ListsConfig, parse_lists_config
from lists.sources import FORMATS
from lists.store import ListStore, StoreError, list_role

__all__ = ["register", "main"]


def _spec(value: str, with_category: bool = True) -> tuple[str, str | None, str]:
    parts = value.split(":", 2 if with_category else 1)
    if len(parts) != (3 if with_category else 2) or parts[0] not in FORMATS:
        shape = "FORMAT:CATEGORY:PATH" if with_category else "FORMAT:PATH"
        raise argparse.ArgumentTypeError(
            f"{value!r}: expected {shape} with FORMAT one of {', '.join(FORMATS)}")
    if with_category:
        return parts[0], parts[1], parts[2]
    return parts[0], None, parts[1]


def _hotline_spec(value: str) -> tuple[str, str | None, str]:
    return _spec(value, with_category=False)


def _data_dir(args: argparse.Namespace) -> Path:
    """``--data-dir``, else the config's ``data_dir``, else kidgate's default data directory."""
    if getattr(args, "data_dir", None):
        return Path(args.data_dir).expanduser()
    if getattr(args, "config", None):
        try:
            data = yaml.safe_load(Path(args.config).read_text("utf-8")) or {}
            if isinstance(data, dict) and data.get("data_dir"):
                return Path(str(data["data_dir"])).expanduser()
        except (OSError, yaml.YAMLError):
            pass
    from kidgate.paths import default_data_dir
    return default_data_dir()


def _default_path(args: argparse.Namespace | None = None) -> Path:
    """Where downloaded lists go: the data directory (the proxy picks them up there)."""
    from lists import updated_store_path
    return updated_store_path(_data_dir(args or argparse.Namespace()))


def _in_use(args: argparse.Namespace) -> Path:
    """The store the proxy would use: the downloaded one, else the shipped default."""
    from lists import default_store_path
    updated = _default_path(args)
    return updated if updated.exists() else default_store_path()


def _local_sources(args: argparse.Namespace) -> list[Source]:
    sources: list[Source] = []
    if getattr(args, "ut1", None):
        sources.append(Source("ut1", args.ut1, "ut1"))
    for fmt, category, path in args.add or []:
        sources.append(Source(_unique(sources, Path(path).stem), path, fmt, category))
    for fmt, _, path in args.hotline or []:
        sources.append(Source(_unique(sources, "hotline"), path, fmt, "csam", hotline=True))
    return sources


def _unique(sources: list[Source], name: str) -> str:
    taken = {s.name for s in sources}
    candidate, i = name, 2
    while candidate in taken:
        candidate, i = f"{name}-{i}", i + 1
    return candidate


def _config(args: argparse.Namespace) -> ListsConfig:
    if not getattr(args, "config", None):
        return ListsConfig()
    data = yaml.safe_load(Path(args.config).read_text("utf-8")) or {}
    return parse_lists_config(data.get("lists") if isinstance(data, dict) else None)


def _cmd_build(args: argparse.Namespace) -> int:
    try:
        cfg = _config(args)
    except (OSError, ValueError, yaml.YAMLError) as e:
        print(f"lists build: {args.config}: {e}", file=sys.stderr)
        return 1
    if cfg.remote:
        print("lists build: ignoring configured downloads (use 'lists update'): "
              + ", ".join(r.name for r in cfg.remote), file=sys.stderr)
    sources = cfg.local + _local_sources(args)
    if not sources:
        print("lists build: give at least one source (--ut1, --add or --hotline)",
              file=sys.stderr)
        return 2
    try:
        report = build_store(sources, args.output or cfg.path or _default_path(args),
                             args.mapping or cfg.mapping)
    except ValueError as e:
        print(f"lists build: {e}", file=sys.stderr)
        return 1
    print(report.format())
    return 0


def _cmd_update(args: argparse.Namespace) -> int:
    from lists.update import UT1_URL, RemoteSource, UpdateError, update
    try:
        cfg = _config(args)
    except (OSError, ValueError, yaml.YAMLError) as e:
        print(f"lists update: {args.config}: {e}", file=sys.stderr)
        return 1
    remote: list[RemoteSource] = []
    if args.config and not args.url:
        remote.extend(cfg.remote)
    elif not args.no_ut1:
        remote.append(RemoteSource("ut1", args.url or UT1_URL, "ut1", sha256=args.sha256,
                                   md5=args.md5, min_bytes=args.min_bytes,
                                   checksum_url=args.checksum_url))
    for fmt, category, url in args.fetch or []:
        remote.append(RemoteSource(f"fetch{len(remote)}", url, fmt, category))
    try:
        report = update(remote, args.output or cfg.path or _default_path(args),
                        cfg.local + _local_sources(args), args.mapping or cfg.mapping,
                        progress=sys.stderr, min_ratio=0.0 if args.allow_shrink else 0.5)
    except (UpdateError, ValueError) as e:
        print(f"lists update: {e}; the previous lists are kept", file=sys.stderr)
        return 1
    print(report.format())
    return 0


def format_info(info: dict[str, Any]) -> str:
    lines = [f"{info['path']}: {info['entries']} entries, {info['bytes'] / 1e6:.1f} MB, "
             f"built {info['created']}"]
    for d in info["lists"]:
        c = d["counts"]
        what = list_role(d["category"], d["allow"])
        flag = " hotline" if d["hotline"] else ""
        lines.append(f"  {d['name']:30} {what:9}{flag} domains {c.get('domain', 0):>8} "
                     f"ip {c.get('ip', 0):>6} urls {c.get('url', 0):>7} "
                     f"expr {c.get('expression', 0):>3}  source {d['source']} ({d['date']})")
    lines.append("  per category: " + ", ".join(
        f"{k} {v}" for k, v in sorted(info["categories"].items())))
    return "\n".join(lines)


def _cmd_info(args: argparse.Namespace) -> int:
    from lists.autoupdate import describe, read_state, state_path
    path = Path(args.path) if args.path else _in_use(args)
    try:
        store = ListStore.open(path, verify=args.verify)
    except StoreError as e:
        print(f"lists info: {e}", file=sys.stderr)
        return 1
    info = store.info()
    updates = _default_path(args)
    if args.json:
        if state_path(updates).exists():
            info["auto_update"] = dataclasses.asdict(read_state(updates))
        print(json.dumps(info, indent=2))
    else:
        print(format_info(info))
        print(describe(updates))
    return 0


def _add_data_dir(p: argparse.ArgumentParser) -> None:
    # SUPPRESS: an absent option must not overwrite a --data-dir given to the main command.
    p.add_argument("--data-dir", dest="data_dir", metavar="DIR", default=argparse.SUPPRESS,
                   help="kidgate's data directory, where downloaded lists are kept (default: "
                        "the config's data_dir, $KIDGATE_HOME or ~/.local/share/kidgate)")


def _add_source_options(p: argparse.ArgumentParser) -> None:
    _add_data_dir(p)
    p.add_argument("--add", action="append", type=_spec, metavar="FORMAT:CATEGORY:PATH",
                   help="a local list; CATEGORY is a kidgate category, 'allow' or 'known' (not harmful)")
    p.add_argument("--hotline", action="append", type=_hotline_spec, metavar="FORMAT:PATH",
                   help="a hotline (csam) list: always blocks, never shown in full")
    p.add_argument("--mapping", metavar="YAML",
                   help="UT1 category mapping overrides (see lists/ut1_mapping.yaml)")
    p.add_argument("--config", metavar="YAML",
                   help="a kidgate configuration file: its 'lists:' section gives sources, "
                        "mapping and output path (see lists/config.py)")
    p.add_argument("-o", "--output", default=None, metavar="FILE",
                   help="store file to write (default: the configured lists.path, else "
                        "lists.kglist in the data directory, which the proxy uses)")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``lists`` with ``build``, ``update`` and ``info`` to an argparse subparsers object.
    Each sub-command sets ``func``: call ``args.func(args)`` and exit with its return value."""
    lists = subparsers.add_parser("lists", help="compile, update and inspect block-lists")
    sub = lists.add_subparsers(dest="lists_command", required=True)

    b = sub.add_parser("build", help="compile local lists into a store file")
    b.add_argument("--ut1", metavar="PATH", help="a UT1 blacklists folder or tarball")
    _add_source_options(b)
    b.set_defaults(func=_cmd_build)

    u = sub.add_parser("update", help="download lists (UT1 by default), verify, swap atomically")
    u.add_argument("--url", help="UT1 tarball URL (default: the UT1 upstream)")
    u.add_argument("--sha256", help="expected SHA-256 of the tarball")
    u.add_argument("--md5", help="expected MD5 of the tarball")
    u.add_argument("--checksum-url", help="a published MD5/SHA-256 file for the tarball")
    u.add_argument("--min-bytes", type=int, default=1024, help="reject smaller downloads")
    u.add_argument("--no-ut1", action="store_true", help="do not download UT1")
    u.add_argument("--allow-shrink", action="store_true",
                   help="accept lists with less than half the entries of those in use")
    u.add_argument("--fetch", action="append", type=_spec, metavar="FORMAT:CATEGORY:URL",
                   help="another list to download")
    _add_source_options(u)
    u.set_defaults(func=_cmd_update)

    i = sub.add_parser("info", help="show the lists in a store and the automatic updates")
    i.add_argument("path", nargs="?",
                   help="store file (default: the lists in use: the downloaded ones in the "
                        "data directory, else the shipped default)")
    i.add_argument("--config", metavar="YAML", help="a kidgate configuration file (data_dir)")
    _add_data_dir(i)
    i.add_argument("--json", action="store_true")
    i.add_argument("--verify", action="store_true", help="also check the file checksum")
    i.set_defaults(func=_cmd_info)

    return lists


def _exit_on_terminate(signum: int, frame: object) -> None:
    """SIGTERM (the automatic updater giving up on a hung download) unwinds like Ctrl-C, so
    the update's clean-up removes its temporary files."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    import signal
    signal.signal(signal.SIGTERM, _exit_on_terminate)
    parser = argparse.ArgumentParser(prog="kidgate")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
