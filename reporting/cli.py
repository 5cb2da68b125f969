"""``kidgate requests …``, ``kidgate reports …`` and ``kidgate prune``: answer access requests
and apply the retention period from a shell.

The main ``kidgate`` CLI calls :func:`register` with its subparsers; the database is taken
from ``--db PATH`` on these subcommands, else ``args.db``, else ``DATA_DIR/kidgate.db`` with
``--data-dir`` or the proxy's default data directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

from kidgate.decisionlog import MB, LogFiles
from kidgate import settings
from kidgate.paths import default_data_dir
from policies.config import ConfigError
from reporting import access
from reporting.store import Store, default_path
from storage import DatabaseError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    req = subparsers.add_parser("requests", help="list and answer ask-for-access requests")
    req_sub = req.add_subparsers(dest="requests_command", required=True)

    p = req_sub.add_parser("list", help="list requests")
    p.add_argument("--status", choices=[*access.STATUSES, "all"], default="pending")
    _db_option(p)
    p.set_defaults(func=_requests_list)

    p = req_sub.add_parser("approve", help="approve a pending request")
    p.add_argument("id", type=int)
    p.add_argument("--for", dest="duration", choices=list(access.DURATIONS), default="1h",
                   help="how long the approval lasts (default 1h)")
    p.add_argument("--scope", choices=["url", "host"], default="url",
                   help="approve the exact URL (default) or the whole host")
    p.add_argument("--by", default="cli", help="who approves (shown in the logs)")
    _db_option(p)
    p.set_defaults(func=_requests_approve)

    p = req_sub.add_parser("deny", help="deny a pending request")
    p.add_argument("id", type=int)
    p.add_argument("--by", default="cli")
    _db_option(p)
    p.set_defaults(func=_requests_deny)

    p = req_sub.add_parser("revoke", help="take back an approval (the page is blocked again)")
    p.add_argument("id", type=int, help="the request's number, as `requests list --status "
                   "approved` shows it")
    p.add_argument("--by", default="cli")
    _db_option(p)
    p.set_defaults(func=_requests_revoke)

    rep = subparsers.add_parser("reports", help="reports made to hotlines")
    rep_sub = rep.add_subparsers(dest="reports_command", required=True)
    p = rep_sub.add_parser("list", help="list recorded reports")
    p.add_argument("--limit", type=int, default=50)
    _db_option(p)
    p.set_defaults(func=_reports_list)

    p = subparsers.add_parser(
        "prune", help="delete history older than the retention period now",
        description="Apply the configuration's log.retention_days and log.max_mb now: delete "
                    "old decision-log files and, in kidgate.db, used token nonces, old alert "
                    "rows, long-expired approvals and old answered access requests. Reports to "
                    "hotlines are kept. The running proxy does this by itself; this is for when "
                    "it is stopped or the retention was just shortened.")
    p.add_argument("--config", "-c", dest="prune_config", metavar="PATH", type=Path,
                   help="configuration file with the log section and database (default: the "
                        "shipped default)")
    _db_option(p, config=False)
    p.set_defaults(func=_prune)


def _db_option(p: argparse.ArgumentParser, *, config: bool = True) -> None:
    # SUPPRESS: an absent option must not overwrite a --db / --data-dir given to the main CLI.
    if config:
        p.add_argument("--config", "-c", dest="store_config", metavar="PATH", type=Path,
                       help="use the database of this configuration (database.url, else "
                            "kidgate.db in its data_dir)")
    p.add_argument("--db", dest="reporting_db", metavar="PATH|URL", default=argparse.SUPPRESS,
                   help="reporting database: a SQLite file or the database.url of the "
                        "configuration, e.g. postgresql+psycopg://USER@HOST/DB "
                        "(default: DATA_DIR/kidgate.db)")
    p.add_argument("--data-dir", dest="data_dir", metavar="DIR", type=Path,
                   default=argparse.SUPPRESS,
                   help="kidgate's data directory (default: $KIDGATE_HOME, else "
                        "$XDG_DATA_HOME/kidgate or ~/.local/share/kidgate, as the proxy)")


def _store(args: argparse.Namespace) -> Store:
    path = getattr(args, "reporting_db", None) or getattr(args, "db", None)
    data_dir = getattr(args, "data_dir", None)
    if path is None and getattr(args, "store_config", None) is not None:
        try:
            cfg = settings.load(args.store_config)
        except ConfigError as e:
            raise SystemExit(f"kidgate: {e}") from None
        path, data_dir = cfg.database_url, data_dir or cfg.data_dir
    if isinstance(path, str) and "://" in path:
        return _opened(Store(path))
    if path is None:
        path = default_path(data_dir or default_data_dir())
    if not Path(path).exists():
        raise SystemExit(f"kidgate: no database at {path} (has the proxy run? use --db PATH "
                         "or --db URL)")
    return _opened(Store(Path(path)))


def _opened(store: Store) -> Store:
    """The store, connected and migrated; a wrong URL or a server that does not answer is a
    one-line error, not a traceback."""
    try:
        store.db
    except DatabaseError as e:
        raise SystemExit(f"kidgate: {e}") from None
    return store


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _requests_list(args: argparse.Namespace) -> int:
    status = None if args.status == "all" else args.status
    rows = access.list_requests(_store(args), status)
    if not rows:
        print(f"no {args.status} requests")
    for r in rows:
        extra = f" by {r.decided_by}" if r.decided_by else ""
        if r.status == "approved":
            extra += f" until {_when(r.expires) if r.expires else 'always'} ({r.scope})"
        print(f"#{r.id} {_when(r.created)} {r.status}{extra} profile={r.profile} "
              f"category={r.category or '-'} {r.url}")
        if r.message:
            print(f"    message: {r.message}")
        if r.reason:
            print(f"    reason: {r.reason}")
    return 0


def _requests_approve(args: argparse.Namespace) -> int:
    def decide(store: Store) -> str:
        a = access.approve(store, args.id, args.duration, args.by, scope=args.scope)
        return f"approved #{args.id}: {a.detail()}"
    return _answer(decide, args)


def _requests_deny(args: argparse.Namespace) -> int:
    def decide(store: Store) -> str:
        access.deny(store, args.id, args.by)
        return f"denied #{args.id}"
    return _answer(decide, args)


def _requests_revoke(args: argparse.Namespace) -> int:
    def decide(store: Store) -> str:
        access.revoke_request(store, args.id, args.by)
        return f"revoked #{args.id}: blocked again within a second"
    return _answer(decide, args)


def _answer(decide: Callable[[Store], str], args: argparse.Namespace) -> int:
    """Run a decision on the database and print its outcome; a request that does not exist or
    cannot take the decision is a one-line error (exit status 1)."""
    try:
        print(decide(_store(args)))
    except (KeyError, ValueError) as e:
        print(f"kidgate: {e.args[0] if e.args else e}", file=sys.stderr)
        return 1
    return 0


def _reports_list(args: argparse.Namespace) -> int:
    rows = _store(args).list_reports(args.limit)
    if not rows:
        print("no reports")
    for r in rows:
        print(f"#{r['id']} {_when(r['created'])} profile={r['profile']} "
              f"category={r['category'] or '-'} hotline={r['hotline_country'] or 'INHOPE'} "
              f"{r['url']}")
    return 0


def _prune(args: argparse.Namespace) -> int:
    try:
        cfg = settings.load(args.prune_config)
    except ConfigError as e:
        print(f"kidgate: {e}", file=sys.stderr)
        return 2
    retention = cfg.log
    data_dir = Path(getattr(args, "data_dir", None) or cfg.data_dir or default_data_dir())
    where = (getattr(args, "reporting_db", None) or getattr(args, "db", None)
             or cfg.database_url or default_path(data_dir))
    status = 0
    if isinstance(where, str) and "://" in where or Path(where).exists():
        store = _opened(Store(where))
        try:
            pruned = store.prune(keep_days=retention.days)
        finally:
            store.close()
        print(f"{store.location}: removed {pruned.describe()}")
    else:
        print(f"{where}: no database, nothing to prune")
    files = LogFiles(data_dir / "decisions.jsonl")
    current = files.current.stat().st_size if files.current.is_file() else 0
    result = files.prune(retention, dt.date.today(), current)
    if not retention.enabled and files.current.exists():  # no log at all
        error = files.remove_current()
        if error is None:
            result.deleted.append(files.current)
        else:
            result.failed.append((files.current, error))
    kept = (f"keeping {retention.days} day(s), at most {retention.max_bytes // MB} MB"
            if retention.enabled else "retention_days is 0: no decision log is kept")
    print(f"{data_dir}: removed {len(result.deleted)} decision log file(s) ({kept})")
    for path, error in result.failed:
        print(f"kidgate: cannot delete {path}: {error}", file=sys.stderr)
        status = 1
    return status


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: ``python -m reporting.cli --db PATH requests list``."""
    parser = argparse.ArgumentParser(prog="kidgate-reporting")
    parser.add_argument("--db", help="reporting database")
    parser.add_argument("--data-dir", dest="data_dir")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
