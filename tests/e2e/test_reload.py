"""A changed configuration reaches every part of a running proxy: the internal pages' hotline
country and helpline, and the alert rules (they used to keep their start-up values)."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.support.proxy import Site, build_test_lists, run_proxy

pytestmark = pytest.mark.e2e


def _report_page(c) -> str:
    blocked = c.get("http://adult.test/video")
    assert blocked.status_code == 403
    m = re.search(r'<a class="report" href="([^"]+)"', blocked.text)
    assert m, "no report link on the block page"
    page = c.get(m[1].replace("&amp;", "&"))
    assert page.status_code == 200
    return page.text


def test_hotline_country_and_alerts_follow_a_reload(tmp_path):
    hooks: list[dict] = []

    def hook(handler) -> tuple[int, dict[str, str], bytes]:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        hooks.append(json.loads(body))
        return 200, {}, b""

    webhook = Site({"/hook": hook}).start()
    lists = build_test_lists(tmp_path, {"sexual": ["adult.test"]})
    start = "hotline_country: RO\nprofiles:\n  ana: {age: 11}\n"
    later = (f"hotline_country: GB\nhelpline: '0800 1111'\nprofiles:\n  ana: {{age: 11}}\n"
             f"alerts:\n  rules:\n    - {{profiles: ['*'], categories: [sexual], "
             f"webhook: 'http://127.0.0.1:{webhook.port}/hook', min_interval: 1s}}\n")
    try:
        with run_proxy(tmp_path, config=start, classifier=False, lists=lists) as p, \
                p.client() as c:
            assert "esc_ABUZ" in _report_page(c)
            time.sleep(1.0)
            assert hooks == []  # no alert rule yet

            (tmp_path / "kidgate.yaml").write_text(later)
            deadline = time.monotonic() + 15
            while "Internet Watch Foundation" not in (text := _report_page(c)):
                assert time.monotonic() < deadline, "the hotline country kept its old value"
                time.sleep(0.5)
            assert "esc_ABUZ" not in text
            home = c.get("http://kidgate.internal/")
            assert home.status_code == 200 and "0800 1111" in home.text
            deadline = time.monotonic() + 15
            while not hooks:
                assert time.monotonic() < deadline, "the new alert rule was not applied"
                c.get("http://adult.test/again")
                time.sleep(0.5)
            assert hooks[0]["category"] == "sexual" and hooks[0]["profile"] == "ana"
    finally:
        webhook.stop()
