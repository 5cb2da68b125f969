"""The summary as aligned tables, for a terminal or an e-mail."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from policies.categories import CATEGORIES


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]],
           right: Sequence[int] = ()) -> list[str]:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = []
    for n, row in enumerate(cells):
        parts = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        out.append("  " + "  ".join(parts).rstrip())
        if n == 0:
            out.append("  " + "  ".join("-" * w for w in widths))
    return out


def _fmt(value: object) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def _short(ts: str | None) -> str:
    return "-" if ts is None else ts[:16].replace("T", " ")


def describe_filters(summary: dict[str, Any]) -> str:
    """One line naming the period and filters, shown under every table and chart title."""
    f = summary["filters"]
    p = summary["period"]
    parts = []
    start = f["since"] or p["first"]
    end = f["until"] or p["last"]
    if start and end:
        parts.append(f"{_short(start)} to {_short(end)}")
    elif start or end:
        parts.append(f"from {_short(start)}" if start else f"until {_short(end)}")
    else:
        parts.append("no decisions")
    if f["profiles"]:
        parts.append("profile " + ", ".join(f["profiles"]))
    if f["clients"]:
        parts.append("device " + ", ".join(f["clients"]))
    zone = summary["timezone"]
    parts.append("local time" if zone == "local" else f"times in {zone}")
    return " · ".join(parts)


#: Days listed in the text summary; the JSON and the timeline chart have them all.
DAYS_SHOWN = 31


def render_text(summary: dict[str, Any], *, rows: int = 10) -> str:
    """Aligned tables for a terminal or an e-mail."""
    t = summary["totals"]
    inp = summary["input"]
    lines = ["kidgate: blocked and allowed requests", "  " + describe_filters(summary)]
    files = len(inp["files"])
    lines.append(f"  read {inp['lines']:,} lines from {files} file{'s' if files != 1 else ''}; "
                 f"{inp['bad_lines']:,} bad lines skipped; "
                 f"{inp['filtered_out']:,} outside the filters")
    for fr in inp["files"]:
        if fr["error"]:
            lines.append(f"  warning: {fr['path']}: stopped early ({fr['error']})")
    lines.append("")
    lines += _table(["requests", "allowed", "blocked", "blocked %"],
                    [[t["requests"], t["allowed"], t["blocked"],
                      _pct(t["blocked"], t["requests"])]], right=range(4))
    if t["blocked_response"]:
        lines.append(f"  ({t['blocked_response']:,} of the blocks were made after reading "
                     "the page)")
    blocked = t["blocked"]

    lines += ["", "Blocks by category"]
    cats = [(c, n) for c, n in summary["blocks_by_category"].items()
            if n or c in CATEGORIES]
    lines += _table(["category", "blocks", "share"],
                    [[c, n, _pct(n, blocked)] for c, n in cats], right=(1, 2))

    lines += ["", "Blocks by reason source (a block may have several)"]
    lines += _table(["source", "blocks"],
                    [[s, n] for s, n in summary["blocks_by_source"].items() if n], right=(1,))

    for key, title in (("by_profile", "profile"), ("by_client", "device")):
        lines += ["", f"By {title}" + (" (approximate)" if summary["approximate"][
            "profiles" if key == "by_profile" else "clients"] else "")]
        data = summary[key][:rows]
        name = "profile" if key == "by_profile" else "client"
        lines += _table([title, "requests", "blocked", "blocked %"],
                        [[r[name], r["requests"], r["blocked"], _pct(r["blocked"], r["requests"])]
                         for r in data], right=(1, 2, 3))
        if len(summary[key]) > rows:
            lines.append(f"  … and {len(summary[key]) - rows:,} more")

    hosts = summary["top_blocked_hosts"]
    lines += ["", "Most blocked sites" + (" (approximate)" if summary["approximate"]["hosts"]
                                          else "")]
    lines += _table(["site", "category", "blocks"],
                    [[h["host"], h["category"], h["blocks"]] for h in hosts], right=(2,))

    by_hour = summary["blocks_by_hour"]
    peak = max(by_hour) or 1
    lines += ["", "Blocks by hour of day"]
    lines += _table(["hour", "blocks", ""],
                    [[f"{h:02d}:00", n, "#" * round(30 * n / peak)] for h, n in enumerate(by_hour)],
                    right=(1,))

    daily = summary["daily"]
    lines += ["", "Per day" + (f" (last {DAYS_SHOWN} of {len(daily)} days; all in --json)"
                               if len(daily) > DAYS_SHOWN else "")]
    lines += _table(["date", "requests", "blocked", "top category"],
                    [[d["date"], d["requests"], d["blocked"], _top_category(d["by_category"])]
                     for d in daily[-DAYS_SHOWN:]], right=(1, 2))
    if inp["bad_examples"]:
        lines += ["", "Skipped lines (first few):"] + ["  " + e for e in inp["bad_examples"]]
    if "charts" in summary:
        lines += ["", "Charts:"] + ["  " + p for p in summary["charts"]]
    return "\n".join(lines) + "\n"


def _top_category(by_category: dict[str, int]) -> str:
    if not by_category:
        return "-"
    cat, n = max(by_category.items(), key=lambda kv: kv[1])
    return f"{cat} ({n:,})"


