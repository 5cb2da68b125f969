"""Faults under the internal pages, on real files: a database another program keeps locked, a
read-only file system, a full disk. The child gets a clear "not saved, try again" page (503),
the log names the database, nothing is half-written, and the same link works once the fault is
gone: a request is acknowledged only after it is on disk."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reporting import store as store_mod
from reporting.links import block_links
from reporting.store import Store
from reporting.tokens import Signer
from reporting.web import create_app
from storage import db as storage_db

BASE = "http://kidgate.internal"
URL = "https://casino.example/play"


@pytest.fixture(autouse=True)
def quick_locks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A locked database fails within a second here instead of the proxy's 15 seconds."""
    monkeypatch.setattr(storage_db, "BUSY_TIMEOUT_MS", 200)
    monkeypatch.setattr(store_mod, "LOCK_BUDGET", 0.5)


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KB file system of its own (tmpfs), so that it can fill up or turn read-only."""
    where = tmp_path / "disk"
    where.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=512k", "tmpfs", str(where)):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _ask(client, signer: Signer) -> str:  # type: ignore[no-untyped-def]
    link = block_links(url=URL, category="gambling", profile_name="ana", reason="list ut1",
                       signer=signer, language="en").ask_url
    body = client.get(link[len(BASE):], base_url=BASE).get_data(as_text=True)
    return re.search(r'name="t" value="([^"]+)"', body)[1]


def _post(client, token: str):  # type: ignore[no-untyped-def]
    return client.post("/ask", data={"t": token, "message": "homework"}, base_url=BASE,
                       headers={"Origin": BASE})


def _requests(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM access_requests").fetchone()[0]


def _assert_not_saved(resp, caplog: pytest.LogCaptureFixture, db: Path) -> None:  # type: ignore[no-untyped-def]
    body = resp.get_data(as_text=True)
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "60"
    assert "could not save this just now" in body and "Traceback" not in body
    assert any(str(db) in r.getMessage() and r.levelno >= logging.ERROR for r in caplog.records)


def test_a_locked_database_answers_try_again_and_the_link_still_works(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "kidgate.db"
    signer = Signer(b"s" * 32)
    store = Store(db)
    store.query("SELECT 1")  # the database exists, as on any machine that ran kidgate before
    client = create_app(store, signer, {"country": "RO"}).test_client()
    token = _ask(client, signer)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program holds the database
    try:
        _assert_not_saved(_post(client, token), caplog, db)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _requests(db) == 0
    resp = _post(client, token)  # the token was not used up by the failed attempt
    assert resp.status_code == 200 and _requests(db) == 1


def test_a_read_only_file_system(small_disk: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = small_disk / "kidgate.db"
    signer = Signer(b"s" * 32)
    store = Store(db)
    store.query("SELECT 1")
    client = create_app(store, signer, {"country": "RO"}).test_client()
    token = _ask(client, signer)
    store.close()  # as after a restart: an SD card that fails is remounted read-only
    assert _mount("-o", "remount,ro", str(small_disk))
    _assert_not_saved(_post(client, token), caplog, db)
    store.close()
    assert _mount("-o", "remount,rw", str(small_disk))
    assert _post(client, token).status_code == 200 and _requests(db) == 1


def test_a_full_disk(small_disk: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = small_disk / "kidgate.db"
    signer = Signer(b"s" * 32)
    store = Store(db)
    store.query("SELECT 1")
    client = create_app(store, signer, {"country": "RO"}).test_client()
    token = _ask(client, signer)
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    _assert_not_saved(_post(client, token), caplog, db)
    filler.unlink()
    assert _post(client, token).status_code == 200 and _requests(db) == 1
