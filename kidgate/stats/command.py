"""The ``kidgate stats`` command line."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import IO

from kidgate.stats.charts import write_charts
from kidgate.stats.reading import LOG_NAME, DatabaseLog, LogSource, log_files, log_source
from kidgate.stats.summary import collect, load_zone, parse_time
from kidgate.stats.text import render_text


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``kidgate stats`` to the main command's subparsers."""
    p = subparsers.add_parser(
        "stats", help="statistics and charts of blocked and allowed requests",
        description="Summarise the decision log (decisions.jsonl and the daily files it is "
                    "rotated into) as tables, JSON or PNG charts.")
    # SUPPRESS: an absent option must not overwrite a --data-dir given to the main CLI.
    p.add_argument("--data-dir", dest="data_dir", metavar="DIR", type=Path,
                   default=argparse.SUPPRESS,
                   help="kidgate's data directory (default: the proxy's, $KIDGATE_HOME or "
                        "~/.local/share/kidgate); reads decisions.jsonl and its daily files")
    p.add_argument("--log", dest="stats_logs", metavar="PATH", type=Path, action="append",
                   default=[], help="read this log file instead (repeatable; .gz allowed)")
    p.add_argument("--database", dest="stats_database", metavar="URL",
                   help="read the decision rows of this database instead (the configuration's "
                        "database.url, e.g. postgresql+psycopg://USER@HOST/DB): every proxy "
                        "that shares it")
    p.add_argument("--since", metavar="WHEN",
                   help="only decisions from WHEN: 24h, 7d, 2w, today, or a date 2024-05-01")
    p.add_argument("--until", metavar="WHEN", help="only decisions before WHEN (same forms)")
    p.add_argument("--profile", dest="stats_profiles", metavar="NAME", action="append",
                   default=[], help="only this profile (repeatable)")
    p.add_argument("--client", dest="stats_clients", metavar="ADDR", action="append",
                   default=[], help="only this device, as logged (repeatable)")
    p.add_argument("--tz", dest="stats_tz", metavar="ZONE",
                   help="time zone for hours and days, e.g. Europe/Bucharest (default: local)")
    p.add_argument("--top", dest="stats_top", metavar="N", type=int, default=20,
                   help="how many blocked sites to list (default 20)")
    p.add_argument("--json", dest="stats_json", action="store_true",
                   help="print the summary as JSON (schema kidgate-stats/1)")
    p.add_argument("--charts", dest="stats_charts", metavar="DIR", type=Path,
                   help="also write PNG charts to DIR")
    p.set_defaults(func=cmd_stats)


def cmd_stats(args: argparse.Namespace, out: IO[str] | None = None,
              now: float | None = None) -> int:
    """Run ``kidgate stats``; 0 on success, 2 on a usage error or when there is no log."""
    out = out or sys.stdout
    now = dt.datetime.now().timestamp() if now is None else now
    try:
        tz, zone_name = load_zone(args.stats_tz)
        since = parse_time(args.since, now=now, tz=tz) if args.since else None
        until = parse_time(args.until, now=now, tz=tz) if args.until else None
    except ValueError as e:
        print(f"kidgate stats: {e}", file=sys.stderr)
        return 2
    if args.stats_top < 1:
        print("kidgate stats: --top must be at least 1", file=sys.stderr)
        return 2
    paths: LogSource
    if getattr(args, "stats_database", None):
        from storage import Database, DatabaseError
        try:
            paths = DatabaseLog(Database.shared(args.stats_database))
        except DatabaseError as e:
            print(f"kidgate stats: {e}", file=sys.stderr)
            return 2
    elif args.stats_logs:
        paths = list(args.stats_logs)
        missing = [p for p in paths if not p.is_file()]
        if missing:
            print(f"kidgate stats: no such log file: {missing[0]}", file=sys.stderr)
            return 2
    else:
        data_dir = getattr(args, "data_dir", None)
        if data_dir is None:
            from kidgate.paths import default_data_dir
            data_dir = default_data_dir()
        paths = log_files(Path(data_dir))
        if not paths and (Path(data_dir) / "kidgate.db").is_file():
            # No files: the proxy may write its log to the database (database.decisions).
            from storage import Database
            try:
                paths = log_source(Path(data_dir), Database.shared(
                    f"sqlite:///{Path(data_dir) / 'kidgate.db'}"))
            except Exception:  # noqa: BLE001 - then there is simply no log to read
                paths = []
        if not paths:
            print(f"kidgate stats: no {LOG_NAME} in {data_dir} (has the proxy run? "
                  "use --data-dir DIR or --log PATH)", file=sys.stderr)
            return 2
    summary = collect(paths, since=since, until=until, profiles=args.stats_profiles,
                      clients=args.stats_clients, tz=tz, timezone=zone_name,
                      top=args.stats_top, now=now)
    if args.stats_charts is not None:
        try:
            summary["charts"] = [str(p) for p in write_charts(summary, args.stats_charts)]
        except OSError as e:
            print(f"kidgate stats: cannot write charts to {args.stats_charts}: {e}",
                  file=sys.stderr)
            return 2
    text = (json.dumps(summary, ensure_ascii=False, indent=2) + "\n" if args.stats_json
            else render_text(summary))
    try:
        out.write(text)
    except UnicodeEncodeError:  # a host name with letters the terminal cannot show
        enc = getattr(out, "encoding", None) or "ascii"
        out.write(text.encode(enc, "replace").decode(enc))
    out.flush()
    return 0
