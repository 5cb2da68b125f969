"""A school's set-up: ``kidgate run`` keeps the admin app's accounts and audit log on a real
PostgreSQL server named in the configuration, so several proxies share them."""

from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa

from storage import tables as t
from tests.support import postgres
from tests.support.kidgate_run import run_kidgate

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PASSWORD = "a long school password"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_kidgate_run_keeps_accounts_on_the_configured_postgresql(tmp_path,
                                                                 postgres_server_url) -> None:
    url = postgres.fresh_database(postgres_server_url)
    config = f"database: {{url: '{url}'}}\nprofiles:\n  class5b: {{age: 11}}\n"
    with run_kidgate(tmp_path, config, routes={}) as kg:
        with httpx.Client(base_url=kg.admin_url) as c:
            page = c.get("/setup")
            r = c.post("/setup", data={"csrf": _csrf(page.text), "code": kg.setup_code(),
                                       "username": "it-admin", "password": PASSWORD,
                                       "confirm": PASSWORD, "language": "en"})
            assert r.status_code == 302
            assert c.get("/").status_code == 200
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(t.accounts.c.username)).scalars().all() == ["it-admin"]
        assert conn.execute(sa.select(t.audit_log.c.action)).scalars().all() == ["setup"]
    engine.dispose()
    # Nothing of the admin app went to the local SQLite file.
    local = tmp_path / "data" / "kidgate.db"
    if local.exists():
        assert "admin_accounts" not in sa.inspect(sa.create_engine(f"sqlite:///{local}")
                                                  ).get_table_names()
