"""The summary as four PNG charts (matplotlib, an optional extra)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from kidgate.stats.records import CATEGORY_KEYS, OTHER, UNCATEGORISED
from kidgate.stats.summary import WEEKDAYS
from kidgate.stats.text import describe_filters
from policies.categories import CATEGORIES


#: One colour per category, the same in every chart, chosen to be told apart and to hint at
#: the meaning (reds for the gravest).
COLOURS: dict[str, str] = {
    "csam": "#67000d", "sexual": "#e7298a", "violence": "#d62728", "hate": "#7b3294",
    "offensive": "#ff7f0e", "self_harm": "#8c564b", "drugs": "#2ca02c", "gambling": "#bcbd22",
    "weapons": "#525252", "dating": "#f4a6c8", "social": "#1f77b4", "bypass": "#17becf",
    "malware": "#000000", UNCATEGORISED: "#bdbdbd", OTHER: "#d9d9d9",
}

CHART_FILES = ("blocks_by_category.png", "timeline.png", "hours.png", "top_hosts.png")


def write_charts(summary: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write the four PNG charts to ``out_dir`` and return their paths. Uses matplotlib's
    object API with the Agg canvas: no display, no global pyplot state."""
    from kidgate.extras import require
    require("matplotlib", "charts", "kidgate stats --charts")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out_dir.mkdir(parents=True, exist_ok=True)
    subtitle = describe_filters(summary)
    written = []
    for name, draw, size in (("blocks_by_category.png", _chart_categories, (9, 6)),
                             ("timeline.png", _chart_timeline, (11, 6)),
                             ("hours.png", _chart_hours, (12, 5)),
                             ("top_hosts.png", _chart_hosts, (10, 7))):
        fig = Figure(figsize=size, dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        draw(fig, summary)
        fig.supxlabel(f"kidgate · {subtitle}", fontsize=8, color="#555555")
        path = out_dir / name
        fig.savefig(path, format="png")
        written.append(path)
    return written


def _empty(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"No {what} in this period", ha="center", va="center",
            transform=ax.transAxes, fontsize=14, color="#777777")
    ax.set_xticks([])
    ax.set_yticks([])


def _chart_categories(fig: Any, summary: dict[str, Any]) -> None:
    ax = fig.add_subplot()
    counts = summary["blocks_by_category"]
    cats = [c for c in CATEGORY_KEYS if c in CATEGORIES or counts.get(c)]
    values = [counts.get(c, 0) for c in cats]
    ax.set_title("Blocked requests by category", fontsize=14, loc="left")
    if not any(values):
        _empty(ax, "blocked requests")
        return
    y = list(range(len(cats)))
    bars = ax.barh(y, values, color=[COLOURS[c] for c in cats], edgecolor="#333333",
                   linewidth=0.4)
    ax.set_yticks(y, [c.replace("_", " ") if c in (UNCATEGORISED, OTHER) else c for c in cats])
    ax.invert_yaxis()
    ax.bar_label(bars, labels=[f"{v:,}" if v else "0" for v in values], padding=3, fontsize=9)
    ax.set_xlabel("blocked requests")
    ax.set_ylabel("category")
    ax.set_xlim(0, max(values) * 1.15)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)


