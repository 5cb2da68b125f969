"""The decision core imports nothing above it: ``policies`` may use the standard library and
third-party packages, never kidgate's own higher packages (no import cycles through it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ABOVE = ("kidgate", "reporting", "classifier", "lists", "proxy_addons", "mitmproxy", "bench")


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, at any depth (imports inside functions count too)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.append((node.lineno, node.module))
    return out


@pytest.mark.parametrize("path", sorted((ROOT / "policies").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_policies_import_nothing_above_them(path):
    upward = [f"{path.relative_to(ROOT)}:{line}: {name}" for line, name in _imports(path)
              if name.split(".")[0] in ABOVE]
    assert not upward, "the core imports a higher package:\n" + "\n".join(upward)
