"""Pause and blocked services through a real ``kidgate run``: the config file is changed while
it runs, the next request is blocked, and a pause of a few seconds ends on time by itself."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.support.kidgate_run import run_kidgate
from tests.support.proxy import Site, build_test_lists

pytestmark = pytest.mark.e2e

UTC = dt.timezone.utc
CONFIG = """\
profiles:
  child:
    age: 15
    allow: [homework.test]
    services: {block: [tiktok, roblox]}
"""
HOSTS = ("fine.test", "homework.test", "www.tiktok.com", "v16.tiktokcdn.com", "www.roblox.com",
         "www.youtube.com")


@pytest.fixture(scope="module")
def kg(tmp_path_factory):  # type: ignore[no-untyped-def]
    site = Site({"/": (200, {"Content-Type": "text/plain"}, b"fine")}).start()
    tmp = tmp_path_factory.mktemp("parental")
    lists = build_test_lists(tmp, {"gambling": ["casino.test"]})
    with run_kidgate(tmp, CONFIG, routes={h: site.port for h in HOSTS}, lists=lists) as kidgate:
        yield kidgate
    site.stop()


def _wait(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_blocked_service_gets_the_block_page_naming_it(kg) -> None:
    with kg.client() as c:
        for host, name in (("www.tiktok.com", "TikTok"), ("v16.tiktokcdn.com", "TikTok"),
                           ("www.roblox.com", "Roblox")):
            r = c.get(f"http://{host}/")
            assert r.status_code == 403, host
            assert f'data-service="{name}"' in r.text
            assert f"{name} is switched off for you" in r.text
            assert f"{name} is switched off for child" in r.text  # the reason, for parents
        assert c.get("http://www.youtube.com/").status_code == 200  # not switched off
        assert c.get("http://fine.test/").text == "fine"


def test_a_pause_blocks_the_next_request_and_ends_on_time(kg) -> None:
    with kg.client() as c:
        assert c.get("http://fine.test/").status_code == 200
        until = dt.datetime.now(UTC).replace(microsecond=0) + dt.timedelta(seconds=10)
        text = kg.config_path.read_text().replace(
            "    age: 15\n", f"    age: 15\n    pause: {{until: \"{until.isoformat()}\"}}\n")
        kg.config_path.write_text(text)
        blocked = _wait(lambda: (r := c.get("http://fine.test/")).status_code == 403 and r,
                        8, "the proxy to apply the pause")
        assert dt.datetime.now(UTC) < until, "the machine is too slow for this test"
        assert "paused by a parent until" in blocked.text
        assert "A parent paused the internet" in blocked.text
        # The profile's own allow list stays open during the pause.
        assert c.get("http://homework.test/").status_code == 200
        # No one touches the file again: the pause ends by itself, on time, not before.
        while dt.datetime.now(UTC) < until - dt.timedelta(seconds=1):
            assert c.get("http://fine.test/").status_code == 403
            time.sleep(0.3)
        _wait(lambda: c.get("http://fine.test/").status_code == 200, 10, "the pause to end")
        assert dt.datetime.now(UTC) >= until
        # Services stay switched off after the pause.
        assert c.get("http://www.tiktok.com/").status_code == 403
