"""Optional parts of kidgate: training and charts need packages the proxy does not.

A leaf module (standard library only), so any package may use it, the classifier's training
included, without importing the rest of ``kidgate``."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtra(RuntimeError):
    """A command needs an optional package that is not installed."""


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or say which extra brings it, instead of a bare ImportError."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f"{purpose} needs the Python package {module.split('.')[0]!r}: "
                           f"install kidgate[{extra}] (pip install 'kidgate[{extra}]', or "
                           f"pipx inject kidgate {module.split('.')[0]})") from None
