"""Chart geometry for the dashboard, drawn as inline SVG by the templates.

Server-side SVG needs no script and no chart library, works on any phone browser, and, since
labels go through Jinja's autoescaping like any other text, a hostile host name in a chart is
text, never markup. The figures are those of ``kidgate stats`` (its summary is passed in).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH = 640
BAR_HEIGHT = 22
GAP = 6
LABEL_WIDTH = 170
DAILY_HEIGHT = 180


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    extra: int = 0          # daily chart: the blocked part of the bar
    extra_y: float = 0.0
    extra_height: float = 0.0


@dataclass(frozen=True, slots=True)
class Chart:
    name: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    label_width: int = LABEL_WIDTH


def horizontal(name: str, items: list[tuple[str, int]]) -> Chart:
    """One bar per item, longest for the largest value; items with 0 are left out."""
    items = [(label, n) for label, n in items if n > 0]
    top = max((n for _, n in items), default=1)
    room = WIDTH - LABEL_WIDTH - 60
    bars = tuple(Bar(label, n, LABEL_WIDTH, i * (BAR_HEIGHT + GAP), max(2.0, room * n / top),
                     BAR_HEIGHT) for i, (label, n) in enumerate(items))
    return Chart(name, WIDTH, max(BAR_HEIGHT, len(bars) * (BAR_HEIGHT + GAP)), bars)


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


def dashboard(summary: dict[str, Any]) -> dict[str, Chart]:
    return {
        "daily": daily(summary),
        "categories": horizontal("categories", sorted(
            summary["blocks_by_category"].items(), key=lambda kv: -kv[1])),
        "sources": horizontal("sources", sorted(
            summary["blocks_by_source"].items(), key=lambda kv: -kv[1])),
        "profiles": horizontal("profiles", [(r["profile"], r["blocked"])
                                            for r in summary["by_profile"]][:15]),
        "clients": horizontal("clients", [(r["client"], r["blocked"])
                                          for r in summary["by_client"]][:15]),
    }
