"""``/metrics`` on the admin port of a real ``kidgate run``: nothing until a token is set,
401 without it, Prometheus text with the decisions just made through the proxy with it."""

from __future__ import annotations

import httpx
import pytest

from tests.support.kidgate_run import run_kidgate
from tests.support.proxy import Site, build_test_lists

pytestmark = pytest.mark.e2e

TOKEN = "0123456789abcdef0123"


@pytest.fixture
def site():
    s = Site({"/": (200, {"Content-Type": "text/html"}, b"<p>garden</p>")}).start()
    yield s
    s.stop()


def test_metrics_need_the_token_and_count_blocks(tmp_path, site):
    lists = build_test_lists(tmp_path, {"sexual": ["adult.test"]})
    config = f"metrics: {{token: '{TOKEN}'}}\nprofiles:\n  kid: {{age: 10}}\n"
    with run_kidgate(tmp_path, config, routes={"garden.test": site.port}, lists=lists) as kg:
        with kg.client() as c:
            assert c.get("http://adult.test/").status_code == 403
            assert c.get("http://garden.test/").status_code == 200
        url = f"{kg.admin_url}/metrics"
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer wrong-token-0000000"}).status_code == 401
        r = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        text = r.text
        assert 'kidgate_blocks_total{category="sexual",source="list"} 1.0' in text
        assert 'kidgate_decisions_total{action="allow",phase="request"}' in text
        assert "kidgate_list_entries " in text and "adult.test" not in text


def test_no_token_no_metrics_page(tmp_path, site):
    with run_kidgate(tmp_path, "profiles:\n  kid: {age: 10}\n", routes={},
                     lists=build_test_lists(tmp_path, {"sexual": ["adult.test"]})) as kg:
        assert httpx.get(f"{kg.admin_url}/metrics").status_code == 404


@pytest.mark.parametrize("token", ["short", "has spaces in it......", "'<script>'xxxxxxxxxxx"])
def test_a_weak_or_odd_token_is_refused_with_its_line(token):
    from policies import config
    with pytest.raises(config.ConfigError, match="metrics.token"):
        config.parse(f"metrics: {{token: \"{token}\"}}\nprofiles: {{a: {{age: 9}}}}\n", "k.yaml")


def test_a_taken_admin_port_does_not_stop_filtering(tmp_path):
    """Another program on the admin port: the admin app says it did not start; the proxy
    filters all the same (werkzeug exits the process on a port in use unless kidgate stops it)."""
    import socket
    holder = socket.create_server(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    try:
        lists = build_test_lists(tmp_path, {"sexual": ["adult.test"]})
        with run_kidgate(tmp_path, "profiles:\n  kid: {age: 10}\n", routes={}, lists=lists,
                         admin_port=port) as kg:
            with kg.client() as c:
                assert c.get("http://adult.test/").status_code == 403
            assert f"admin app not started: cannot listen on 127.0.0.1:{port}" in kg.output()
            assert kg.proc.poll() is None
    finally:
        holder.close()
