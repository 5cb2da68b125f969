"""``kidgate run`` whose configured database server does not answer: the proxy starts and
filters (blocks stay blocks, allowed pages open), a report says "not saved, try again", and
the messages say which database failed without printing its password."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.support.kidgate_run import run_kidgate
from tests.support.proxy import Site, build_test_lists, free_port

pytestmark = pytest.mark.e2e


def test_the_proxy_filters_while_the_database_is_down(tmp_path: Path) -> None:
    site = Site({"/": (200, {"Content-Type": "text/plain"}, b"school page")}).start()
    lists = build_test_lists(tmp_path, {"sexual": ["adult.test"]})
    url = f"postgresql+psycopg://kidgate:hunter2secret@127.0.0.1:{free_port()}/kidgate"
    config = f"database: {{url: '{url}'}}\nprofiles:\n  class5b: {{age: 11}}\n"
    try:
        with run_kidgate(tmp_path, config, routes={"school.test": site.port}, lists=lists,
                         wait_admin=False) as kg, kg.client() as c:
            assert c.get("http://school.test/").text == "school page"
            blocked = c.get("http://adult.test/x")
            assert blocked.status_code == 403
            report = re.search(r'<a class="report" href="([^"]+)"', blocked.text)[1]
            saved = c.get(report.replace("&amp;", "&"))
            assert saved.status_code == 503 and "could not save this just now" in saved.text
            deadline = time.monotonic() + 10
            while "admin app not started" not in kg.output():
                assert time.monotonic() < deadline, kg.output()
                time.sleep(0.2)
            out = kg.output()
            assert "cannot use the database postgresql+psycopg://kidgate:***@127.0.0.1" in out
            assert "hunter2secret" not in out and "Traceback" not in out
    finally:
        site.stop()
