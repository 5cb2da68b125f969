"""The admin app's groups: a class made in a form, its network and sites applied by the same
merge the proxy uses; mistakes shown at their field with the file intact."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from policies import config as config_mod
from policies.devices import resolve
from tests.admin.helpers import (CONFIG, Env, assert_mistake_shown_and_file_unchanged, csrf,
                                 make_env)

SCHOOL = CONFIG + ("groups:\n  school: {networks: [10.20.0.0/16], deny: [games.example]}\n"
                   "devices:\n  - {ip: 10.20.9.9, profile: ben, groups: [school]}\n")


@pytest.fixture
def school(tmp_path: Path) -> Env:  # type: ignore[no-untyped-def]
    e = make_env(tmp_path, f"sqlite:///{tmp_path / 'kidgate.db'}", SCHOOL)
    yield e
    e.db.dispose()


def _profile(env: Env, ip: str):  # type: ignore[no-untyped-def]
    return resolve(config_mod.load(env.config_path), ip)[0]


def _new(client, **fields: str):  # type: ignore[no-untyped-def]
    token = csrf(client.get("/groups/new").text)
    return client.post("/groups/new", data={"csrf": token, "networks": "", "allow": "",
                                            "deny": "", **fields})


def test_a_new_class_applies_to_its_network(school: Env) -> None:
    owner = school.owner_client()
    assert "scratch.mit.edu" not in _profile(school, "10.20.5.7").allow_domains
    r = _new(owner, name="class-5b", networks="10.20.5.0/24\n", allow="scratch.mit.edu")
    assert r.status_code == 302, r.text
    merged = _profile(school, "10.20.5.7")
    assert "scratch.mit.edu" in merged.allow_domains and "games.example" in merged.deny_domains
    assert "scratch.mit.edu" not in _profile(school, "10.20.6.7").allow_domains
    page = owner.get("/groups?done=class-5b").text
    assert 'data-group="class-5b"' in page and "saved" in page
    assert "new group" in owner.get("/audit").text
    assert "# The family's file" in school.config_path.read_text()


def test_editing_a_group_changes_its_rules(school: Env) -> None:
    owner = school.owner_client()
    page = owner.get("/groups/school").text
    assert "games.example" in page and "10.20.0.0/16" in page
    r = owner.post("/groups/school", data={"csrf": csrf(page), "networks": "10.20.0.0/16",
                                           "allow": "", "deny": "games.example\nchat.example"})
    assert r.status_code == 302
    assert "chat.example" in _profile(school, "10.20.1.1").deny_domains


@pytest.mark.parametrize("fields, where, words", [
    ({"name": "class 5b!"}, "name", "letters, digits"),
    ({"name": "school"}, "name", "already"),
    ({"name": "x", "networks": "10.20.5.0/99"}, "networks", "not an IP network"),
    ({"name": "y", "deny": "http://"}, "deny", ""),
])
def test_a_mistake_is_shown_at_its_field_and_the_file_is_unchanged(school: Env, fields, where,
                                                                  words) -> None:
    owner = school.owner_client()
    assert_mistake_shown_and_file_unchanged(school, lambda: _new(owner, **fields), where, words)


def test_a_group_a_device_names_cannot_be_removed_until_it_is_free(school: Env) -> None:
    owner = school.owner_client()
    token = csrf(owner.get("/groups").text)
    before = school.config_path.read_bytes()
    r = owner.post("/groups/school/remove", data={"csrf": token})
    assert r.status_code == 409 and "no group named" in html.unescape(r.text)
    assert school.config_path.read_bytes() == before
    _new(owner, name="spare", networks="10.30.0.0/16")
    assert owner.post("/groups/spare/remove", data={"csrf": token}).status_code == 302
    assert "spare" not in config_mod.load(school.config_path).groups
    assert owner.get("/groups/spare").status_code == 404
