"""Store: schema on first use (and the upgrade of a database the hand-written SQLite code
made), several writer processes, and kill -9 in the middle of writes; on SQLite and on a real
PostgreSQL server."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from reporting import access
from reporting.store import Store
from storage import DatabaseError

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


def test_created_on_first_use_at_the_latest_revision(tmp_path):
    s = Store(tmp_path / "sub" / "kidgate.db")
    assert s.revision() == s.db.head()
    assert s.query("PRAGMA journal_mode")[0][0] == "wal"
    tables = set(sa.inspect(s.engine).get_table_names())
    assert {"reports", "access_requests", "approvals", "alert_log", "used_tokens"} <= tables
    cols = {c["name"] for c in sa.inspect(s.engine).get_columns("reports")}
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
import sqlalchemy as sa
with s.transaction() as conn:
    conn.execute(sa.text("INSERT INTO reports (created, url, profile, hotline_country) "
                         "VALUES (0, 'https://half.example/', 'ana', 'RO')"))
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


def test_a_newer_schema_is_refused(tmp_path):
    import sqlite3
    path = tmp_path / "kidgate.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 2")  # the hand-written schema of a newer kidgate
    conn.close()
    with pytest.raises(DatabaseError, match="newer"):
        Store(path).revision()


def test_a_revision_this_kidgate_does_not_know_is_refused(database_url):
    s = Store(database_url)
    with s.transaction() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    s.close()
    from storage import db as storage_db
    storage_db._shared.clear()  # as a kidgate started after the newer one migrated
    with pytest.raises(DatabaseError, match="9999_future.*newer"):
        Store(database_url).revision()


def test_a_wrong_url_and_an_unreachable_server_are_clear_errors():
    from tests.support.proxy import free_port
    with pytest.raises(DatabaseError, match="not a database URL"):
        Store("postgresql+psycopg://kidgate@:bad:port/x").db
    with pytest.raises(DatabaseError, match="SQLite or PostgreSQL"):
        Store("mysql://kidgate@127.0.0.1/kidgate").db
    url = f"postgresql+psycopg://kidgate:secret@127.0.0.1:{free_port()}/kidgate"
    with pytest.raises(DatabaseError, match="cannot use the database") as e:
        Store(url).db
    assert "secret" not in str(e.value)


# The schema the hand-written SQLite code created (schema version 1), kept verbatim: a
# database made by an earlier kidgate must come through the upgrade with everything in it.
_OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY, created REAL NOT NULL, url TEXT NOT NULL, category TEXT,
    profile TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', hotline_country TEXT,
    hotline_name TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS reports_profile_time ON reports(profile, created);
CREATE TABLE IF NOT EXISTS access_requests (
    id INTEGER PRIMARY KEY, created REAL NOT NULL, profile TEXT NOT NULL, url TEXT NOT NULL,
    host TEXT NOT NULL, category TEXT, reason TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied')),
    decided_by TEXT, decided_at REAL, expires REAL,
    scope TEXT CHECK (scope IS NULL OR scope IN ('url', 'host')));
CREATE INDEX IF NOT EXISTS access_requests_status ON access_requests(status, created);
CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY, request_id INTEGER REFERENCES access_requests(id),
    created REAL NOT NULL, profile TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('url', 'host')), target TEXT NOT NULL, expires REAL,
    approved_by TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS approvals_profile ON approvals(profile, revoked);
CREATE TABLE IF NOT EXISTS alert_log (
    id INTEGER PRIMARY KEY, created REAL NOT NULL, rule TEXT NOT NULL, rate_key TEXT NOT NULL,
    profile TEXT NOT NULL, category TEXT, url TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
    event_time REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'suppressed', 'queued',
                                           'digesting', 'digested')),
    channel TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS alert_log_key ON alert_log(rate_key, status, created);
CREATE TABLE IF NOT EXISTS used_tokens (nonce TEXT PRIMARY KEY, expires REAL NOT NULL);
"""


def _old_database(path: Path, *, admin_tables: bool) -> None:
    """A kidgate.db as the earlier kidgate left it: reporting rows in the hand-written schema,
    and (``admin_tables``) the admin app's tables at their last revision before this one."""
    import sqlite3
    if admin_tables:
        from storage import Database
        d = Database(f"sqlite:///{path}")
        d.upgrade("0002_totp")
        d.dispose()
    now = time.time()
    conn = sqlite3.connect(path)
    conn.executescript(_OLD_SCHEMA)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO reports (created, url, category, profile, reason, hotline_country)"
                 " VALUES (?, 'https://old.example/', 'csam', 'ana', 'list', 'RO')", (now,))
    conn.execute("INSERT INTO access_requests (created, profile, url, host, category, status,"
                 " decided_by, decided_at, scope) VALUES (?, 'ana', 'https://games.example/',"
                 " 'games.example', 'gambling', 'approved', 'mum', ?, 'host')", (now, now))
    conn.execute("INSERT INTO approvals (request_id, created, profile, scope, target,"
                 " approved_by) VALUES (1, ?, 'ana', 'host', 'games.example', 'mum')", (now,))
    conn.execute("INSERT INTO access_requests (created, profile, url, host, category)"
                 " VALUES (?, 'ben', 'https://chat.example/', 'chat.example', 'social')", (now,))
    conn.execute("INSERT INTO used_tokens (nonce, expires) VALUES ('used-before', ?)",
                 (now + 3600,))
    conn.commit()
    conn.close()


@pytest.mark.parametrize("admin_tables", [True, False], ids=["with-admin", "reporting-only"])
def test_a_database_of_the_earlier_kidgate_is_adopted_with_its_rows(tmp_path, admin_tables):
    path = tmp_path / "kidgate.db"
    _old_database(path, admin_tables=admin_tables)
    s = Store(path)
    assert s.revision() == s.db.head()
    assert [r["url"] for r in s.list_reports()] == ["https://old.example/"]
    index = access.ApprovalIndex(s, check_interval=0)
    assert index.is_approved("ana", "https://games.example/any") is not None  # old approval
    [pending] = access.list_requests(s, "pending")
    assert pending.profile == "ben"
    access.approve(s, pending.id, "1h", "dad")  # the adopted tables take new rows
    assert index.is_approved("ben", "https://chat.example/") is not None
    assert not s.consume_nonce("used-before", time.time() + 3600)  # a used link stays used
    assert s.add_report(url="https://new.example/", category=None, profile="ana", reason="",
                        hotline_country="RO") == 2
    assert s.query("PRAGMA integrity_check")[0][0] == "ok"


def test_the_store_works_the_same_on_every_backend(store):
    """Reports, requests, approvals and tokens through the public API, on SQLite and on the
    PostgreSQL server."""
    assert store.add_report(url="https://a.example/", category="hate", profile="ana",
                            reason="list", hotline_country="UK", nonce=("n", time.time() + 60)) == 1
    assert store.count_reports(profile="ana", since=time.time() - 60) == 1
    r = access.request_access(store, profile="ana", url="https://g.example/", category="gambling",
                              message="homework")
    again = access.request_access(store, profile="ana", url="https://g.example/",
                                  category="gambling", message="please")
    assert again.id == r.id and again.message == "please"
    a = access.approve(store, r.id, "always", "mum", scope="host")
    assert access.ApprovalIndex(store, check_interval=0).is_approved(
        "ana", "https://g.example/x") == a
    access.revoke_request(store, r.id, "mum")
    assert access.ApprovalIndex(store, check_interval=0).is_approved(
        "ana", "https://g.example/x") is None
    assert store.nonce_used("n") and not store.nonce_used("other")
