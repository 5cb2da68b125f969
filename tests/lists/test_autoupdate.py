"""Automatic list updates: the schedule (pure), and real updates in a child process against a
local HTTP server serving a UT1-layout tarball: a good one, a corrupt one, one that hangs."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lists import ListStore, ListWatcher, Source, build_store, default_store_path, watch_lists
from lists.autoupdate import (ALREADY_RUNNING, AutoUpdate, AutoUpdater, UpdateState, next_run, parse_auto_update,
                              read_state, state_path, update_command)
from tests.lists.conftest import make_tarball, make_ut1, write

BUCHAREST = ZoneInfo("Europe/Bucharest")


def at(day: str, hm: str, tz: dt.tzinfo = BUCHAREST) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=tz)


# -- the schedule ---------------------------------------------------------------------------------

def test_lists_never_updated_are_updated_soon_after_start() -> None:
    now = at("2027-05-10", "14:00")
    due = next_run(now, AutoUpdate(first_delay_minutes=5), UpdateState(), random.Random(0))
    assert due == now + dt.timedelta(minutes=5)


def test_after_a_success_the_next_update_is_at_the_quiet_hour_with_jitter() -> None:
    plan, rng = AutoUpdate(hour=3, jitter_minutes=60), random.Random(1)
    done = UpdateState(last_success=at("2027-05-10", "03:20").isoformat())
    due = next_run(at("2027-05-10", "03:25"), plan, done, rng)
    assert at("2027-05-11", "03:00") <= due < at("2027-05-11", "04:00")
    # Started in the evening after a success the night before: tonight, not in two days.
    due = next_run(at("2027-05-10", "22:00"), plan, done, rng)
    assert at("2027-05-11", "03:00") <= due < at("2027-05-11", "04:00")


def test_the_quiet_hour_is_local_time_on_a_daylight_saving_day() -> None:
    done = UpdateState(last_success=at("2027-03-27", "03:10").isoformat())
    due = next_run(at("2027-03-27", "12:00"), AutoUpdate(hour=4, jitter_minutes=0), done,
                   random.Random(0))
    assert due.astimezone(BUCHAREST).hour == 4 and due.date() == dt.date(2027, 3, 28)
    assert due.utcoffset() == dt.timedelta(hours=3)  # summer time from 03:00 that day


@pytest.mark.parametrize("failures, pause", [(1, 15), (2, 30), (3, 60), (8, 1440), (30, 1440)])
def test_failures_back_off_to_at_most_a_day(failures: int, pause: int) -> None:
    now = at("2027-05-10", "14:00")
    due = next_run(now, AutoUpdate(), UpdateState(failures=failures), random.Random(0))
    assert due - now == dt.timedelta(minutes=pause)


@pytest.mark.parametrize("value, expected", [
    (None, AutoUpdate()), (True, AutoUpdate()), (False, AutoUpdate(enabled=False)),
    ({"hour": 4, "jitter_minutes": 0}, AutoUpdate(hour=4, jitter_minutes=0)),
])
def test_config_values(value: object, expected: AutoUpdate) -> None:
    assert parse_auto_update(value) == expected


@pytest.mark.parametrize("value, message", [
    ("daily", "true, false or a mapping"), ({"hour": 24}, "hour"), ({"hour": True}, "hour"),
    ({"jitter_minutes": -1}, "jitter"), ({"when": 3}, "unknown keys when"),
    ({"enabled": "yes"}, "enabled"), ({"first_delay_minutes": "soon"}, "first_delay"),
])
def test_bad_config_values_say_which_key(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_auto_update(value)


def test_a_broken_state_file_reads_as_never_updated(tmp_path: Path) -> None:
    store = tmp_path / "lists.kglist"
    state_path(store).write_text("{not json")
    assert read_state(store) == UpdateState()
    state_path(store).write_text(json.dumps({"ok": True, "failures": 2, "unknown": 1}))
    assert read_state(store).failures == 2


# -- real updates ---------------------------------------------------------------------------------

@pytest.fixture
def upstream(http_dir: tuple[str, Path], tmp_path: Path) -> tuple[str, Path]:
    base, www = http_dir
    make_tarball(make_ut1(tmp_path / "upstream"), www / "blacklists.tar.gz")
    (www / "corrupt.tar.gz").write_bytes(
        (www / "blacklists.tar.gz").read_bytes()[:300] + b"\x00" * 5000)
    return base, www


def config_for(tmp_path: Path, url: str) -> Path:
    cfg = tmp_path / "kidgate.yaml"
    cfg.write_text(f"data_dir: {tmp_path / 'data'}\n"
                   f"lists:\n  sources:\n    - {{name: ut1, url: '{url}', format: ut1, "
                   f"min_bytes: 100}}\n")
    return cfg


def updater(tmp_path: Path, url: str, **kw: object) -> AutoUpdater:
    cfg = config_for(tmp_path, url)
    store = tmp_path / "data" / "lists.kglist"
    store.parent.mkdir(exist_ok=True)
    return AutoUpdater(store, AutoUpdate(), config=cfg, command=update_command(cfg, store), **kw)


def test_an_update_downloads_compiles_and_the_proxy_moves_to_it(upstream, tmp_path: Path) -> None:
    base, _ = upstream
    up = updater(tmp_path, f"{base}/blacklists.tar.gz")
    watcher = watch_lists(None, tmp_path / "data")
    watcher.interval = 0
    assert watcher.path == default_store_path()  # nothing downloaded yet: the shipped lists
    state = up.run_once()
    assert state.ok and state.failures == 0 and state.entries and state.entries > 5, state
    assert state.last_success == state.last_attempt
    assert watcher.current().lookup("http://porn.example/")
    assert watcher.path == up.store and watcher.reloads == 1
    assert read_state(up.store).ok is None  # run_once returns the state; the loop records it


@pytest.mark.parametrize("path, words", [("corrupt.tar.gz", "corrupt"),
                                         ("missing.tar.gz", "404"),
                                         ("hang/blacklists.tar.gz", "longer than")])
def test_a_failed_update_keeps_the_lists_in_use(upstream, tmp_path: Path, path: str,
                                               words: str) -> None:
    base, _ = upstream
    up = updater(tmp_path, f"{base}/{path}", run_timeout=4.0)
    build_store([Source("old", str(write(tmp_path / "old.txt", "old.test\n")), "domains",
                        "gambling")], up.store)
    before = up.store.read_bytes()
    state = up.run_once(UpdateState(failures=1))
    assert state.ok is False and state.failures == 2 and words in state.result, state
    assert up.store.read_bytes() == before
    with ListStore.open(up.store, verify=True) as s:
        assert s.lookup("http://old.test/")
    assert [p.name for p in up.store.parent.iterdir()] == ["lists.kglist"]


def test_progress_is_passed_on_and_a_second_update_waits_its_turn(upstream,
                                                                  tmp_path: Path) -> None:
    base, _ = upstream
    up = updater(tmp_path, f"{base}/blacklists.tar.gz")
    held = os.open(up.store.parent, os.O_RDONLY | os.O_DIRECTORY)  # as another update holds it
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        state = up.run_once()
        assert state.result == ALREADY_RUNNING and up.runs == 0 and not up.store.exists()
    finally:
        os.close(held)
    lines: list[str] = []
    state = up.run_once(progress=lines.append)
    assert state.ok and up.runs == 1
    assert any("ut1" in line for line in lines), lines
    up.run_once(progress=lambda line: 1 / 0)  # a broken display does not stop an update
    assert up.runs == 2 and read_state(up.store).ok is None


def test_the_background_thread_updates_records_and_stops(upstream, tmp_path: Path) -> None:
    base, _ = upstream
    cfg = config_for(tmp_path, f"{base}/blacklists.tar.gz")
    store = tmp_path / "data" / "lists.kglist"
    up = AutoUpdater(store, AutoUpdate(first_delay_minutes=0), config=cfg,
                     command=update_command(cfg, store)).start()
    try:
        deadline = time.monotonic() + 120
        while read_state(store).ok is not True:
            assert time.monotonic() < deadline, read_state(store)
            time.sleep(0.2)
    finally:
        up.stop()
    state = read_state(store)
    assert up.runs == 1 and state.next_run and state.next_run > state.last_success
    assert not up._thread.is_alive()
    info = subprocess.run([sys.executable, "-m", "lists.cli", "lists", "info", "--config",
                           str(cfg)], capture_output=True, text=True)
    assert info.returncode == 0, info.stderr
    assert str(store) in info.stdout and "automatic update: last attempt" in info.stdout
    assert "next " in info.stdout


def test_turned_off_it_never_runs(tmp_path: Path) -> None:
    up = AutoUpdater(tmp_path / "lists.kglist", AutoUpdate(enabled=False)).start()
    up.stop()
    assert up._thread is None and up.runs == 0 and not state_path(up.store).exists()


def test_a_watcher_without_a_fallback_is_unchanged(tmp_path: Path) -> None:
    store = tmp_path / "x.kglist"
    build_store([Source("t", str(write(tmp_path / "t.txt", "t.test\n")), "domains", "gambling")],
                store)
    assert ListWatcher(store).path == store
