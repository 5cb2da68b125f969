"""Serving the admin app beside the proxy, and the ``kidgate admin`` command."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path
from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import BaseWSGIServer, make_server

from admin import accounts
from admin.app import AdminContext, create_app
from kidgate.paths import default_data_dir
from policies import config as config_mod
from policies.config import Config
from storage import Database, DatabaseError

log = logging.getLogger("kidgate")

#: Where devices that use the proxy reach the admin app: http://kidgate.internal/admin/.
PROXY_PATH = "/admin"
_for_proxy: Any = None


def app_for_proxy() -> Any:
    """The admin app of this process mounted at :data:`PROXY_PATH` (a WSGI callable), for the
    proxy's internal pages; None when ``kidgate run`` did not start one here."""
    return _for_proxy


def data_dir_for(cfg: Config, data_dir: Path | None) -> Path:
    """The proxy's rule: ``--data-dir``, else the config's ``data_dir``, else the default."""
    return data_dir or cfg.data_dir or default_data_dir()


def open_database(cfg: Config, data_dir: Path) -> Database:
    return Database.open(data_dir, cfg.database_url)


def start(cfg: Config, config_path: Path | None, data_dir: Path) -> BaseWSGIServer | None:
    """Start the admin app on its own thread (``None`` when turned off). The proxy runs on
    regardless: a port already in use is reported, never fatal to filtering."""
    if not cfg.admin.enabled:
        return None
    try:
        db = open_database(cfg, data_dir)
    except DatabaseError as e:  # a wrong URL, a server down: the proxy filters regardless
        print(f"kidgate: admin app not started: {e}", file=sys.stderr)
        return None
    app = create_app(AdminContext(db=db, data_dir=data_dir, config_path=config_path,
                                  hosts=cfg.admin.hosts))
    global _for_proxy
    _for_proxy = DispatcherMiddleware(NotFound(), {PROXY_PATH: app})
    host, port = cfg.admin.host, cfg.admin.port
    try:
        server = make_server(host, port, app, threaded=True)
    except (OSError, SystemExit) as e:  # werkzeug exits on a port in use: filtering must not
        why = e.strerror if isinstance(e, OSError) else "the address is in use or unavailable"
        print(f"kidgate: admin app not started: cannot listen on {host}:{port}: {why}; "
              f"devices that use the proxy still reach it at http://kidgate.internal{PROXY_PATH}/",
              file=sys.stderr)
        _print_setup_code(db)
        return None
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    threading.Thread(target=server.serve_forever, name="kidgate-admin", daemon=True).start()
    if host in ("0.0.0.0", "::"):
        where = (f"port {server.server_port} of this machine "
                 f"(here: http://127.0.0.1:{server.server_port}/)")
    else:
        where = f"http://{host}:{server.server_port}/"
    print(f"kidgate: admin app on {where}", file=sys.stderr)
    _print_setup_code(db)
    return server


def _print_setup_code(db: Database) -> None:
    """Until the owner exists: the one-time code the first visit asks for."""
    code = accounts.new_setup_code(db)
    if code is not None:
        print(f"kidgate: first visit: enter the one-time setup code {code} to create the "
              "owner's account", file=sys.stderr)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``kidgate admin`` to the main command."""
    p = subparsers.add_parser("admin", help="the admin web app")
    sub = p.add_subparsers(dest="admin_command", required=True, metavar="COMMAND")
    code = sub.add_parser("setup-code", help="print a new one-time setup code for the first "
                                             "visit (the previous code stops working)")
    code.add_argument("--config", "-c", type=Path, default=None, help="configuration file")
    code.add_argument("--data-dir", dest="admin_data_dir", type=Path, default=None,
                      help="database directory (default: the proxy's)")
    code.set_defaults(func=cmd_setup_code)


def cmd_setup_code(args: argparse.Namespace) -> int:
    cfg = config_mod.load(args.config)
    data_dir = data_dir_for(cfg, getattr(args, "admin_data_dir", None))
    db = open_database(cfg, data_dir)
    try:
        code = accounts.new_setup_code(db)
    finally:
        db.dispose()
    if code is None:
        print("kidgate admin: already set up; sign in with the owner's account", file=sys.stderr)
        return 1
    print(code)
    return 0
