"""Run the date-sensitive tests with the clock moved to the moments where date code breaks.

The moments are computed from today, so the run means the same thing on any day: a few seconds
before the next local midnight, the next two daylight-saving changes (Europe/Bucharest, the
shipped examples' zone), the end of the year and the end of February. Each run is the ordinary
pytest with ``--at`` (see ``tests/conftest.py``).

    python -m tests.run_at_dates [pytest arguments]
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Bucharest")
UTC = dt.timezone.utc
#: Tests that compare dates, times and ages of files and records.
DATE_SENSITIVE = ["tests/core", "tests/proxy", "tests/reporting", "tests/stats", "tests/labels",
                  "tests/cli"]
BEFORE = dt.timedelta(seconds=3)


def dst_changes(start: dt.datetime, zone: ZoneInfo, count: int = 2) -> list[dt.datetime]:
    """The next ``count`` instants (UTC) at which ``zone``'s offset changes, to the hour."""
    found: list[dt.datetime] = []
    t = start.replace(minute=0, second=0, microsecond=0)
    offset = t.astimezone(zone).utcoffset()
    while len(found) < count and t < start + dt.timedelta(days=400):
        t += dt.timedelta(hours=1)
        now_offset = t.astimezone(zone).utcoffset()
        if now_offset != offset:
            found.append(t)
            offset = now_offset
    return found


def moments(now: dt.datetime) -> dict[str, dt.datetime]:
    local = now.astimezone(ZONE)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), ZONE)
    year_end = dt.datetime(now.year + 1, 1, 1, tzinfo=UTC)
    march = dt.datetime(now.year + (now.month >= 3), 3, 1, tzinfo=UTC)
    picked = {"local midnight": midnight.astimezone(UTC), "new year (UTC)": year_end,
              "end of February (UTC)": march}
    for i, change in enumerate(dst_changes(now, ZONE)):
        picked[f"daylight-saving change {i + 1}"] = change
    return {name: t - BEFORE for name, t in picked.items()}


def main(argv: list[str]) -> int:
    failed = []
    for name, at in moments(dt.datetime.now(UTC)).items():
        print(f"== {name}: clock at {at.isoformat()}", flush=True)
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               f"--at={at.isoformat()}", *DATE_SENSITIVE, *argv]
        if subprocess.call(cmd) != 0:
            failed.append(name)
    if failed:
        print(f"failed at: {', '.join(failed)}")
        return 1
    print(f"passed at all {len(moments(dt.datetime.now(UTC)))} moments")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
