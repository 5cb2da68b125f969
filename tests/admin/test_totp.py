"""Optional two-step sign-in with an authenticator app (TOTP)."""

from __future__ import annotations

import re
import time

import pyotp

from admin import accounts, audit
from tests.admin.helpers import PASSWORD, Env, csrf


def _turn_on(env: Env, c) -> str:  # type: ignore[no-untyped-def]
    page = c.get("/password").text
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page)[1]
    assert 'src="data:image/svg+xml' in page and secret in page
    r = c.post("/two-step", data={"csrf": csrf(page), "turn": "on", "secret": secret,
                                  "code": "000000" if pyotp.TOTP(secret).now() != "000000"
                                  else "111111"})
    assert r.status_code == 400 and 'id="e-code"' in r.text  # a wrong code turns nothing on
    assert not accounts.list_accounts(env.db)[0].totp
    r = c.post("/two-step", data={"csrf": csrf(page), "turn": "on", "secret": secret,
                                  "code": pyotp.TOTP(secret).now()})
    assert r.status_code == 200 and "Two-step sign-in is on" in r.text
    return secret


def test_with_two_step_sign_in_a_password_alone_is_not_enough(env: Env) -> None:
    c = env.owner_client()
    secret = _turn_on(env, c)
    assert env.sign_in(env.client(), "owner").status_code == 401
    # The code used to turn it on is spent; the next time step's code works, once.
    later = time.time() + accounts.TOTP_STEP
    code = pyotp.TOTP(secret).at(later)
    page = env.client()
    token = csrf(page.get("/sign-in").text)
    r = page.post("/sign-in", data={"csrf": token, "username": "owner", "password": PASSWORD,
                                    "code": code})
    assert r.status_code == 302 and page.get("/").status_code == 200
    again = env.client()
    token = csrf(again.get("/sign-in").text)
    r = again.post("/sign-in", data={"csrf": token, "username": "owner", "password": PASSWORD,
                                     "code": code})
    assert r.status_code == 401, "a code worked twice"
    assert [a["action"] for a in audit.recent(env.db)][:2] == ["sign-in failed", "sign-in"]


def test_turning_it_off_needs_the_password(sqlite_env: Env) -> None:
    env = sqlite_env
    c = env.owner_client()
    _turn_on(env, c)
    page = c.get("/password").text
    r = c.post("/two-step", data={"csrf": csrf(page), "turn": "off", "password": "wrong one"})
    assert r.status_code == 400 and 'id="e-password"' in r.text
    assert accounts.list_accounts(env.db)[0].totp
    r = c.post("/two-step", data={"csrf": csrf(page), "turn": "off", "password": PASSWORD})
    assert r.status_code == 200 and "Two-step sign-in is off" in r.text
    assert env.sign_in(env.client(), "owner").status_code == 302


def test_a_damaged_secret_is_refused(sqlite_env: Env) -> None:
    env = sqlite_env
    c = env.owner_client()
    page = c.get("/password").text
    r = c.post("/two-step", data={"csrf": csrf(page), "turn": "on", "secret": "<script>",
                                  "code": "123456"})
    assert r.status_code == 400 and "<script>" not in r.text
    assert not accounts.list_accounts(env.db)[0].totp
