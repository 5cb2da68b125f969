"""NOTICE: the licences of the data kidgate ships, generated from the files that state them.

The model card (``models/MODEL_CARD.md``, written by ``kidgate train``) lists the datasets behind
the shipped models; ``lists/data/ATTRIBUTION.md`` lists the sources of the shipped lists. NOTICE
is rendered from their tables, and a test compares it with this rendering, so the three cannot
drift apart. Regenerate with ``python -m kidgate.notice > NOTICE``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL_CARD = ROOT / "models" / "MODEL_CARD.md"
LIST_ATTRIBUTION = ROOT / "lists" / "data" / "ATTRIBUTION.md"


def table_rows(markdown: str, heading: str | None = None) -> list[list[str]]:
    """The body rows of the first Markdown table (under ``heading``, when given)."""
    lines = markdown.splitlines()
    if heading is not None:
        try:
            lines = lines[lines.index(heading) + 1:]
        except ValueError:
            raise ValueError(f"no section {heading!r}") from None
    rows: list[list[str]] = []
    in_table = False
    for line in lines:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                in_table = True
            elif in_table:
                rows.append(cells)
        elif in_table or (heading is not None and line.startswith("## ") and rows):
            break
    if not rows:
        raise ValueError(f"no table{' under ' + repr(heading) if heading else ''}")
    return rows


def render(model_card: str, list_attribution: str) -> str:
    out = [
        "kidgate",
        "=======",
        "",
        "kidgate is free software under the GNU General Public License, version 3 or later",
        "(see LICENSE). It ships data derived from the public sources below, each under its own",
        "licence. This file is generated from models/MODEL_CARD.md and lists/data/ATTRIBUTION.md",
        "(python -m kidgate.notice > NOTICE).",
        "",
        "Shipped lists (lists/data/default.kglist)",
        "-----------------------------------------",
        "",
    ]
    for names, source, licence in (r[:3] for r in table_rows(list_attribution)):
        out += [f"* {names.replace('`', '')}: {source}", f"  Licence: {licence}", ""]
    out += ["Datasets behind the shipped models (models/)", "-" * 44, ""]
    for name, used_for, rows, licence in (r[:4] for r in table_rows(model_card, "## Sources")):
        out += [f"* {name.replace('`', '')}: {used_for}, {rows} rows", f"  Licence: {licence}", ""]
    out += ["The model weights contain features (words, n-grams, host parts) and no texts."]
    return "\n".join(out) + "\n"


def current() -> str:
    return render(MODEL_CARD.read_text(encoding="utf-8"),
                  LIST_ATTRIBUTION.read_text(encoding="utf-8"))


if __name__ == "__main__":
    sys.stdout.write(current())
