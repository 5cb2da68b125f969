"""A throwaway PostgreSQL server for the storage tests: Debian's binaries, a fresh cluster in a
temporary directory, a free port on 127.0.0.1, stopped when the tests end.

``make test`` (and so CI) installs Debian's ``postgresql`` package; the system's own cluster is
never used or started. ``KIDGATE_TEST_POSTGRES_URL`` points the tests at an existing server
instead. Without a server the PostgreSQL tests are skipped, except under ``CI=true``, where they
fail: CI must really run them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.proxy import free_port

USER = "kidgate"


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's binary directory (Debian keeps them off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def unavailable_reason() -> str | None:
    if os.environ.get("KIDGATE_TEST_POSTGRES_URL"):
        return None
    if pg_bin() is None:
        return "PostgreSQL is not installed (make test installs Debian's postgresql as root)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a postgres user to run the server as"
    return None


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a SQLAlchemy URL of a running server's maintenance database ``postgres``."""
    if url := os.environ.get("KIDGATE_TEST_POSTGRES_URL"):
        yield url
        return
    bindir = pg_bin()
    assert bindir is not None
    tmp = Path(tempfile.mkdtemp(prefix="kidgate-pg-"))
    data, sock = tmp / "data", tmp / "sock"
    sock.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        pw = pwd.getpwnam("postgres")
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
        os.chown(sock, pw.pw_uid, pw.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    logfile = tmp / "server.log"
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", USER, "-A", "trust",
                    "--no-sync", "-E", "UTF8", "--locale", "C"],
                   check=True, capture_output=True)
    opts = (f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off")
    subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(logfile),
                    "-o", opts, "-w", "-t", "60", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://{USER}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                        "stop"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


_counter = iter(range(1, 1_000_000))


def fresh_database(server_url: str) -> str:
    """A new, empty database on the server; returns its URL."""
    import sqlalchemy as sa
    name = f"kidgate_test_{os.getpid()}_{int(time.time() * 1000) % 10**9}_{next(_counter)}"
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return str(sa.make_url(server_url).set(database=name).render_as_string(hide_password=False))
