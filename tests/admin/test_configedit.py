"""Config edits from the admin app: round-trip, validated, atomic, with a backup."""

from __future__ import annotations

import datetime as dt
import os
import stat
import threading

import pytest

from admin import configedit
from policies import config

FAMILY = """\
# Family settings: kept as written.
profiles:
  anna:
    age: 9          # Anna is nine
    allow: [school.example]
    deny:
      - games.example
  ben: {age: 14}
"""


@pytest.fixture
def cfg(tmp_path):  # type: ignore[no-untyped-def]
    p = tmp_path / "family.yaml"
    p.write_text(FAMILY)
    os.chmod(p, 0o640)
    return p


def test_an_allow_entry_keeps_comments_layout_and_mode_and_backs_up(cfg) -> None:
    new = configedit.add_site_entry(cfg, "anna", "Games.Example.", allow=True)
    assert "games.example" in new.profiles["anna"].allow_domains
    assert "games.example" not in new.profiles["anna"].deny_domains  # the opposite list lost it
    text = cfg.read_text()
    assert "# Family settings: kept as written." in text and "# Anna is nine" in text
    assert "allow: [school.example, games.example]" in text
    assert cfg.with_name("family.yaml.bak").read_text() == FAMILY
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o640
    assert config.load(cfg).profiles["ben"].age == 14


def test_the_same_entry_twice_changes_nothing_more(cfg) -> None:
    configedit.add_site_entry(cfg, "ben", "tiktok.com", allow=False)
    once = cfg.read_text()
    configedit.add_site_entry(cfg, "ben", "tiktok.com", allow=False)
    assert cfg.read_text() == once and once.count("tiktok.com") == 1


@pytest.mark.parametrize("profile,host,message", [
    ("nobody", "x.example", "no profile named 'nobody'"),
    ("anna", "http://x.example/path", "not a valid domain name"),
    ("anna", "  ", "no site given"),
])
def test_an_invalid_edit_writes_nothing(cfg, profile, host, message) -> None:
    with pytest.raises(configedit.EditError) as e:
        configedit.add_site_entry(cfg, profile, host, allow=True)
    assert message in str(e.value)
    assert cfg.read_text() == FAMILY and not cfg.with_name("family.yaml.bak").exists()
    assert [p.name for p in cfg.parent.iterdir() if p.name.startswith(".family")] == []


def test_a_file_broken_by_hand_is_not_made_worse(cfg) -> None:
    cfg.write_text("profiles:\n  anna: {age: old}\n")
    with pytest.raises(configedit.EditError) as e:
        configedit.add_site_entry(cfg, "anna", "x.example", allow=True)
    assert "profiles.anna.age" in str(e.value)
    assert cfg.read_text() == "profiles:\n  anna: {age: old}\n"


NOW = dt.datetime(2030, 1, 7, 12, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("text,edit,where", [
    ("profiles:\n  anna: {age: 9, allow: school.example}\n",
     lambda p: configedit.add_site_entry(p, "anna", "x.example", allow=True),
     "profiles.anna.allow is not a list"),
    ("profiles:\n  anna: {age: 9, extra_time: {until: soon}}\n",
     lambda p: configedit.add_extra_time(p, "anna", NOW + dt.timedelta(hours=1), [], "mum", NOW),
     "profiles.anna.extra_time is not a list"),
    ("profiles:\n  anna: {age: 9, services: [tiktok]}\n",
     lambda p: configedit.set_services(p, "anna", ["tiktok"]),
     "profiles.anna.services is not a mapping"),
    ("profiles:\n  anna: {age: 9, schedules: nights}\n",
     lambda p: configedit.add_schedule(p, "anna", name="n", days=["mon"], start="21:00",
                                       end="07:00"),
     "profiles.anna.schedules is not a list"),
    ("profiles:\n  anna: [9]\n",
     lambda p: configedit.update_profile(p, "anna", {"age": 10}),
     "profiles.anna is not a mapping"),
    ("profiles:\n  anna: {age: 9}\ngroups:\n  class5: [10.0.0.0/24]\n",
     lambda p: configedit.update_group(p, "class5", {"allow": ["x.example"]}),
     "groups.class5 is not a mapping"),
    ("profiles:\n  anna: {age: 9}\ndevices: {laptop: 10.0.0.2}\n",
     lambda p: configedit.add_device(p, kind="ip", value="10.0.0.3", profile="anna"),
     "devices is not a list"),
])
def test_a_section_of_the_wrong_shape_is_named_and_left_alone(tmp_path, text, edit,
                                                              where) -> None:
    """Every edit finds or makes its place the same way: a hand-written section of another
    shape is never overwritten, and the message says which one to fix."""
    path = tmp_path / "family.yaml"
    path.write_text(text)
    with pytest.raises(configedit.EditError) as e:
        edit(path)
    assert where in str(e.value) and "fix it by hand" in str(e.value)
    assert path.read_text() == text


def test_concurrent_edits_all_land(cfg) -> None:
    hosts = [f"site{i}.example" for i in range(12)]
    threads = [threading.Thread(target=configedit.add_site_entry, args=(cfg, "ben", h),
                                kwargs={"allow": True}) for h in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(hosts) <= set(config.load(cfg).profiles["ben"].allow_domains)
