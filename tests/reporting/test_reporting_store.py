"""Store: schema on first use, several writer processes, and kill -9 in the middle of writes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from reporting.store import SCHEMA_VERSION, Store

ROOT = Path(__file__).resolve().parents[2]


def _writer(path: str, worker: int, n: int) -> None:
    from reporting import access
    s = Store(path)
    for i in range(n):
        s.add_report(url=f"https://x.example/{worker}/{i}", category="sexual", profile=f"p{worker}",
                     reason="list", hotline_country="RO")
        access.request_access(s, profile=f"p{worker}", url=f"https://y.example/{worker}/{i}",
                              category="gambling")
        assert s.consume_nonce(f"{worker}-{i}", time.time() + 60)


def test_created_on_first_use_with_schema_version(tmp_path):
    s = Store(tmp_path / "sub" / "kidgate.db")
    assert s.schema_version() == SCHEMA_VERSION
    assert s.query("PRAGMA journal_mode")[0][0] == "wal"
    tables = {r[0] for r in s.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"reports", "access_requests", "approvals", "alert_log", "used_tokens"} <= tables
    cols = {r[1] for r in s.query("PRAGMA table_info(reports)")}
    assert not cols & {"content", "body", "html", "text"}  # never content


def test_database_is_not_readable_by_other_users(tmp_path):
    old = os.umask(0o022)
    try:
        s = Store(tmp_path / "kidgate.db")
        s.query("SELECT 1")
    finally:
        os.umask(old)
    for name in ("kidgate.db", "kidgate.db-wal", "kidgate.db-shm"):
        mode = (tmp_path / name).stat().st_mode & 0o777
        assert mode & 0o007 == 0, (name, oct(mode))


def test_several_processes_write_without_loss(tmp_path):
    path = str(tmp_path / "kidgate.db")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 40)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    s = Store(path)
    assert s.query("SELECT count(*) FROM reports")[0][0] == 160
    assert s.query("SELECT count(*) FROM access_requests")[0][0] == 160
    assert s.query("SELECT count(DISTINCT url) FROM reports")[0][0] == 160
    assert s.query("PRAGMA integrity_check")[0][0] == "ok"


_LOOP = """
import sys, time
from reporting.store import Store
s = Store(sys.argv[1])
i = 0
while True:
    rid = s.add_report(url=f"https://x.example/{i}", category="hate", profile="ana",
                       reason="list", hotline_country="UK")
    print(rid, flush=True)
    i += 1
"""

_HOLD = """
import sys, time
from reporting.store import Store
s = Store(sys.argv[1])
with s.transaction() as conn:
    conn.execute("INSERT INTO reports (created, url, profile, hotline_country) "
                 "VALUES (0, 'https://half.example/', 'ana', 'RO')")
    print("inside", flush=True)
    time.sleep(60)
"""


def _spawn(code: str, path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)


def test_killed_mid_write_loses_nothing_that_was_acknowledged(tmp_path):
    path = tmp_path / "kidgate.db"
    proc = _spawn(_LOOP, path)
    acknowledged = []
    assert proc.stdout is not None
    for line in proc.stdout:
        acknowledged.append(int(line))
        if len(acknowledged) >= 150:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    s = Store(path)
    ids = {r[0] for r in s.query("SELECT id FROM reports")}
    assert set(acknowledged) <= ids
    assert s.query("PRAGMA integrity_check")[0][0] == "ok"


def test_killed_inside_a_transaction_leaves_no_partial_row_and_no_lock(tmp_path):
    path = tmp_path / "kidgate.db"
    Store(path).add_report(url="https://before.example/", category=None, profile="ana",
                           reason="", hotline_country="RO")
    proc = _spawn(_HOLD, path)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "inside"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    s = Store(path)
    urls = [r[0] for r in s.query("SELECT url FROM reports")]
    assert urls == ["https://before.example/"]
    start = time.monotonic()
    s.add_report(url="https://after.example/", category=None, profile="ana", reason="",
                 hotline_country="RO")
    assert time.monotonic() - start < 2  # the dead writer's lock went with it


def test_report_and_nonce_are_written_together(store):
    assert store.add_report(url="https://a.example/", category="csam", profile="ana", reason="",
                            hotline_country="RO", nonce=("n1", time.time() + 60)) is not None
    assert store.add_report(url="https://a.example/", category="csam", profile="ana", reason="",
                            hotline_country="RO", nonce=("n1", time.time() + 60)) is None
    assert store.query("SELECT count(*) FROM reports")[0][0] == 1


def test_newer_schema_is_refused(tmp_path):
    import sqlite3

    import pytest
    path = tmp_path / "kidgate.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        Store(path).schema_version()


def test_report_rows_hold_only_the_agreed_facts(store):
    cols = [r[1] for r in store.query("PRAGMA table_info(reports)")]
    assert cols == ["id", "created", "url", "category", "profile", "reason", "hotline_country",
                    "hotline_name"]
