"""kidgate's configuration, loaded with every section checked: the core's loader
(:mod:`policies.config`) knows profiles, devices and the log; the sections that packages above
it own (``alerts``: :mod:`reporting.alerts`, ``lists``: :mod:`lists.config` and
:mod:`lists.autoupdate`) are checked here, so the core imports nothing
above it and a mistake in any section is still reported with its file, line and key."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from policies import config as config_mod
from policies.config import Config


def _alerts(section: Mapping[str, Any]) -> object:
    try:
        from reporting.alerts import AlertConfig
    except ImportError:  # without the reporting package there are no alerts to check
        return None
    return AlertConfig.from_mapping(section)


def _lists(section: Mapping[str, Any]) -> object:
    from lists.autoupdate import parse_auto_update
    from lists.config import parse_lists_config
    parse_auto_update(section.get("auto_update"))
    return parse_lists_config(section)


SECTIONS: config_mod.SectionChecks = {"alerts": _alerts, "lists": _lists}


def load(path: str | Path | None = None) -> Config:
    """Load and check a configuration file (``None``: the shipped default)."""
    return config_mod.load(path, sections=SECTIONS)


def parse(text: str, file: str = "<config>") -> Config:
    return config_mod.parse(text, file, sections=SECTIONS)
