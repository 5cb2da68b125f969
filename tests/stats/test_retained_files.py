"""``kidgate stats`` over every retained file of the decision log: kidgate's daily files (and
their parts), another tool's rotations, the current file, and the single ``decisions.jsonl`` of
versions without rotation."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import time
from pathlib import Path

from kidgate import stats
from kidgate.decisionlog import DecisionLog
from tests.stats.logs import T0, make_records, write_log
from tests.stats.test_stats import run

UTC = dt.timezone.utc
DAY = 86_400.0


def by_day(records: list[dict]) -> dict[dt.date, list[dict]]:
    out: dict[dt.date, list[dict]] = {}
    for r in sorted(records, key=lambda r: r["ts"]):
        out.setdefault(dt.datetime.fromtimestamp(r["ts"], UTC).date(), []).append(r)
    return out


def test_files_are_read_in_time_order_by_name_not_modification_time(tmp_path):
    days = by_day(make_records(1500, seed=11, days=5))  # 2024-05-06 .. 2024-05-10
    d6, d7, d8, d9, d10 = sorted(days)
    write_log(tmp_path / "decisions.jsonl.1", days[d6])  # from logrotate, before upgrading
    write_log(tmp_path / "decisions-2024-05-07.jsonl", days[d7])
    half = len(days[d8]) // 2  # a busy day, split in two parts
    write_log(tmp_path / "decisions-2024-05-08.jsonl", days[d8][:half])
    write_log(tmp_path / "decisions-2024-05-08.1.jsonl", days[d8][half:])
    with gzip.open(tmp_path / "decisions-2024-05-09.jsonl.gz", "wt") as f:  # gzipped by hand
        f.writelines(json.dumps(r) + "\n" for r in days[d9])
    write_log(tmp_path / "decisions.jsonl", days[d10])
    (tmp_path / "decisions-2024-05-07.txt").write_text("not a log\n")
    (tmp_path / "decisions-2024-05-11.jsonl").mkdir()  # not a file
    # Copied without keeping times: the newest file now looks oldest.
    names = ["decisions.jsonl.1", "decisions-2024-05-07.jsonl", "decisions-2024-05-08.jsonl",
             "decisions-2024-05-08.1.jsonl", "decisions-2024-05-09.jsonl.gz", "decisions.jsonl"]
    for i, name in enumerate(names):
        os.utime(tmp_path / name, (T0 + 100 * DAY - i * DAY,) * 2)

    files = stats.log_files(tmp_path)
    assert [p.name for p in files] == names
    report = stats.ReadReport()
    stamps = [d.ts for d in stats.read_decisions(files, report)]
    assert stamps == sorted(stamps) and len(stamps) == sum(map(len, days.values()))
    assert report.bad_lines == 0


def test_stats_reads_what_the_log_wrote_across_days(tmp_path):
    """The real writer, three days on an injected clock; ``kidgate stats --data-dir`` sees
    every record of every file."""
    records = sorted(make_records(600, seed=5, days=3), key=lambda r: r["ts"])
    clock = [T0]
    log = DecisionLog(tmp_path / "decisions.jsonl", clock=lambda: clock[0], tz=UTC, tick=0.02)
    for i, r in enumerate(records):
        if r["ts"] >= clock[0] + DAY:  # next day: wait until the day's records are on disk
            _wait_written(tmp_path, count=i)
            clock[0] += DAY
        log.write(r)
    log.close(timeout=60)
    assert sorted(os.listdir(tmp_path)) == ["decisions-2024-05-06.jsonl",
                                            "decisions-2024-05-07.jsonl", "decisions.jsonl"]
    rc, out = run(["stats", "--data-dir", str(tmp_path), "--json", "--tz", "UTC"])
    doc = json.loads(out)
    assert rc == 0 and doc["input"]["records"] == len(records)
    assert [Path(f["path"]).name for f in doc["input"]["files"]] == [
        "decisions-2024-05-06.jsonl", "decisions-2024-05-07.jsonl", "decisions.jsonl"]
    assert [d["date"] for d in doc["daily"]] == ["2024-05-06", "2024-05-07", "2024-05-08"]


def _wait_written(directory: Path, count: int) -> None:
    def lines(p: Path) -> int:
        try:
            return len(p.read_bytes().splitlines())
        except OSError:  # renamed while we looked
            return 0
    deadline = time.monotonic() + 5
    while sum(lines(p) for p in directory.iterdir()) < count:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_old_single_file_layout_before_and_after_upgrading(tmp_path):
    """An earlier version's lone decisions.jsonl is read as it is; after the first start of
    this version it is a daily file and stats still counts it with the new records."""
    old = make_records(300, seed=9, days=4)
    write_log(tmp_path / "decisions.jsonl", old)
    last = max(r["ts"] for r in old)
    os.utime(tmp_path / "decisions.jsonl", (last, last))
    rc, out = run(["stats", "--data-dir", str(tmp_path), "--json"])
    assert rc == 0 and json.loads(out)["input"]["records"] == len(old)

    now = last + 2 * DAY
    new = [{**r, "ts": now + i} for i, r in enumerate(make_records(50, seed=10, days=1))]
    log = DecisionLog(tmp_path / "decisions.jsonl", clock=lambda: now, tz=UTC, tick=0.02)
    for r in new:
        log.write(r)
    log.close(timeout=60)
    day = dt.datetime.fromtimestamp(last, UTC).date().isoformat()
    assert sorted(os.listdir(tmp_path)) == [f"decisions-{day}.jsonl", "decisions.jsonl"]
    rc, out = run(["stats", "--data-dir", str(tmp_path), "--json"], now=now + DAY)
    doc = json.loads(out)
    assert rc == 0 and doc["input"]["records"] == len(old) + len(new)
    assert [Path(f["path"]).name for f in doc["input"]["files"]] == [f"decisions-{day}.jsonl",
                                                                     "decisions.jsonl"]


def test_only_daily_files_and_no_current_file(tmp_path):
    """After a quiet day there may be no decisions.jsonl at all: stats still reads the days."""
    recs = make_records(100, seed=2, days=1)
    write_log(tmp_path / "decisions-2024-05-06.jsonl", recs)
    rc, out = run(["stats", "--data-dir", str(tmp_path), "--json"])
    assert rc == 0 and json.loads(out)["input"]["records"] == len(recs)
