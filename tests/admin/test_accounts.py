"""Accounts, the setup code, the brute-force limit and sessions, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from admin import accounts
from storage import tables as t
from tests.admin.helpers import PASSWORD, Env


def test_the_setup_code_works_once_and_only_until_an_owner_exists(env: Env) -> None:
    first = accounts.new_setup_code(env.db)
    code = accounts.new_setup_code(env.db)
    assert first and code and first != code and len(code) == 14
    with pytest.raises(accounts.FieldErrors) as e:  # the earlier code was replaced
        accounts.complete_setup(env.db, code=first, username="mum", password=PASSWORD,
                                confirm=PASSWORD)
    assert set(e.value.errors) == {"code"}
    owner = accounts.complete_setup(env.db, code=code.lower().replace("-", " "),
                                    username="mum", password=PASSWORD, confirm=PASSWORD)
    assert owner.role == "owner"
    with pytest.raises(accounts.FieldErrors):
        accounts.complete_setup(env.db, code=code, username="dad", password=PASSWORD,
                                confirm=PASSWORD)
    assert accounts.new_setup_code(env.db) is None
    with env.db.engine.connect() as conn:
        stored = conn.execute(sa.select(t.accounts.c.password_hash)).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_passwords_are_checked_and_names_unique(env: Env) -> None:
    accounts.create_account(env.db, username="teacher5b", password=PASSWORD, role="teacher",
                            profiles=("class5b",))
    assert accounts.check_password(env.db, "teacher5b", PASSWORD).profiles == ("class5b",)
    assert accounts.check_password(env.db, "teacher5b", PASSWORD + "x") is None
    assert accounts.check_password(env.db, "nobody", PASSWORD) is None
    with pytest.raises(accounts.FieldErrors) as e:
        accounts.create_account(env.db, username="teacher5b", password=PASSWORD, role="parent")
    assert "taken" in e.value.errors["username"]
    with pytest.raises(accounts.FieldErrors) as e:
        accounts.create_account(env.db, username="Bad Name", password="short", role="root")
    assert set(e.value.errors) == {"username", "password", "role"}


def test_five_failures_lock_an_address_for_fifteen_minutes(env: Env) -> None:
    now = time.time()
    for i in range(4):
        accounts.record_failure(env.db, "192.168.1.50", now + i)
    assert accounts.locked_for(env.db, "192.168.1.50", now + 5) == 0
    accounts.record_failure(env.db, "192.168.1.50", now + 4)
    wait = accounts.locked_for(env.db, "192.168.1.50", now + 5)
    assert 14 * 60 < wait <= 15 * 60
    assert accounts.locked_for(env.db, "192.168.1.51", now + 5) == 0  # per address
    assert accounts.locked_for(env.db, "192.168.1.50", now + 4 + 15 * 60 + 1) == 0


def test_sessions_are_new_at_each_sign_in_and_expire(env: Env) -> None:
    acc = accounts.create_account(env.db, username="mum", password=PASSWORD, role="parent")
    now = time.time()
    anon = accounts.start_session(env.db, None, "127.0.0.1", now)
    signed = accounts.start_session(env.db, acc, "127.0.0.1", now)
    assert anon.token != signed.token and anon.csrf != signed.csrf
    assert accounts.load_session(env.db, anon.token, now).account is None
    assert accounts.load_session(env.db, signed.token, now).account == acc
    assert accounts.load_session(env.db, "forged", now) is None
    assert accounts.load_session(env.db, signed.token, now + accounts.IDLE_SECONDS + 1) is None
    accounts.end_session(env.db, signed.id)
    assert accounts.load_session(env.db, signed.token, now) is None
    with env.db.engine.connect() as conn:  # only hashes of the cookie values are stored
        hashes = [r.token_hash for r in conn.execute(sa.select(t.sessions))]
    assert anon.token not in hashes
