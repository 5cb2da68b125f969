"""Decision-log rotation and retention on real files: day boundaries (injected clock), the
retention period, the size cap, ``retention_days: 0``, old single-file logs, and disks that
refuse to rotate, write or delete."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kidgate import stats
from kidgate.decisionlog import DecisionLog, LogFiles, Retention, record
from policies.core import Verdict

UTC = dt.timezone.utc
#: 2026-11-30 12:00 UTC.
NOON = dt.datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()
DAY = 86_400.0


class Clock:
    """The log's idea of now; tests move it, the files stay real."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def rec(host: str, ts: float) -> dict[str, Any]:
    return record(client="192.168.1.20", profile="anna", host=host, verdict=Verdict("allow"),
                  phase="request", method="GET", now=ts)


def hosts(path: Path) -> list[str]:
    return [json.loads(line)["host"] for line in path.read_text().splitlines()]


def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def lines_in(path: Path) -> int:
    try:
        return len(path.read_bytes().splitlines())
    except OSError:
        return 0


def text_of(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:  # between a rotation and the next write
        return ""


def new_log(tmp_path: Path, clock: Clock, **kw: Any) -> DecisionLog:
    kw.setdefault("tick", 0.02)
    return DecisionLog(tmp_path / "decisions.jsonl", clock=clock, tz=UTC, **kw)


def names(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


# -- day boundary ---------------------------------------------------------------------------

def test_first_write_of_a_new_day_rotates(tmp_path):
    clock = Clock(NOON)
    log = new_log(tmp_path, clock, tick=60.0)  # only a write wakes the thread
    for i in range(3):
        log.write(rec(f"mon{i}.test", clock.t))
    wait_for(lambda: lines_in(tmp_path / "decisions.jsonl") == 3)
    clock.t += DAY  # 2026-12-01 12:00
    log.write(rec("tue0.test", clock.t))
    log.close(timeout=60)
    assert names(tmp_path) == ["decisions-2026-11-30.jsonl", "decisions.jsonl"]
    assert hosts(tmp_path / "decisions-2026-11-30.jsonl") == ["mon0.test", "mon1.test",
                                                               "mon2.test"]
    assert hosts(tmp_path / "decisions.jsonl") == ["tue0.test"]


def test_log_files_are_not_readable_by_other_users(tmp_path):
    old = os.umask(0o022)
    try:
        clock = Clock(NOON)
        log = new_log(tmp_path, clock, tick=60.0)
        log.write(rec("mon0.test", clock.t))
        wait_for(lambda: lines_in(tmp_path / "decisions.jsonl") == 1)
        log.close(timeout=60)
    finally:
        os.umask(old)
    assert (tmp_path / "decisions.jsonl").stat().st_mode & 0o007 == 0


def test_idle_log_rotates_at_local_midnight(tmp_path):
    zone = dt.timezone(dt.timedelta(hours=2))  # local midnight is 22:00 UTC
    clock = Clock(dt.datetime(2026, 11, 30, 21, 0, tzinfo=UTC).timestamp())
    log = DecisionLog(tmp_path / "decisions.jsonl", clock=clock, tz=zone, tick=0.02)
    log.write(rec("late.test", clock.t))
    wait_for(lambda: lines_in(tmp_path / "decisions.jsonl") == 1)
    clock.t += 1800  # 23:30 local: same day
    time.sleep(0.1)
    assert names(tmp_path) == ["decisions.jsonl"]
    clock.t += 1860  # 00:01 local, no write needed
    wait_for(lambda: (tmp_path / "decisions-2026-11-30.jsonl").exists())
    log.close(timeout=60)
    assert hosts(tmp_path / "decisions-2026-11-30.jsonl") == ["late.test"]
    assert not (tmp_path / "decisions.jsonl").exists()  # an empty day leaves no file


def test_idle_thread_wakes_for_midnight_not_just_on_its_tick(tmp_path):
    """With the proxy's one-minute tick, an idle log still rotates right after midnight: the
    thread sleeps until midnight when that comes first. The clock runs in real time here."""
    start = time.monotonic()
    base = dt.datetime(2026, 11, 30, 23, 59, 59, 700_000, tzinfo=UTC).timestamp()
    clock = lambda: base + (time.monotonic() - start)  # noqa: E731 - midnight in 0.3 s
    log = DecisionLog(tmp_path / "decisions.jsonl", clock=clock, tz=UTC, tick=60.0)
    log.write(rec("late.test", base))
    wait_for(lambda: lines_in(tmp_path / "decisions.jsonl") == 1)
    wait_for(lambda: (tmp_path / "decisions-2026-11-30.jsonl").exists(), timeout=5)
    log.close(timeout=60)


def test_a_new_part_sorts_after_existing_parts_even_when_older_ones_are_gone(tmp_path):
    files = LogFiles(tmp_path / "decisions.jsonl")
    day = dt.date(2026, 11, 30)
    for part in (1, 2):  # part 0 was deleted by the size cap
        files.name_for(day, part).write_text(f"part {part}\n")
    files.current.write_text("newest\n")
    assert files.rotate(day).name == "decisions-2026-11-30.3.jsonl"
    assert [r.path.read_text() for r in files.rotated()] == ["part 1\n", "part 2\n", "newest\n"]


def test_an_empty_day_makes_no_file(tmp_path):
    clock = Clock(NOON)
    log = new_log(tmp_path, clock)
    log.write(rec("a.test", clock.t))
    wait_for(lambda: lines_in(tmp_path / "decisions.jsonl") == 1)
    clock.t += DAY
    wait_for(lambda: (tmp_path / "decisions-2026-11-30.jsonl").exists())
    clock.t += 3 * DAY  # three quiet days
    time.sleep(0.1)
    log.write(rec("b.test", clock.t))
    log.close(timeout=60)
    assert names(tmp_path) == ["decisions-2026-11-30.jsonl", "decisions.jsonl"]


def test_an_old_single_file_log_is_rotated_under_its_last_day(tmp_path):
    """A ``decisions.jsonl`` of an earlier version (no rotation) is closed at start-up under
    the day of its last write and then ages like any other day."""
    old = tmp_path / "decisions.jsonl"
    old.write_text("".join(json.dumps(rec(f"old{i}.test", NOON - 3 * DAY)) + "\n"
                           for i in range(5)))
    last = NOON - 3 * DAY
    os.utime(old, (last, last))
    clock = Clock(NOON)
    log = new_log(tmp_path, clock)
    log.write(rec("new.test", clock.t))
    log.close(timeout=60)
    assert names(tmp_path) == ["decisions-2026-11-27.jsonl", "decisions.jsonl"]
    assert hosts(tmp_path / "decisions-2026-11-27.jsonl") == [f"old{i}.test" for i in range(5)]
    assert hosts(tmp_path / "decisions.jsonl") == ["new.test"]


def test_an_old_single_file_log_past_retention_is_deleted(tmp_path):
    old = tmp_path / "decisions.jsonl"
    old.write_text(json.dumps(rec("ancient.test", NOON - 60 * DAY)) + "\n")
    os.utime(old, (NOON - 60 * DAY, NOON - 60 * DAY))
    log = new_log(tmp_path, Clock(NOON), retention=Retention(days=30))
    log.close(timeout=60)
    assert names(tmp_path) == []


def test_a_cut_off_last_line_is_not_glued_to_the_next_record(tmp_path):
    current = tmp_path / "decisions.jsonl"
    current.write_text(json.dumps(rec("whole.test", NOON)) + "\n" + '{"ts": 17')  # a crash
    os.utime(current, (NOON, NOON))  # written on the log's day, whatever today's date is
    log = new_log(tmp_path, Clock(NOON))
    log.write(rec("after.test", NOON))
    log.close(timeout=60)
    lines = current.read_text().splitlines()
    assert lines[1] == '{"ts": 17' and json.loads(lines[2])["host"] == "after.test"


# -- retention period and size cap ----------------------------------------------------------

def dated(tmp_path: Path, day: dt.date, part: int = 0, size: int = 100) -> Path:
    path = LogFiles(tmp_path / "decisions.jsonl").name_for(day, part)
    path.write_bytes(b"x" * (size - 1) + b"\n")
    return path


def test_retention_deletes_only_files_older_than_the_period(tmp_path):
    today = dt.date(2026, 11, 30)
    ages = (45, 31, 30, 29, 1)  # days before today
    files = {age: dated(tmp_path, today - dt.timedelta(days=age)) for age in ages}
    gz = tmp_path / "decisions-2026-10-01.jsonl.gz"  # compressed by hand: still ours
    gz.write_bytes(b"\x1f\x8b")
    others = [tmp_path / n for n in ("decisions.jsonl.1", "notes-2020-01-01.jsonl",
                                     "decisions-2020-01-01.txt", "decisions-2020-13-45.jsonl",
                                     "kidgate.db")]
    for p in others:
        p.write_text("keep me\n")
    log = new_log(tmp_path, Clock(NOON), retention=Retention(days=30))
    log.close(timeout=60)
    assert not files[45].exists() and not files[31].exists() and not gz.exists()
    assert files[30].exists() and files[29].exists() and files[1].exists()
    assert all(p.exists() for p in others)


def test_size_cap_deletes_the_oldest_days_first(tmp_path):
    today = dt.date(2026, 11, 30)
    old = [dated(tmp_path, today - dt.timedelta(days=d), size=20_000) for d in (5, 4, 3, 2, 1)]
    cap = Retention(days=30, max_bytes=100_000)  # parts of 10,000 bytes
    log = new_log(tmp_path, Clock(NOON), retention=cap)
    log.close(timeout=60)
    # 5 x 20,000 plus room for today's part: the oldest one goes.
    assert [p.exists() for p in old] == [False, True, True, True, True]


def test_a_busy_day_is_split_and_everything_stays_under_the_cap(tmp_path):
    start = dt.datetime(2026, 11, 25, 0, 30, tzinfo=UTC).timestamp()
    clock = Clock(start)
    cap = Retention(days=30, max_bytes=60_000)  # parts of 6,000 bytes
    log = new_log(tmp_path, clock, retention=cap)
    written: list[str] = []
    for day in range(6):
        for chunk in range(12):  # 12 chunks of 5 records (~1,200 bytes) a day
            batch = [f"d{day}c{chunk}r{i}.test" for i in range(5)]
            for h in batch:
                log.write(rec(h, clock.t))
            written += batch
            last = batch[-1]
            wait_for(lambda: last in text_of(tmp_path / "decisions.jsonl"))
            total = sum(p.stat().st_size for p in tmp_path.iterdir())
            assert total <= cap.max_bytes + 1_500, (day, chunk, total)  # one chunk over at most
            clock.t += 7000  # under two hours: 12 chunks a day
        clock.t = start + (day + 1) * DAY
    log.close(timeout=60)
    files = stats.log_files(tmp_path)
    kept = [h for p in files for h in hosts(p)]
    assert kept == written[-len(kept):]  # the newest, complete and in time order
    assert len(kept) < len(written)  # and the oldest went
    parts = [p.name for p in files if p.name.startswith("decisions-2026-11-30")]
    # ~13,800 bytes a day in parts of 6,000 (checked between chunks of ~1,150): two parts.
    assert parts == ["decisions-2026-11-30.jsonl", "decisions-2026-11-30.1.jsonl"]


def test_retention_change_applies_without_restart(tmp_path):
    today = dt.date(2026, 11, 30)
    ten = dated(tmp_path, today - dt.timedelta(days=10))
    two = dated(tmp_path, today - dt.timedelta(days=2))
    log = new_log(tmp_path, Clock(NOON), retention=Retention(days=30))
    log.write(rec("a.test", NOON))
    wait_for(lambda: lines_in(tmp_path / "decisions.jsonl") == 1)
    assert ten.exists()
    log.apply(Retention(days=7))
    wait_for(lambda: not ten.exists())
    log.close(timeout=60)
    assert two.exists()


# -- retention_days: 0 ----------------------------------------------------------------------

def test_zero_days_keeps_no_log_at_all(tmp_path):
    today = dt.date(2026, 11, 30)
    old = [dated(tmp_path, today), dated(tmp_path, today - dt.timedelta(days=3))]
    (tmp_path / "decisions.jsonl").write_text(json.dumps(rec("before.test", NOON)) + "\n")
    log = new_log(tmp_path, Clock(NOON), retention=Retention(days=0))
    for i in range(50):
        log.write(rec(f"h{i}.test", NOON))
    log.close(timeout=60)
    assert names(tmp_path) == [] and not any(p.exists() for p in old)
    assert log.dropped == 0  # not dropped: never queued


def test_switching_to_zero_deletes_and_back_writes_again(tmp_path):
    clock = Clock(NOON)
    log = new_log(tmp_path, clock)
    log.write(rec("kept.test", clock.t))
    wait_for(lambda: lines_in(tmp_path / "decisions.jsonl") == 1)
    log.apply(Retention(days=0))
    wait_for(lambda: names(tmp_path) == [])
    log.write(rec("never.test", clock.t))
    time.sleep(0.1)
    assert names(tmp_path) == []
    log.apply(Retention(days=30))
    log.write(rec("again.test", clock.t))
    log.close(timeout=60)
    assert hosts(tmp_path / "decisions.jsonl") == ["again.test"]


# -- failures: logged, filtering goes on, order kept ----------------------------------------

def test_undeletable_old_file_is_logged_and_logging_goes_on(tmp_path, caplog):
    """An old day that is a directory (cannot be unlinked) stays, with a warning; the rest of
    the clean-up and the writing go on."""
    today = dt.date(2026, 11, 30)
    stuck = LogFiles(tmp_path / "decisions.jsonl").name_for(today - dt.timedelta(days=40))
    stuck.mkdir()
    (stuck / "inside").write_text("x")
    gone = dated(tmp_path, today - dt.timedelta(days=41))
    caplog.set_level(logging.WARNING, logger="kidgate")
    log = new_log(tmp_path, Clock(NOON), retention=Retention(days=30))
    for i in range(20):
        log.write(rec(f"h{i}.test", NOON))
    log.close(timeout=60)
    assert stuck.is_dir() and not gone.exists()
    assert hosts(tmp_path / "decisions.jsonl") == [f"h{i}.test" for i in range(20)]
    warnings = [r.getMessage() for r in caplog.records if "cannot delete" in r.getMessage()]
    assert len(warnings) == 1 and str(stuck) in warnings[0]


def test_unwritable_log_keeps_records_in_order_until_it_works_again(tmp_path, caplog):
    """The log's path is taken by a directory: writes fail and are logged (once), write()
    never raises, and when the path is free again every record arrives, in order."""
    current = tmp_path / "decisions.jsonl"
    current.mkdir()
    caplog.set_level(logging.WARNING, logger="kidgate")
    log = new_log(tmp_path, Clock(NOON))
    for i in range(30):
        log.write(rec(f"h{i}.test", NOON))
    wait_for(lambda: any("cannot write" in r.getMessage() for r in caplog.records))
    time.sleep(0.1)
    for i in range(30, 60):
        log.write(rec(f"h{i}.test", NOON))
    current.rmdir()
    wait_for(lambda: lines_in(current) == 60)
    log.close(timeout=60)
    assert hosts(current) == [f"h{i}.test" for i in range(60)]
    assert sum("cannot write" in r.getMessage() for r in caplog.records) == 1
    assert any("written again" in r.getMessage() for r in caplog.records)
    assert log.dropped == 0 and log.lost == 0


def test_failed_rotation_is_logged_and_writing_goes_on(tmp_path, caplog):
    """A real rename failure: the dated name would be longer than the file system allows.
    The records of both days stay in the current file, in order."""
    current = tmp_path / ("x" * 244 + ".jsonl")  # 250 bytes; with -YYYY-MM-DD: 261 > 255
    caplog.set_level(logging.WARNING, logger="kidgate")
    clock = Clock(NOON)
    log = DecisionLog(current, clock=clock, tz=UTC, tick=0.02)
    log.write(rec("mon.test", clock.t))
    wait_for(lambda: lines_in(current) == 1)
    clock.t += DAY
    log.write(rec("tue.test", clock.t))
    wait_for(lambda: lines_in(current) == 2)
    log.close(timeout=60)
    assert hosts(current) == ["mon.test", "tue.test"]
    assert any("cannot rotate" in r.getMessage() for r in caplog.records)


def test_a_deleted_current_file_is_started_again(tmp_path):
    """Someone deleted decisions.jsonl by hand: new records go to a new, visible file."""
    log = new_log(tmp_path, Clock(NOON))
    log.write(rec("a.test", NOON))
    current = tmp_path / "decisions.jsonl"
    wait_for(lambda: lines_in(current) == 1)
    current.unlink()
    time.sleep(0.1)  # a few ticks: the thread notices
    log.write(rec("b.test", NOON))
    log.close(timeout=60)
    assert hosts(current) == ["b.test"]


def test_write_never_blocks_when_the_disk_is_gone(tmp_path):
    (tmp_path / "decisions.jsonl").mkdir()
    log = new_log(tmp_path, Clock(NOON), max_queue=100)
    start = time.monotonic()
    for i in range(20_000):
        log.write(rec(f"h{i}.test", NOON))
    assert time.monotonic() - start < 2.0
    log.close(timeout=60)
    assert log.dropped > 0 and log.dropped + log.lost == 20_000


@pytest.mark.parametrize("days,expected", [(1, ["2026-11-29", "2026-11-30"]),
                                           (2, ["2026-11-28", "2026-11-29", "2026-11-30"])])
def test_retention_days_counts_whole_days_before_today(tmp_path, days, expected):
    today = dt.date(2026, 11, 30)
    for back in range(5):
        dated(tmp_path, today - dt.timedelta(days=back))
    result = LogFiles(tmp_path / "decisions.jsonl").prune(Retention(days=days), today)
    assert not result.failed
    assert [n[10:20] for n in names(tmp_path)] == expected


# -- wiring: the proxy's runtime --------------------------------------------------------------

def test_runtime_takes_the_log_section_and_applies_a_reload(tmp_path):
    from proxy_addons.runtime import Runtime
    cfg = tmp_path / "kidgate.yaml"
    cfg.write_text("profiles: {child: {age: 10}}\nlog: {retention_days: 5, max_mb: 20}\n")
    data = tmp_path / "data"
    data.mkdir()
    old = LogFiles(data / "decisions.jsonl").name_for(dt.date.today() - dt.timedelta(days=3))
    old.write_text("{}\n")
    rt = Runtime.start(cfg, data_dir=data, with_classifier=False, site_labels=False)
    try:
        assert rt.decisions is not None
        assert rt.decisions.retention == Retention(days=5, max_bytes=20 * 1024 * 1024)
        time.sleep(0.1)
        assert old.exists()
        cfg.write_text("profiles: {child: {age: 10}}\nlog:\n  retention_days: 0\n")
        assert rt.maybe_reload(every=0)
        assert rt.decisions.retention.days == 0
        wait_for(lambda: not old.exists())
    finally:
        rt.decisions.close()


# -- the system clock jumping ------------------------------------------------------------------

def test_a_clock_that_jumps_back_and_forth_loses_no_record(tmp_path):
    """A Raspberry Pi has no battery-backed clock: it may start a day behind and jump when
    NTP answers, or be set back by hand. Every record stays, in a file of its own day."""
    clock = Clock(NOON)
    log = new_log(tmp_path, clock)
    log.write(rec("before.test", clock.t))
    wait_for(lambda: lines_in(tmp_path / "decisions.jsonl") == 1)
    clock.t -= 3 * DAY  # set back three days
    log.write(rec("behind.test", clock.t))
    wait_for(lambda: "behind.test" in text_of(tmp_path / "decisions.jsonl"))
    clock.t += 3 * DAY + 3600  # NTP puts it right
    log.write(rec("after.test", clock.t))
    log.close(timeout=60)
    found = sorted(h for name in names(tmp_path) for h in hosts(tmp_path / name))
    assert found == ["after.test", "before.test", "behind.test"] and log.dropped == 0
    assert "decisions-2026-11-27.jsonl" in names(tmp_path)  # the set-back day has its own file
