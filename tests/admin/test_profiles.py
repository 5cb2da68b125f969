"""Editing a profile in the admin app: the loader's rules and messages, at the field."""

from __future__ import annotations

import pytest

from admin import audit
from policies import config
from tests.admin.helpers import Env, assert_mistake_shown_and_file_unchanged, csrf


def _form(c, name: str = "anna") -> tuple[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    page = c.get(f"/profiles/{name}")
    assert page.status_code == 200
    return csrf(page.text), {"age": "9", "language": "", "safe_search": "", "youtube": "",
                             "fail_safe": "", "allow": "", "deny": "tiktok.com"}


def test_an_age_change_is_written_with_nothing_else(sqlite_env: Env) -> None:
    env = sqlite_env
    c = env.owner_client()
    token, data = _form(c)
    before = env.config_path.read_text()
    r = c.post("/profiles/anna", data={**data, "csrf": token, "age": "12"})
    assert r.status_code == 302
    assert "Profile anna saved" in c.get(r.headers["Location"]).text
    after = env.config_path.read_text()
    assert after == before.replace("age: 9 ", "age: 12")
    assert config.load(env.config_path).profiles["anna"].age == 12
    assert audit.recent(env.db)[0]["detail"] == {"age": 12}


def test_lists_and_choices_are_saved_and_an_empty_choice_is_the_default(sqlite_env: Env) -> None:
    env = sqlite_env
    c = env.owner_client()
    token, data = _form(c)
    r = c.post("/profiles/anna", data={**data, "csrf": token, "safe_search": "moderate",
                                       "allow": "school.example\n\nwiki.example\n",
                                       "deny": ""})
    assert r.status_code == 302
    anna = config.load(env.config_path).profiles["anna"]
    assert anna.safe_search == "moderate" and anna.allow_domains == ("school.example",
                                                                     "wiki.example")
    assert anna.deny_domains == ()
    token, _ = _form(c)
    c.post("/profiles/anna", data={**data, "csrf": token, "allow": "school.example\nwiki.example",
                                   "deny": "", "safe_search": ""})
    assert "safe_search" not in env.config_path.read_text()


@pytest.mark.parametrize("field,value,message", [
    ("age", "ten", "expected a whole number from 0 to 120, got 'ten'"),
    ("age", "150", "expected a whole number from 0 to 120, got 150"),
    ("age", "", "expected a whole number"),
    ("safe_search", "sometimes", "expected one of strict, moderate, off"),
    ("language", "fr", "expected one of en, ro"),
    ("allow", "school.example\nhttp://bad/path", "not a valid domain name"),
    ("deny", "<script>alert(1)</script>", "not a valid domain name"),
])
def test_an_invalid_edit_shows_the_loaders_message_at_the_field(sqlite_env: Env, field, value,
                                                                 message) -> None:
    env = sqlite_env
    c = env.owner_client()
    token, data = _form(c)
    r = assert_mistake_shown_and_file_unchanged(
        env, lambda: c.post("/profiles/anna", data={**data, "csrf": token, field: value}),
        field, message)
    assert "<script>alert" not in r.text
    assert not env.config_path.with_name("kidgate.yaml.bak").exists()


def test_profile_settings_are_for_owners_and_parents(sqlite_env: Env) -> None:
    env = sqlite_env
    c = env.owner_client()
    assert c.get("/profiles/nobody").status_code == 404
    from admin import accounts
    accounts.create_account(env.db, username="t", password="a long password", role="teacher",
                            profiles=("anna",))
    teacher = env.client()
    env.sign_in(teacher, "t", "a long password")
    # A teacher sees the profiles assigned to them, to pause them, but edits no settings.
    listing = teacher.get("/profiles")
    assert listing.status_code == 200 and 'data-profile="anna"' in listing.text
    assert 'data-profile="ben"' not in listing.text and 'class="edit"' not in listing.text
    assert teacher.get("/profiles/anna").status_code == 403
    token = csrf(teacher.get("/events").text)
    r = teacher.post("/profiles/anna", data={"csrf": token, "age": "17"})
    assert r.status_code == 403 and config.load(env.config_path).profiles["anna"].age == 9
