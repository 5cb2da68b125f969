"""The ``kidgate`` command: run the proxy, check URLs and pages offline, manage lists, models,
reports and access requests."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import json
import logging
import sys
import threading
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from kidgate import settings
from policies import config as config_mod
from policies.config import ConfigError
from policies.core import Profile

ADDON_SCRIPT = Path(__file__).resolve().parent.parent / "proxy_addons" / "addon.py"


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", type=Path, default=None,
                   help="configuration file (default: the shipped default policy)")


def build_parser(*, all_commands: bool = True) -> argparse.ArgumentParser:
    """The command line; ``all_commands=False`` leaves out the commands other packages add,
    whose imports (numpy with the classifier's, ...) the proxy would carry for its lifetime."""
    from kidgate.install import version
    parser = argparse.ArgumentParser(prog="kidgate", description=__doc__)
    parser.add_argument("--version", action="version", version=f"kidgate {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="start the filtering proxy")
    _add_config(run)
    run.add_argument("--port", "-p", type=int, help="listening port (default from config: 8080)")
    run.add_argument("--listen-host", help="listening address (default from config)")
    run.add_argument("--data-dir", type=Path, help="database and log directory")
    run.add_argument("--lists", type=Path, help="compiled list file to use")
    run.add_argument("--no-classifier", action="store_true", help="do not load the models")
    run.add_argument("--verbose", "-v", action="store_true", help="print every flow")
    run.add_argument("mitmproxy_args", nargs=argparse.REMAINDER,
                     help="further mitmdump options after --")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="decide offline what the proxy would do")
    _add_config(check)
    who = check.add_mutually_exclusive_group()
    who.add_argument("--profile", help="profile name (default: the default profile)")
    who.add_argument("--age", type=int, help="check for a child of this age")
    who.add_argument("--client", metavar="ADDRESS",
                     help="the device at this address, resolved as the proxy does (devices: "
                          "user, MAC from this machine's neighbour table, most specific network)")
    check.add_argument("--user", help="with --client: the proxy user name the device sends")
    check.add_argument("--data-dir", type=Path,
                       help="where the proxy keeps its database: approved access requests count")
    check.add_argument("--jsonl", action="store_true",
                       help="read JSON records (id, url, text, html, headers) from stdin")
    check.add_argument("--lists", type=Path, help="compiled list file to use")
    check.add_argument("--no-classifier", action="store_true", help="lists and labels only")
    check.add_argument("url", nargs="?", help="the URL to check")
    check.set_defaults(func=cmd_check)

    validate = sub.add_parser("config", help="validate a configuration file")
    validate.add_argument("path", type=Path)
    validate.set_defaults(func=cmd_config)

    passwd = sub.add_parser("passwd", help="hash a proxy sign-in password for proxy_auth.users")
    passwd.add_argument("user", help="the user name the device will sign in with")
    passwd.set_defaults(func=cmd_passwd)

    plugins = ("lists.cli", "classifier.cli", "reporting.cli", "kidgate.stats",
               "kidgate.gateway", "kidgate.wireguard", "admin.server")
    for module in plugins if all_commands else ():
        try:
            mod = __import__(module, fromlist=["register"])
        except ImportError as e:
            logging.getLogger("kidgate").debug("%s not available: %s", module, e)
            continue
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from kidgate.extras import MissingExtra
    argv = list(sys.argv[1:] if argv is None else argv)
    # ``run`` is the long-lived proxy: it parses its own options only (the top level has no
    # option that takes a value, so the command is the first word).
    parser = build_parser(all_commands=argv[:1] != ["run"])
    args = parser.parse_args(argv)
    if args.func is not cmd_run:  # mitmproxy sets up its own logging
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        return int(args.func(args) or 0)
    except ConfigError as e:
        print(f"kidgate: {e}", file=sys.stderr)
        return 2
    except MissingExtra as e:
        print(f"kidgate: {e}", file=sys.stderr)
        return 3
    except BrokenPipeError:
        return 0


# -- run --------------------------------------------------------------------------------------
def mitmdump_args(args: argparse.Namespace, cfg: config_mod.Config) -> list[str]:
    out = ["-s", str(ADDON_SCRIPT),
           "--listen-host", args.listen_host or cfg.listen_host,
           "--listen-port", str(args.port or cfg.listen_port),
           "--set", "connection_strategy=lazy",
           "--set", f"block_global={'false' if cfg.allow_public_clients else 'true'}",
           "--set", f"flow_detail={1 if args.verbose else 0}",
           # Parents read warnings and errors; --verbose shows every connection and flow.
           "--set", f"termlog_verbosity={'info' if args.verbose else 'warn'}"]
    if args.config:
        out += ["--set", f"kidgate_config={args.config.resolve()}"]
    if args.data_dir:
        out += ["--set", f"kidgate_data_dir={args.data_dir.resolve()}"]
    if args.lists:
        out += ["--set", f"kidgate_lists={args.lists.resolve()}"]
    if args.no_classifier:
        out += ["--set", "kidgate_classifier=false"]
    extra = list(args.mitmproxy_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    from kidgate import wireguard
    from kidgate.paths import default_data_dir
    tunnels = wireguard.modes(cfg, args.data_dir or cfg.data_dir or default_data_dir())
    if tunnels and not any(a == "--mode" or a.startswith("--mode=") for a in extra):
        tunnels = ["--mode", "regular", *tunnels]  # a --mode replaces the default proxy
    return out + tunnels + extra


class _Deferred(types.ModuleType):
    """Stands in ``sys.modules`` for a module until one of its attributes is used, then
    imports the real module (once, under a lock: LDAP checks run on several threads) and
    answers from it; the real module replaces the stand-in, so later imports get it."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._lock = threading.Lock()
        self._real: types.ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:  # only for attributes the stand-in lacks
        with self._lock:
            if self._real is None:
                if sys.modules.get(self.__name__) is self:
                    del sys.modules[self.__name__]
                self._real = importlib.import_module(self.__name__)
        return getattr(self._real, attr)


def _defer_import(name: str) -> None:
    """Import ``name`` only when it is first used.

    mitmproxy imports ldap3 (~10 MB resident with pyasn1) at start for its LDAP proxy
    authentication; kidgate's own sign-in imports it only for an ``ldap:`` directory. Deferred,
    the proxy pays for it only when a directory is actually asked, and behaves as before.
    """
    if name in sys.modules or importlib.util.find_spec(name) is None:
        return  # already loaded, or not installed: the real import fails as it would have
    sys.modules[name] = _Deferred(name)


def cmd_run(args: argparse.Namespace) -> int:
    cfg = settings.load(args.config)  # fail before starting mitmproxy, with file:line:key
    _defer_import("ldap3")
    from mitmproxy.tools.main import mitmdump
    port = args.port or cfg.listen_port
    extra = " ".join(args.mitmproxy_args)
    how = ("redirect the network's web traffic (TCP 80 and 443) to this port" if "transparent" in extra
           else f"point devices at this machine, port {port}")
    print(f"kidgate: filtering proxy on {args.listen_host or cfg.listen_host}:{port} "
          f"(config: {cfg.source}). To use it, {how}; "
          f"install the certificate from http://mitm.it", file=sys.stderr)
    migrate_database(args, cfg)
    start_admin(args, cfg)
    mitmdump(mitmdump_args(args, cfg))
    return 0


def migrate_database(args: argparse.Namespace, cfg: config_mod.Config) -> None:
    """Bring the database's schema up to date before the proxy opens it, in a child process
    (only when it is behind: one query tells), so that the migration tool never stays in the
    long-lived proxy's memory. A failure is only reported here: the proxy runs on and its
    parts that need the database report it as they always do (503 "not saved", never a
    broken internet)."""
    from admin.server import data_dir_for
    from storage.db import Database, DatabaseError, default_url
    try:
        db = Database(cfg.database_url or default_url(data_dir_for(cfg, args.data_dir)))
        try:
            if db.needs_upgrade():
                db.upgrade_in_child()
        finally:
            db.dispose()
    except DatabaseError as e:
        print(f"kidgate: {e}", file=sys.stderr)


def start_admin(args: argparse.Namespace, cfg: config_mod.Config) -> None:
    """The admin web app, on its own thread and port beside the proxy (``admin:`` in the
    config); the one place the proxy's start knows about it."""
    from admin import server
    data_dir = server.data_dir_for(cfg, args.data_dir)
    server.start(cfg, args.config.resolve() if args.config else None, data_dir)


# -- check ------------------------------------------------------------------------------------
def profile_for(cfg: config_mod.Config, name: str | None, age: int | None) -> Profile:
    if name and name not in cfg.profiles:
        raise SystemExit(f"kidgate: no profile named {name!r}; profiles: {', '.join(cfg.profiles)}")
    profile = cfg.profile(name)
    if age is not None:
        if not 0 <= age <= 120:
            raise SystemExit("kidgate: --age must be between 0 and 120")
        profile = dataclasses.replace(profile, name=f"age-{age}", age=age)
    return profile


def client_profile(cfg: config_mod.Config, ip: str, user: str | None) -> tuple[Profile, str]:
    """The profile of a device, by the proxy's own rules (:mod:`kidgate.devices`)."""
    from kidgate.devices import DeviceResolver
    from policies.devices import client_address
    if client_address(ip) is None:
        raise SystemExit(f"kidgate: --client needs an IP address, got {ip!r}")
    return DeviceResolver(cfg).resolve(ip, user=user)


def cmd_check(args: argparse.Namespace) -> int:
    from kidgate.engine import Engine
    from kidgate.paths import default_data_dir
    cfg = settings.load(args.config)
    if args.user and not args.client:
        raise SystemExit("kidgate check: --user goes with --client")
    device = None
    if args.client:
        profile, device = client_profile(cfg, args.client, args.user)
    else:
        profile = profile_for(cfg, args.profile, args.age)
    engine = Engine.from_config(cfg, with_classifier=not args.no_classifier, lists_path=args.lists)
    engine.approvals = _approvals(args.data_dir or cfg.data_dir or default_data_dir(),
                                  cfg.database_url)
    if args.jsonl:
        return check_jsonl(engine, profile, sys.stdin, sys.stdout)
    if not args.url:
        raise SystemExit("kidgate check: give a URL, or --jsonl to read records from stdin")
    verdict = engine.check(profile, url=args.url)
    out = {"url": args.url, "profile": profile.name, **verdict.to_dict()}
    if device is not None:
        out = {"client": args.client, "device": device, **out}
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def _approvals(data_dir: Path, url: str | None = None) -> Any:
    """The proxy's approved access requests, read from its database if there is one (a check
    never creates a SQLite file)."""
    try:
        from reporting import access
        from reporting.store import Store, default_path
    except ImportError:
        return None
    if url:
        return access.ApprovalIndex(Store(url), check_interval=0)
    path = default_path(data_dir)
    if not path.is_file():
        return None
    return access.ApprovalIndex(Store(path), check_interval=0)


_RECORD_KEYS = {"id", "url", "text", "html", "headers"}


def check_record(engine: Any, profile: Profile, rec: Any) -> dict[str, Any]:
    """One ``--jsonl`` record to one result; raises ValueError for a malformed record."""
    if not isinstance(rec, dict):
        raise ValueError("expected a JSON object")
    unknown = set(rec) - _RECORD_KEYS
    if unknown:
        raise ValueError(f"unknown keys: {', '.join(sorted(unknown))}")
    for key in ("url", "text", "html"):
        if key in rec and rec[key] is not None and not isinstance(rec[key], str):
            raise ValueError(f"{key} must be a string")
    headers = rec.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in headers.items()):
        raise ValueError("headers must be an object of string values")
    if not any(rec.get(k) for k in ("url", "text", "html")) and not headers:
        raise ValueError("a record needs at least one of url, text, html, headers")
    verdict = engine.check(profile, url=rec.get("url"), text=rec.get("text"),
                           html=rec.get("html"), headers={k.lower(): v for k, v in headers.items()})
    return {"id": rec.get("id"), **verdict.to_dict()}


def check_jsonl(engine: Any, profile: Profile, inp: TextIO, out: TextIO) -> int:
    errors = 0
    for lineno, line in enumerate(inp, 1):
        if not line.strip():
            continue
        rid = None
        try:
            rec = json.loads(line)
            rid = rec.get("id") if isinstance(rec, dict) else None
            result = check_record(engine, profile, rec)
        except (ValueError, RecursionError) as e:
            errors += 1
            result = {"id": rid, "line": lineno, "error": str(e)[:300]}
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    out.flush()
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    """Ask for a password (twice at a terminal; one line from a pipe) and print the line to
    put under ``proxy_auth: users:``. The password itself is never printed or stored."""
    import getpass

    from kidgate.proxyauth import hash_password
    user = args.user
    if not user or ":" in user or any(c.isspace() for c in user):
        raise SystemExit("kidgate passwd: a user name has no spaces or ':'")
    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {user}: ")
        if getpass.getpass("again: ") != password:
            raise SystemExit("kidgate passwd: the two passwords differ; nothing was printed")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        raise SystemExit("kidgate passwd: use at least 8 characters")
    print(f'    {user}: "{hash_password(password)}"')
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    cfg = settings.load(args.path)
    print(f"{args.path}: valid; profiles: {', '.join(f'{p.name} ({p.age})' for p in cfg.profiles.values())}; "
          f"{len(cfg.devices)} devices")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
