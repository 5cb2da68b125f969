"""Every text of the admin app has its Romanian, and the table has no key written twice (a
dict literal silently keeps the last of two)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from admin import i18n

ADMIN = Path(i18n.__file__).parent
_CALL = re.compile(r'_\(\s*"((?:[^"\\]|\\.)*)"')
_ERROR = re.compile(r'errors\[[^\]]+\] = "((?:[^"\\]|\\.)*)"')


def test_no_text_is_written_twice_in_the_table() -> None:
    tree = ast.parse((ADMIN / "i18n.py").read_text(encoding="utf-8"))
    table = next(n.value for n in ast.walk(tree) if isinstance(n, ast.AnnAssign)
                 and getattr(n.target, "id", "") == "RO")
    keys = [k.value for k in table.keys if isinstance(k, ast.Constant)]
    assert len(keys) > 100
    assert sorted({k for k in keys if keys.count(k) > 1}) == []


def test_every_text_of_the_pages_and_forms_has_its_romanian() -> None:
    texts = {(f.name, m.group(1)) for f in (ADMIN / "templates").glob("*.html")
             for m in _CALL.finditer(f.read_text(encoding="utf-8"))}
    texts |= {(f.name, m.group(1)) for f in (ADMIN / "views").glob("*.py")
              for m in _ERROR.finditer(f.read_text(encoding="utf-8"))}
    assert len(texts) > 150
    assert sorted(t for t in texts if t[1] not in i18n.RO) == []
