"""The admin app at http://kidgate.internal/admin/ through a real ``kidgate run``: a device
that uses the proxy reaches it without knowing the machine's address, over HTTP and HTTPS,
sets it up, signs in and uses it; kidgate's other internal pages are unchanged."""

from __future__ import annotations

import re

import pytest

from tests.support.kidgate_run import run_kidgate

pytestmark = pytest.mark.e2e

CONFIG = "profiles:\n  child: {age: 9}\n"
PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def test_a_device_behind_the_proxy_sets_up_and_uses_the_admin_app(tmp_path) -> None:
    with run_kidgate(tmp_path, CONFIG, routes={}) as kg, kg.client() as c:
        r = c.get("http://kidgate.internal/admin/")
        assert r.status_code == 302 and r.headers["location"].endswith("/admin/setup")
        page = c.get("http://kidgate.internal/admin/setup")
        assert page.status_code == 200 and "/admin/static/admin.css" in page.text
        assert c.get("http://kidgate.internal/admin/static/admin.css").status_code == 200
        token = _CSRF.search(page.text).group(1)
        r = c.post("http://kidgate.internal/admin/setup",
                   data={"csrf": token, "code": kg.setup_code(), "username": "owner",
                         "password": PASSWORD, "confirm": PASSWORD, "language": "en"})
        assert r.status_code == 302, r.text
        devices = c.get("http://kidgate.internal/admin/devices")
        assert devices.status_code == 200 and "Known devices" in devices.text
        assert 'action="/admin/devices/add"' in devices.text  # links stay under /admin/
        # Over HTTPS too, and the proxy's other internal pages are untouched.
        assert c.get("https://kidgate.internal/admin/devices").status_code == 200
        assert c.get("http://kidgate.internal/").status_code == 200
        assert c.get("http://kidgate.internal/administrator").status_code == 404
        # The same account on the admin port of the machine.
        assert "Sign in" in c.get(f"{kg.admin_url}/sign-in").text
