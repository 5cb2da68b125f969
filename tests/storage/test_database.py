"""The storage layer on SQLite and on a real PostgreSQL server: migrations, constraints,
settings that keep data safe."""

from __future__ import annotations

import stat
import threading
import time

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage import Database, metadata
from storage import tables as t


@pytest.fixture
def db(database_url: str):  # type: ignore[no-untyped-def]
    d = Database(database_url)
    d.upgrade()
    yield d
    d.dispose()


def test_migrations_build_exactly_the_declared_tables(db: Database) -> None:
    assert db.revision() == db.head() == "0004_decisions"
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_downgrade_removes_the_tables(db: Database) -> None:
    db.upgrade()
    assert db.revision() == db.head()
    db.downgrade("base")
    assert db.revision() is None
    names = set(sa.inspect(db.engine).get_table_names())
    assert not {tbl.name for tbl in metadata.sorted_tables} & names
    db.upgrade()
    assert db.revision() == db.head()


def _account(name: str = "ana", role: str = "owner") -> dict[str, object]:
    return {"username": name, "password_hash": "x", "role": role, "created": time.time()}


def test_the_database_refuses_duplicate_names_and_unknown_roles(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(t.accounts.insert().values(**_account()))
    with pytest.raises(sa.exc.IntegrityError):
        with db.engine.begin() as conn:
            conn.execute(t.accounts.insert().values(**_account()))
    with pytest.raises(sa.exc.IntegrityError):
        with db.engine.begin() as conn:
            conn.execute(t.accounts.insert().values(**_account("bob", role="superuser")))
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.accounts)).scalar() == 1


def test_deleting_an_account_ends_its_sessions(db: Database) -> None:
    now = time.time()
    with db.engine.begin() as conn:
        aid = conn.execute(t.accounts.insert().values(**_account())).inserted_primary_key[0]
        conn.execute(t.sessions.insert().values(token_hash="h" * 64, account_id=aid, csrf="c",
                                                created=now, last_seen=now, expires=now + 60))
        conn.execute(t.accounts.delete().where(t.accounts.c.id == aid))
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.sessions)).scalar() == 0


def test_a_failed_transaction_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        with db.engine.begin() as conn:
            conn.execute(t.audit_log.insert().values(ts=time.time(), action="test"))
            raise RuntimeError("crash in the middle")
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.audit_log)).scalar() == 0


def test_concurrent_writers_lose_nothing(db: Database) -> None:
    def write(n: int) -> None:
        for i in range(20):
            with db.engine.begin() as conn:
                conn.execute(t.audit_log.insert().values(ts=time.time(), action=f"w{n}-{i}"))
    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.audit_log)).scalar() == 80


def test_sqlite_is_private_in_wal_mode_and_shares_the_reporting_file(tmp_path) -> None:
    from reporting.store import Store, default_path
    db = Database.open(tmp_path)
    path = tmp_path / "kidgate.db"
    assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    # The reporting store and the admin tables live side by side in one file.
    store = Store(default_path(tmp_path))
    assert store.revision() == db.head()
    store.add_report(url="http://x.test/", category="sexual", profile="kid", reason="r",
                     hotline_country="RO")
    store.close()
    names = set(sa.inspect(db.engine).get_table_names())
    assert {"reports", "admin_accounts", "alembic_version"} <= names
    db.dispose()


@pytest.mark.postgres
def test_postgresql_really_runs(postgres_server_url: str) -> None:
    """Guard: the PostgreSQL parameter of these tests talks to a real server."""
    engine = sa.create_engine(postgres_server_url)
    with engine.connect() as conn:
        assert "PostgreSQL" in conn.execute(sa.text("SELECT version()")).scalar()
    engine.dispose()


def test_processes_starting_at_once_migrate_once(database_url: str) -> None:
    """Several proxies of a school start together against one database."""
    import subprocess
    import sys
    code = ("import sys; from storage import Database; d = Database(sys.argv[1]); d.upgrade(); "
            "print(d.revision())")
    procs = [subprocess.Popen([sys.executable, "-c", code, database_url],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err for _, err in results]
    assert [out.strip() for out, _ in results] == [Database(database_url).head()] * 4


def test_an_upgrade_keeps_the_accounts_made_before_it(database_url: str) -> None:
    db = Database(database_url)
    db.upgrade("0001_admin")
    with db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO admin_accounts (username, password_hash, role, created)"
                             " VALUES ('mum', 'h', 'owner', 1)"))
    db.upgrade()
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(t.accounts)).one()
    assert (row.username, row.role, row.totp_secret, row.totp_last_step) == \
        ("mum", "owner", None, None)
    db.dispose()


def test_the_head_revision_read_without_alembic_is_alembics() -> None:
    from storage.db import head_revision
    d = Database("sqlite://")
    assert head_revision() == d.head()


def test_needs_upgrade_asks_one_question_and_doubts_everything_else(database_url: str) -> None:
    d = Database(database_url)
    try:
        assert d.needs_upgrade()  # no version table yet
        d.upgrade()
        assert not d.needs_upgrade()
        with d.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0003_reporting'"))
        assert d.needs_upgrade()
    finally:
        d.dispose()


_WITHOUT_ALEMBIC = """
import sys
from storage.db import Database
url = sys.stdin.readline().strip()
db = Database(url)
if db.needs_upgrade():
    db.upgrade_in_child()
Database.shared(url)  # what the proxy's parts do next
assert "alembic" not in sys.modules, "the migration tool stayed in this process"
from sqlalchemy import text
with db.engine.connect() as conn:
    print(conn.execute(text("SELECT version_num FROM alembic_version")).scalar())
"""


def test_a_process_that_opens_the_database_keeps_no_migration_tool(database_url: str) -> None:
    """kidgate run migrates in a child process at start: the long-lived proxy neither imports
    Alembic for a fresh database nor for one already at the head revision."""
    import subprocess
    import sys

    from storage.db import head_revision
    for _ in range(2):  # a fresh database, then the same one at head
        proc = subprocess.run([sys.executable, "-c", _WITHOUT_ALEMBIC], input=database_url,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == head_revision()


def test_a_child_migration_refuses_a_newer_schema_with_its_reason(database_url: str) -> None:
    from storage import DatabaseError
    d = Database(database_url)
    try:
        d.upgrade()
        with d.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
        assert d.needs_upgrade()
        with pytest.raises(DatabaseError, match="newer than this kidgate"):
            d.upgrade_in_child()
    finally:
        d.dispose()