def _chart_timeline(fig: Any, summary: dict[str, Any]) -> None:
    ax = fig.add_subplot()
    days = summary["daily"]
    if not days or not any(d["blocked"] for d in days):
        ax.set_title("Blocked requests per day, by category", fontsize=14, loc="left")
        _empty(ax, "blocked requests")
        return
    dates, series = _timeline_series(days)
    weekly = len(dates) > 1 and (dates[1] - dates[0]).days == 7
    unit = "week" if weekly else "day"
    ax.set_title(f"Blocked requests per {unit}, by category", fontsize=14, loc="left")
    width = 6.0 if weekly else 0.8
    bottom = [0] * len(dates)
    for cat in CATEGORY_KEYS:
        vals = series.get(cat)
        if not vals:
            continue
        ax.bar(dates, vals, width=width, bottom=bottom, color=COLOURS[cat],
               label=cat, edgecolor="white", linewidth=0.3, align="edge" if weekly else "center")
        bottom = [b + v for b, v in zip(bottom, vals)]
    import matplotlib.dates as mdates
    locator = mdates.AutoDateLocator(maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("week starting" if weekly else "date")
    ax.set_ylabel(f"blocked requests per {unit}")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(title="category", loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)


def _timeline_series(days: list[dict[str, Any]]) -> tuple[list[dt.date], dict[str, list[int]]]:
    """Every date from the first to the last (empty days as zero); weeks past 92 days so the
    bars stay wide enough to read."""
    by_date = {dt.date.fromisoformat(d["date"]): d["by_category"] for d in days}
    first, last = min(by_date), max(by_date)
    span = (last - first).days + 1
    if span > 92:
        first -= dt.timedelta(days=first.weekday())
        step = 7
    else:
        step = 1
    dates = [first + dt.timedelta(days=i) for i in range(0, (last - first).days + 1, step)]
    index = {d: i for i, d in enumerate(dates)}
    series: dict[str, list[int]] = {}
    for day, cats in by_date.items():
        i = index[first + dt.timedelta(days=((day - first).days // step) * step)]
        for cat, n in cats.items():
            series.setdefault(cat, [0] * len(dates))[i] += n
    return dates, series


def _chart_hours(fig: Any, summary: dict[str, Any]) -> None:
    grid = summary["blocks_by_weekday_hour"]
    gs = fig.add_gridspec(2, 2, height_ratios=(1, 3), width_ratios=(40, 1))
    top = fig.add_subplot(gs[0, 0])
    ax = fig.add_subplot(gs[1, 0], sharex=top)
    cax = fig.add_subplot(gs[1, 1])
    top.set_title(f"When requests were blocked (hour of day, {summary['timezone']} time)",
                  fontsize=14, loc="left")
    by_hour = summary["blocks_by_hour"]
    top.bar(range(24), by_hour, color="#d62728", width=0.8)
    top.set_ylabel("blocks")
    top.tick_params(labelbottom=False)
    top.grid(axis="y", alpha=0.3)
    top.set_axisbelow(True)
    peak = max(max(row) for row in grid)
    image = ax.imshow(grid, aspect="auto", cmap="YlOrRd", vmin=0, vmax=max(peak, 1),
                      extent=(-0.5, 23.5, 6.5, -0.5), interpolation="nearest")
    ax.set_xticks(range(24), [f"{h:02d}" for h in range(24)])
    ax.set_yticks(range(7), WEEKDAYS)
    ax.set_xlabel("hour of day")
    ax.set_ylabel("day of week")
    if 0 < peak:
        for d, row in enumerate(grid):
            for h, n in enumerate(row):
                if n:
                    ax.text(h, d, f"{n:,}", ha="center", va="center", fontsize=7,
                            color="white" if n > peak * 0.6 else "#222222")
    from matplotlib.ticker import MaxNLocator
    bar = fig.colorbar(image, cax=cax, label="blocked requests")
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    top.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))


def _chart_hosts(fig: Any, summary: dict[str, Any]) -> None:
    ax = fig.add_subplot()
    hosts = summary["top_blocked_hosts"][:20]
    ax.set_title(f"Most blocked sites (top {len(hosts)})" if hosts else "Most blocked sites",
                 fontsize=14, loc="left")
    if not hosts:
        _empty(ax, "blocked sites")
        return
    y = list(range(len(hosts)))
    values = [h["blocks"] for h in hosts]
    bars = ax.barh(y, values, color=[COLOURS.get(h["category"], COLOURS[OTHER]) for h in hosts],
                   edgecolor="#333333", linewidth=0.4)
    ax.set_yticks(y, [_ellipsize(h["host"], 40) for h in hosts], fontsize=9)
    ax.invert_yaxis()
    ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3, fontsize=9)
    ax.set_xlabel("blocked requests")
    ax.set_ylabel("site")
    ax.set_xlim(0, max(values) * 1.15)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    from matplotlib.patches import Patch
    present = [c for c in CATEGORY_KEYS if any(h["category"] == c for h in hosts)]
    ax.legend(handles=[Patch(color=COLOURS[c], label=c) for c in present], title="category",
              loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)


def _ellipsize(text: str, n: int) -> str:
    return text if len(text) <= n else "…" + text[-(n - 1):]


