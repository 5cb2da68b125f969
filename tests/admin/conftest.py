from __future__ import annotations

import pytest

from tests.admin.helpers import Env, make_env


@pytest.fixture
def env(tmp_path, database_url) -> Env:  # type: ignore[no-untyped-def]
    """The admin app on an empty SQLite or PostgreSQL database, with a family's config."""
    e = make_env(tmp_path, database_url)
    yield e
    e.db.dispose()


@pytest.fixture
def sqlite_env(tmp_path) -> Env:  # type: ignore[no-untyped-def]
    e = make_env(tmp_path, f"sqlite:///{tmp_path / 'kidgate.db'}")
    yield e
    e.db.dispose()
