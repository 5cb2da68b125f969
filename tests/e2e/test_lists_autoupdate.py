"""A running kidgate updates its lists by itself: against a local server serving a UT1-layout
tarball, the proxy starts blocking a site that only the downloaded lists know, without a
restart; a corrupt download keeps the lists in use."""

from __future__ import annotations

import time

import pytest

from lists.autoupdate import read_state
from tests.lists.conftest import http_dir, make_tarball, make_ut1  # noqa: F401 - fixture
from tests.support.proxy import run_proxy

pytestmark = pytest.mark.e2e


def _config(url: str) -> str:
    return ("default_profile: kid\nprofiles:\n  kid: {age: 10}\n"
            "lists:\n  auto_update: {first_delay_minutes: 0, jitter_minutes: 0}\n"
            f"  sources:\n    - {{name: ut1, url: '{url}', format: ut1, min_bytes: 100}}\n")


def _wait(cond, timeout: float = 90.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def test_the_proxy_updates_its_lists_and_uses_them_without_a_restart(http_dir, tmp_path):
    base, www = http_dir
    make_tarball(make_ut1(tmp_path / "upstream"), www / "blacklists.tar.gz")
    with run_proxy(tmp_path, config=_config(f"{base}/blacklists.tar.gz"), classifier=False,
                   auto_update=True) as proxy:
        store = proxy.data_dir / "lists.kglist"
        _wait(lambda: read_state(store).ok is True)
        assert read_state(store).next_run
        _wait(lambda: _blocked(proxy, "http://porn.example/"), timeout=20)
        with proxy.client() as c:
            r = c.get("http://porn.example/")
        assert r.status_code == 403 and r.headers["x-kidgate-category"] == "sexual"


def test_a_corrupt_download_keeps_the_lists_in_use(http_dir, tmp_path):
    base, www = http_dir
    (www / "broken.tar.gz").write_bytes(b"\x1f\x8b" + b"\x00" * 4000)
    with run_proxy(tmp_path, config=_config(f"{base}/broken.tar.gz"), classifier=False,
                   auto_update=True) as proxy:
        store = proxy.data_dir / "lists.kglist"
        _wait(lambda: read_state(store).ok is False)
        state = read_state(store)
        assert state.failures == 1 and "corrupt" in state.result and not store.exists()
        assert state.next_run > state.last_attempt  # retried later, with a pause
        assert _blocked(proxy, "http://pornhub.com/")  # the shipped lists still in force
        assert "list update failed, keeping the lists in use" in proxy.log()


def _blocked(proxy, url: str) -> bool:  # type: ignore[no-untyped-def]
    with proxy.client() as c:
        r = c.get(url)
    return r.status_code == 403
