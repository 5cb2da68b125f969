"""Own password, removing accounts, and Romanian messages."""

from __future__ import annotations

import pytest

from admin import accounts, audit
from tests.admin.helpers import PASSWORD, Env, csrf

NEW = "another long password"


def test_a_changed_password_signs_out_other_sessions(env: Env) -> None:
    c = env.owner_client()
    other = env.client("192.168.1.9")
    env.sign_in(other, "owner")
    assert other.get("/").status_code == 200
    token = csrf(c.get("/password").text)
    r = c.post("/password", data={"csrf": token, "current": PASSWORD, "new": NEW,
                                  "confirm": NEW})
    assert r.status_code == 200 and "Password changed" in r.text
    assert c.get("/").status_code == 200                    # this session goes on
    assert other.get("/").status_code == 302                # the other one is gone
    assert env.sign_in(env.client(), "owner", PASSWORD).status_code == 401
    assert env.sign_in(env.client(), "owner", NEW).status_code == 302
    assert audit.recent(env.db)[0]["action"] == "sign-in"


@pytest.mark.parametrize("field,data", [
    ("current", {"current": "not it"}),
    ("new", {"new": "short", "confirm": "short"}),
    ("confirm", {"confirm": "something else here"}),
])
def test_bad_password_changes_are_shown_at_their_field(sqlite_env: Env, field, data) -> None:
    env = sqlite_env
    c = env.owner_client()
    token = csrf(c.get("/password").text)
    r = c.post("/password", data={"csrf": token, "current": PASSWORD, "new": NEW,
                                  "confirm": NEW, **data})
    assert r.status_code == 400 and f'id="e-{field}"' in r.text
    assert env.sign_in(env.client(), "owner", PASSWORD).status_code == 302


def test_the_owner_removes_an_account_but_never_the_last_owner(sqlite_env: Env) -> None:
    env = sqlite_env
    c = env.owner_client()
    dad = accounts.create_account(env.db, username="dad", password=PASSWORD, role="parent")
    dad_client = env.client()
    env.sign_in(dad_client, "dad")
    assert dad_client.get("/").status_code == 200
    token = csrf(c.get("/accounts").text)
    assert c.post(f"/accounts/{dad.id}/remove", data={"csrf": token}).status_code == 302
    assert dad_client.get("/").status_code == 302
    assert [a.username for a in accounts.list_accounts(env.db)] == ["owner"]
    owner_id = accounts.list_accounts(env.db)[0].id
    r = c.post(f"/accounts/{owner_id}/remove", data={"csrf": token})
    assert r.status_code == 400 and "last owner" in r.text
    assert c.post("/accounts/999/remove", data={"csrf": token}).status_code == 404
    assert dad_client.post(f"/accounts/{owner_id}/remove", data={"csrf": token}).status_code \
        in (302, 400, 401)
    assert len(accounts.list_accounts(env.db)) == 1


def test_romanian_pages_and_field_messages(sqlite_env: Env) -> None:
    env = sqlite_env
    c = env.client()
    c.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ro-RO,ro;q=0.9,en;q=0.5"
    code = accounts.new_setup_code(env.db)
    page = c.get("/setup")
    assert '<html lang="ro">' in page.text and "Cod de configurare" in page.text
    r = c.post("/setup", data={"csrf": csrf(page.text), "code": code, "username": "mama",
                               "password": "scurta", "confirm": "scurta", "language": "ro"})
    assert "Folosiți cel puțin 10 caractere." in r.text


def test_sessions_are_listed_and_ended_by_their_owner_only(sqlite_env: Env) -> None:
    env = sqlite_env
    c = env.owner_client()
    phone = env.client("192.168.1.30")
    env.sign_in(phone, "owner")
    page = c.get("/password").text
    assert "192.168.1.30" in page and "127.0.0.1 (this device)" in page
    owner = accounts.list_accounts(env.db)[0]
    sessions = accounts.list_sessions(env.db, owner)
    phone_id = next(s.id for s in sessions if s.address == "192.168.1.30")
    dad = accounts.create_account(env.db, username="dad", password=PASSWORD, role="parent")
    dad_client = env.client("192.168.1.31")
    env.sign_in(dad_client, "dad")
    r = dad_client.post(f"/sessions/{phone_id}/end",
                        data={"csrf": csrf(dad_client.get("/password").text)})
    assert r.status_code == 404 and phone.get("/").status_code == 200  # not dad's to end
    r = c.post(f"/sessions/{phone_id}/end", data={"csrf": csrf(page)})
    assert r.status_code == 302 and phone.get("/").status_code == 302
    assert c.get("/").status_code == 200
    assert dad.username == "dad"
