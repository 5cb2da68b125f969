"""Opening the database and bringing its schema up to date."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

if TYPE_CHECKING:  # Alembic (~12 MB) is imported only by a process that migrates
    from alembic.config import Config as AlembicConfig

from kidgate.paths import PRIVATE_MODE

#: The same file the reporting store uses, so that a home gateway keeps one database.
DEFAULT_DB_NAME = "kidgate.db"
MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 10_000
#: pg_advisory_xact_lock key that serialises kidgate's migrations on a shared server.
_PG_LOCK_KEY = 0x6B696467617465  # "kidgate"
#: Seconds to wait for a database server to answer a connection: an unreachable server is an
#: error in seconds, not a hang.
CONNECT_TIMEOUT = 10
#: ``PRAGMA user_version`` of the hand-written reporting schema this file may hold; a higher
#: value was written by a kidgate newer than this one.
_LEGACY_SQLITE_VERSION = 1

_shared: dict[str, Database] = {}
_shared_lock = threading.Lock()


class DatabaseError(RuntimeError):
    """The configured database cannot be used: a wrong URL, a server that does not answer,
    a schema newer than this kidgate. The message says which and why, never the password."""


def default_url(data_dir: str | os.PathLike[str]) -> str:
    return f"sqlite:///{Path(data_dir) / DEFAULT_DB_NAME}"


def _sqlite_settings(dbapi_conn: Any, _record: Any) -> None:
    """Per connection: WAL lets readers run beside one writer; ``busy_timeout`` makes a writer
    wait for another process instead of failing; FULL sync keeps every commit on disk."""
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = FULL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


class Database:
    """One engine per process; thread-safe (SQLAlchemy pools connections per thread)."""

    def __init__(self, url: str) -> None:
        try:
            self.url = sa.make_url(url)
        except (sa.exc.ArgumentError, ValueError):
            raise DatabaseError(f"not a database URL: {_hide_password(url)!r} (expected "
                                "sqlite:///PATH or postgresql+psycopg://USER@HOST/DATABASE)") from None
        if self.url.get_backend_name() not in ("sqlite", "postgresql"):
            raise DatabaseError(f"{self.display}: kidgate stores its data in SQLite or PostgreSQL")
        if self.url.drivername == "postgresql":  # the driver kidgate ships, not psycopg2
            self.url = self.url.set(drivername="postgresql+psycopg")
        kwargs: dict[str, Any] = {"future": True}
        if self.url.get_backend_name() == "sqlite":
            path = self.url.database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                if not Path(path).exists():
                    # Created private: it names the sites children asked for.
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_MODE))
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
        self.engine: Engine = sa.create_engine(self.url, **kwargs)
        if self.url.get_backend_name() == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_settings)

    @classmethod
    def open(cls, data_dir: str | os.PathLike[str], url: str | None = None) -> Database:
        """The configured database (``url``), else the SQLite file in ``data_dir``; migrated.

        One engine per database and process: the admin app, the reporting store and the
        decision log's writer share its pool."""
        return cls.shared(url or default_url(data_dir))

    @classmethod
    def shared(cls, url: str) -> Database:
        """This process's handle on ``url``, created and migrated on first use."""
        with _shared_lock:
            key = url
            db = _shared.get(key)
            if db is None:
                db = cls(url)
                try:
                    if db.needs_upgrade():
                        db.upgrade()
                except BaseException:
                    db.dispose()
                    raise
                _shared[key] = db
            return db

    @property
    def display(self) -> str:
        """The URL with its password hidden, for messages and logs."""
        return self.url.render_as_string(hide_password=True)

    @property
    def backend(self) -> str:
        return self.url.get_backend_name()

    def needs_upgrade(self) -> bool:
        """Whether the schema is anything but this kidgate's head revision, asked with one
        query and without Alembic, so that a process opening an up-to-date database (the
        proxy, every start after the first) never loads the migration machinery. Any doubt
        (no version table, no database yet, an unknown revision) says yes: :meth:`upgrade`
        then decides, and refuses a newer schema."""
        try:
            with self.engine.connect() as conn:
                current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        except sa.exc.DBAPIError:
            return True
        return [row[0] for row in current] != [head_revision()]

    def upgrade_in_child(self) -> None:
        """:meth:`upgrade` in a short-lived child process: the long-lived proxy keeps none of
        Alembic's memory. The URL travels on stdin (a password never shows in ``ps``); a
        failure is a :class:`DatabaseError` with the child's message."""
        url = self.url.render_as_string(hide_password=False)
        proc = subprocess.run([sys.executable, "-m", "storage", "upgrade"], input=url,
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            message = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
            raise DatabaseError(message[0].removeprefix("kidgate: "))

    def _alembic(self) -> AlembicConfig:
        from alembic.config import Config as AlembicConfig
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Apply the migrations not yet applied, in one transaction per run.

        Several processes may start at once (the proxies of a school on one server, or
        ``kidgate run`` beside a ``kidgate admin`` command): one migrates while the others
        wait, then find nothing left to do."""
        from alembic import command
        cfg = self._alembic()
        try:
            with self._migration_lock(), self.engine.begin() as conn:
                if self.backend == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": _PG_LOCK_KEY})
                self._refuse_newer(conn)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
        except sa.exc.OperationalError as e:
            raise DatabaseError(f"cannot use the database {self.display}: "
                                f"{_first_line(e.orig or e)}") from e

    def _refuse_newer(self, conn: sa.Connection) -> None:
        """A database a newer kidgate migrated is left alone: its data would not fit."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory
        current = MigrationContext.configure(conn).get_current_revision()
        scripts = ScriptDirectory.from_config(self._alembic())
        if current is not None and current not in {s.revision for s in scripts.walk_revisions()}:
            raise DatabaseError(f"{self.display}: schema revision {current} is newer than this "
                                "kidgate knows; upgrade kidgate")
        if self.backend == "sqlite":
            version = conn.exec_driver_sql("PRAGMA user_version").scalar() or 0
            if version > _LEGACY_SQLITE_VERSION:
                raise DatabaseError(f"{self.display}: schema version {version} is newer than "
                                    "this kidgate; upgrade kidgate")

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """SQLite: a lock file beside the database (readers never block a schema check)."""
        path = self.url.database if self.backend == "sqlite" else None
        if not path or path == ":memory:":
            yield
            return
        with open(f"{path}.migrate-lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def downgrade(self, revision: str) -> None:
        from alembic import command
        cfg = self._alembic()
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)

    def revision(self) -> str | None:
        """The schema revision the database is at (None before the first migration)."""
        from alembic.runtime.migration import MigrationContext
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head(self) -> str | None:
        from alembic.script import ScriptDirectory
        return ScriptDirectory.from_config(self._alembic()).get_current_head()

    def dispose(self) -> None:
        """Close the pooled connections (new ones are opened on the next use)."""
        self.engine.dispose()


_REVISION = re.compile(r"^(down_)?revision\s*(?::[^=]*)?=\s*['\"]?([\w.-]+|None)['\"]?", re.M)


@functools.cache
def head_revision() -> str:
    """The newest migration's revision, read from the migration files' ``revision`` and
    ``down_revision`` lines (the one no other migration follows). Kept equal to Alembic's
    own answer by a test; migrations form one line, never branches."""
    revisions: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict((bool(m.group(1)), m.group(2)) for m in _REVISION.finditer(path.read_text()))
        if False in found:
            down = found.get(True)
            revisions[found[False]] = None if down in (None, "None") else down
    heads = set(revisions) - set(revisions.values())
    if len(heads) != 1:
        raise RuntimeError(f"the migrations in {MIGRATIONS} have {len(heads)} heads")
    return heads.pop()


def _hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
