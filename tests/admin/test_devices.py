"""The admin app's Devices page: name a device for a profile (by address, network, MAC or proxy
user), see the devices of the last day that no entry names and give them a profile in one
click, remove an entry; every edit checked by the loader, the file kept intact on a mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin import accounts
from policies import config as config_mod
from policies.devices import resolve
from tests.admin.helpers import (CONFIG, PASSWORD, Env, assert_mistake_shown_and_file_unchanged,
                                 csrf, decision, make_env, write_log)

GROUPS = CONFIG + "groups:\n  class-5b: {allow: [scratch.mit.edu]}\n"


@pytest.fixture
def family(tmp_path: Path) -> Env:  # type: ignore[no-untyped-def]
    e = make_env(tmp_path, f"sqlite:///{tmp_path / 'kidgate.db'}", GROUPS)
    yield e
    e.db.dispose()


def _add(client, **fields: str):  # type: ignore[no-untyped-def]
    token = csrf(client.get("/devices").text)
    return client.post("/devices/add", data={"csrf": token, "kind": "ip", "name": "",
                                             "groups": "", **fields})


def _profile_of(env: Env, ip: str, mac: str | None = None) -> str:
    return resolve(config_mod.load(env.config_path), ip, mac=mac)[0].name


def test_a_device_named_for_a_profile_gets_it_and_comments_stay(family: Env) -> None:
    owner = family.owner_client()
    assert _profile_of(family, "192.168.1.40") == "anna"  # the default until named
    r = _add(owner, value="192.168.1.40", profile="ben", name="ben-phone", groups="class-5b")
    assert r.status_code == 302, r.text
    assert _profile_of(family, "192.168.1.40") == "ben"
    text = family.config_path.read_text()
    assert "# The family's file" in text and "# Anna" in text
    assert (family.config_path.parent / "kidgate.yaml.bak").exists()
    page = owner.get("/devices?done=saved").text
    assert "ben-phone" in page and "class-5b" in page and "Saved" in page
    assert "device" in owner.get("/audit").text
    # Naming the same device again changes its entry; it does not add a second one.
    _add(owner, value="192.168.1.40", profile="anna")
    assert _profile_of(family, "192.168.1.40") == "anna"
    assert len(config_mod.load(family.config_path).devices) == 1


def test_networks_macs_and_users_are_recognised_as_the_proxy_does(family: Env) -> None:
    owner = family.owner_client()
    assert _add(owner, kind="cidr", value="10.20.5.0/24", profile="ben").status_code == 302
    assert _add(owner, kind="mac", value="AA-BB-CC-DD-EE-01", profile="ben").status_code == 302
    assert _add(owner, kind="user", value="mum", profile="ben").status_code == 302
    assert _profile_of(family, "10.20.5.9") == "ben"
    assert _profile_of(family, "192.168.1.99", mac="aa:bb:cc:dd:ee:01") == "ben"
    assert resolve(config_mod.load(family.config_path), "192.168.1.98", user="mum")[0].name \
        == "ben"


@pytest.mark.parametrize("fields, where, words", [
    ({"value": "192.168.1.300"}, "value", "IP address"),
    ({"value": ""}, "value", "Write the device"),
    ({"kind": "serial", "value": "x"}, "kind", "Choose how"),
    ({"kind": "mac", "value": "not-a-mac"}, "value", "MAC address such as"),
    ({"kind": "cidr", "value": "10.0.0.0/99"}, "value", "not an IP address or network"),
    ({"value": "192.168.1.41", "groups": "chess-club"}, "groups", "no group named"),
    ({"value": "192.168.1.42", "profile": "nobody"}, "profile", "Choose one of your profiles"),
])
def test_a_mistake_is_shown_at_its_field_and_the_file_is_unchanged(family: Env, fields, where,
                                                                  words) -> None:
    owner = family.owner_client()
    assert_mistake_shown_and_file_unchanged(
        family, lambda: _add(owner, **{"profile": "ben", **fields}), where, words)


def test_devices_seen_lately_without_a_name_can_be_given_a_profile(family: Env) -> None:
    write_log(family.data_dir, [
        decision("games.test", client="192.168.1.77"),
        decision("games.test", client="192.168.1.77", action="allow"),
        decision("bet.test", client="anna-tablet"),  # a named device: known
        decision("old.test", client="192.168.1.88", ts=1.0),  # long ago: not shown
    ])
    owner = family.owner_client()
    page = owner.get("/devices").text
    assert 'data-client="192.168.1.77"' in page
    assert 'data-client="192.168.1.88"' not in page and 'data-client="anna-tablet"' not in page
    r = owner.post("/devices/add", data={"csrf": csrf(page), "kind": "ip",
                                         "value": "192.168.1.77", "profile": "ben",
                                         "name": "ben-laptop"})
    assert r.status_code == 302
    page = owner.get("/devices").text
    assert 'data-client="192.168.1.77"' not in page and "ben-laptop" in page
    assert _profile_of(family, "192.168.1.77") == "ben"


def test_removing_a_device_and_a_stale_form_removes_nothing(family: Env) -> None:
    owner = family.owner_client()
    _add(owner, value="192.168.1.50", profile="ben")
    _add(owner, value="192.168.1.51", profile="ben")
    token = csrf(owner.get("/devices").text)
    before = family.config_path.read_bytes()
    # A page shown before someone else's edit names another device at that position.
    r = owner.post("/devices/remove", data={"csrf": token, "index": "0", "kind": "ip",
                                            "value": "192.168.1.51"})
    assert r.status_code == 409 and "has changed" in r.text
    assert family.config_path.read_bytes() == before
    r = owner.post("/devices/remove", data={"csrf": token, "index": "0", "kind": "ip",
                                            "value": "192.168.1.50"})
    assert r.status_code == 302
    assert _profile_of(family, "192.168.1.50") == "anna"
    assert _profile_of(family, "192.168.1.51") == "ben"
    assert owner.post("/devices/remove", data={"csrf": token, "index": "x"}).status_code == 400


def test_teachers_may_not_see_or_change_devices(family: Env) -> None:
    family.owner_client()
    accounts.create_account(family.db, username="t5b", password=PASSWORD, role="teacher",
                            profiles=("ben",))
    teacher = family.client()
    family.sign_in(teacher, "t5b")
    assert teacher.get("/devices").status_code == 403
    token = csrf(teacher.get("/test").text)
    before = family.config_path.read_bytes()
    r = teacher.post("/devices/add", data={"csrf": token, "kind": "ip",
                                           "value": "192.168.1.60", "profile": "ben"})
    assert r.status_code == 403 and family.config_path.read_bytes() == before


def test_a_wireguard_phone_written_in_the_file_is_listed_and_removable(tmp_path: Path) -> None:
    env = make_env(tmp_path, f"sqlite:///{tmp_path / 'kidgate.db'}",
                   GROUPS + "devices:\n  - {wireguard: anna-phone, port: 51820, profile: anna}\n")
    try:
        owner = env.owner_client()
        page = owner.get("/devices").text
        assert 'data-device="anna-phone"' in page and "WireGuard tunnel" in page
        assert '<option value="wireguard"' not in page  # set up with kidgate wireguard
        r = owner.post("/devices/remove", data={"csrf": csrf(page), "index": "0",
                                                "kind": "wireguard", "value": "anna-phone"})
        assert r.status_code == 302 and not config_mod.load(env.config_path).devices
        r = _add(owner, kind="wireguard", value="x", profile="anna")
        assert r.status_code == 400 and 'id="e-kind"' in r.text
    finally:
        env.db.dispose()


def test_hostile_names_are_shown_as_text(family: Env) -> None:
    owner = family.owner_client()
    r = _add(owner, value="192.168.1.61", profile="ben", name='<script>alert("x")</script>')
    assert r.status_code == 302
    page = owner.get("/devices").text
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_without_a_config_file_there_is_nothing_to_edit(tmp_path: Path) -> None:
    env = make_env(tmp_path, f"sqlite:///{tmp_path / 'kidgate.db'}", config=None)
    try:
        owner = env.owner_client()
        assert owner.get("/devices").status_code == 404
    finally:
        env.db.dispose()
