"""The configuration file deleted, broken, then fixed while the proxy runs: filtering never
stops, the log says why the file was not taken, and the fixed file applies."""

from __future__ import annotations

import time

import pytest

from tests.support.proxy import build_test_lists, run_proxy

pytestmark = pytest.mark.e2e

START = "profiles:\n  kid: {age: 10}\n"
LATER = "profiles:\n  kid: {age: 10, deny: [garden.test]}\n"


def _status(proxy, url: str) -> int:  # type: ignore[no-untyped-def]
    with proxy.client() as c:
        return c.get(url).status_code


def _wait(cond, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def test_deleted_broken_then_fixed(tmp_path):
    lists = build_test_lists(tmp_path, {"sexual": ["adult.test"]})
    with run_proxy(tmp_path, config=START, classifier=False, lists=lists) as proxy:
        cfg = tmp_path / "kidgate.yaml"
        assert _status(proxy, "http://adult.test/") == 403
        cfg.unlink()  # the file is looked at again on the next requests
        _wait(lambda: _status(proxy, "http://adult.test/") and "file not found" in proxy.log())
        assert _status(proxy, "http://adult.test/") == 403  # the previous config still rules
        cfg.write_text("profiles:\n  kid: {age: ten}\n")
        _wait(lambda: _status(proxy, "http://adult.test/") and "profiles.kid.age" in proxy.log())
        assert "keeping the previous one" in proxy.log()
        assert _status(proxy, "http://adult.test/") == 403
        cfg.write_text(LATER)
        _wait(lambda: _status(proxy, "http://garden.test/") == 403)  # the deny entry applies
        assert _status(proxy, "http://adult.test/") == 403
