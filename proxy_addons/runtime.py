"""State shared by kidgate's addons: the current configuration and the loaded detectors.

The configuration is swapped as a whole on reload, so a hook always sees one consistent
version; an invalid new file keeps the old configuration and logs why.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kidgate.decisionlog import DecisionLog
from kidgate.engine import Engine
from kidgate.paths import default_data_dir
from policies import config as config_mod
from policies.config import Config, ConfigError

log = logging.getLogger("kidgate")


@dataclass
class Runtime:
    config_path: Path | None
    config: Config
    engine: Engine
    data_dir: Path
    decisions: DecisionLog | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    _mtime: float | None = None
    _checked: float = 0.0

    @classmethod
    def start(cls, config_path: Path | None, *, data_dir: Path | None = None,
              with_classifier: bool = True, lists_path: Path | None = None,
              site_labels: bool = True, site_labels_ca: str | None = None) -> "Runtime":
        cfg = config_mod.load(config_path)  # raises ConfigError with file:line:key
        ddir = data_dir or cfg.data_dir or default_data_dir()
        ddir.mkdir(parents=True, exist_ok=True)
        engine = Engine.from_config(cfg, with_classifier=with_classifier, lists_path=lists_path)
        if site_labels:
            from policies.labels.sitefile import SiteLabelCache
            engine.site_labels = SiteLabelCache(verify=site_labels_ca or True)
        rt = cls(config_path, cfg, engine, ddir,
                 DecisionLog(ddir / "decisions.jsonl", retention=cfg.log))
        rt._mtime = _mtime(config_path)
        return rt

    def maybe_reload(self, every: float = 2.0) -> bool:
        """Reload the config file if it changed. Cheap: at most one ``stat`` per ``every`` s."""
        now = time.monotonic()
        if self.config_path is None or now - self._checked < every:
            return False
        self._checked = now
        m = _mtime(self.config_path)
        if m == self._mtime:
            return False
        self._mtime = m
        try:
            new = config_mod.load(self.config_path)
        except ConfigError as e:
            log.warning("kidgate: configuration not reloaded, keeping the previous one: %s", e)
            return False
        self.config = new
        self.engine.config = new
        if self.decisions is not None:
            self.decisions.apply(new.log)  # rotation and deletion happen on the log's thread
        log.warning("kidgate: configuration reloaded from %s", self.config_path)
        return True


def _mtime(path: Path | None) -> float | None:
    if path is None:
        return None
    try:
        st = path.stat()
        return st.st_mtime_ns + st.st_size
    except OSError:
        return None
