"""Chart geometry for the dashboard, drawn as inline SVG by the templates.

Server-side SVG needs no script and no chart library, works on any phone browser, and, since
labels go through Jinja's autoescaping like any other text, a hostile host name in a chart is
text, never markup. The figures are those of ``kidgate stats`` (its summary is passed in).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pages

WIDTH = 640
BAR_HEIGHT = 22
GAP = 6
LABEL_WIDTH = 170
#: The widest label column: words such as a category's name get more room than a host name,
#: but the bars keep at least half the chart.
MAX_LABEL_WIDTH = 320
#: About one character of a label at the charts' font size, in SVG units.
CHAR_WIDTH = 8.5
DAILY_HEIGHT = 180


@dataclass(frozen=True, slots=True)
class Bar:
    label: str              # what the reader sees: a category's words, a profile's name
    value: int
    x: float
    y: float
    width: float
    height: float
    extra: int = 0          # daily chart: the blocked part of the bar
    extra_y: float = 0.0
    extra_height: float = 0.0
    key: str = ""           # what the bar counts (a category key), for scripts and tests


@dataclass(frozen=True, slots=True)
class Chart:
    name: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    label_width: int = LABEL_WIDTH

    @property
    def label_chars(self) -> int:
        """How many characters of a label fit its column; longer ones are cut (the bar's
        tooltip keeps the whole label)."""
        return int((self.label_width - 16) / CHAR_WIDTH)


def horizontal(name: str, items: list[tuple[str, int]],
               words: Callable[[str], str] | None = None) -> Chart:
    """One bar per item, longest for the largest value; items with 0 are left out.
    ``words`` turns an item's key into the label shown (a category key into its name); the
    label column is as wide as the longest label needs, within ``MAX_LABEL_WIDTH``."""
    shown = [(key, words(key) if words else key, n) for key, n in items if n > 0]
    top = max((n for _, _, n in shown), default=1)
    longest = max((len(label) for _, label, _ in shown), default=0)
    label_width = min(MAX_LABEL_WIDTH, max(LABEL_WIDTH, math.ceil(longest * CHAR_WIDTH) + 16))
    room = WIDTH - label_width - 60
    bars = tuple(Bar(label, n, label_width, i * (BAR_HEIGHT + GAP), max(2.0, room * n / top),
                     BAR_HEIGHT, key=key) for i, (key, label, n) in enumerate(shown))
    return Chart(name, WIDTH, max(BAR_HEIGHT, len(bars) * (BAR_HEIGHT + GAP)), bars,
                 label_width)


def daily(summary: dict[str, Any], days: int = 31) -> Chart:
    """Requests per day with the blocked part drawn over them, the last ``days`` days."""
    rows = summary.get("daily", [])[-days:]
    top = max((r["requests"] or r["blocked"] for r in rows), default=1) or 1
    plot = DAILY_HEIGHT - 24
    step = (WIDTH - 40) / max(len(rows), 1)
    width = min(step * 0.8, 48.0)  # one day is a bar, not a wall
    bars = []
    for i, r in enumerate(rows):
        total = max(r["requests"], r["blocked"])
        h = plot * total / top
        bh = plot * r["blocked"] / top
        bars.append(Bar(r["date"], r["requests"], 20 + i * step + (step - width) / 2, plot - h,
                        width, h, extra=r["blocked"], extra_y=plot - bh, extra_height=bh))
    return Chart("daily", WIDTH, DAILY_HEIGHT, tuple(bars))


def dashboard(summary: dict[str, Any], lang: str | None = None) -> dict[str, Chart]:
    """The dashboard's charts; category and source bars are labelled with their names in
    ``lang``, the reader's language (profiles and devices by their own names)."""
    return {
        "daily": daily(summary),
        "categories": horizontal("categories", sorted(
            summary["blocks_by_category"].items(), key=lambda kv: -kv[1]),
            words=lambda key: pages.category_name(lang, key)),
        "sources": horizontal("sources", sorted(
            summary["blocks_by_source"].items(), key=lambda kv: -kv[1]),
            words=lambda key: pages.source_name(lang, key)),
        "profiles": horizontal("profiles", [(r["profile"], r["blocked"])
                                            for r in summary["by_profile"]][:15]),
        "clients": horizontal("clients", [(r["client"], r["blocked"])
                                          for r in summary["by_client"]][:15]),
    }
