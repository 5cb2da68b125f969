"""Where kidgate keeps its state: one rule for the proxy and every command."""

from __future__ import annotations

import os
from pathlib import Path

#: Mode of new log and database files (before the umask): the decision log, requests and
#: reports name the sites a child visited, so other local users get no access.
PRIVATE_MODE = 0o640


def default_data_dir() -> Path:
    """``$KIDGATE_HOME``, else ``$XDG_DATA_HOME/kidgate``, else ``~/.local/share/kidgate``."""
    env = os.environ.get("KIDGATE_HOME")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "kidgate"
