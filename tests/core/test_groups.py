"""Devices in several groups (a pupil's class and the whole school): who is in which group, and
how the layers' rules combine, the most specific deciding."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from policies import config
from policies.core import Evidence, decide
from policies.devices import groups_of, resolve

SCHOOL = textwrap.dedent("""\
    default_profile: guest
    groups:
      school:
        networks: [10.20.0.0/16]
        deny: [tiktok.com, games.example]
        categories: {social: block, gambling: block}
        schedules: [{name: assembly, days: [mon], start: "08:00", end: "08:30"}]
      class-5b:
        networks: [10.20.5.0/24]
        allow: [games.example]          # the class uses it in lessons
        categories: {social: 10}
      art-club:
        allow: [tiktok.com]
    profiles:
      pupil: {age: 11}
      teacher: {age: 35, categories: {social: 13}}
      guest: {age: 16}
    devices:
      - {cidr: 10.20.5.0/24, profile: pupil, name: class-5b-tablets}
      - {ip: 10.20.5.77, profile: pupil, name: ana-tablet, groups: [art-club]}
      - {cidr: 10.20.9.0/24, profile: teacher, name: staff-room}
    """)

SOCIAL = [Evidence("list", "social", "ut1/social_networks")]


@pytest.fixture(scope="module")
def cfg():
    return config.parse(SCHOOL, "school.yaml")


def host_evidence(profile, host):
    from kidgate.engine import profile_evidence
    return profile_evidence(profile, host)


def test_membership_named_groups_first_then_networks_narrowest_first(cfg):
    assert groups_of(cfg, "10.20.5.77", cfg.devices[1]) == ("art-club", "class-5b", "school")
    assert groups_of(cfg, "10.20.5.3", cfg.devices[0]) == ("class-5b", "school")
    assert groups_of(cfg, "10.20.9.4", cfg.devices[2]) == ("school",)
    assert groups_of(cfg, "192.168.1.5", None) == ()


def test_a_pupil_gets_the_school_and_class_rules(cfg):
    pupil, name = resolve(cfg, "10.20.5.3")
    assert name == "class-5b-tablets" and pupil.name == "pupil"
    assert pupil.groups == ("class-5b", "school")
    assert decide(pupil, host_evidence(pupil, "tiktok.com")).blocked        # school deny
    assert not decide(pupil, host_evidence(pupil, "games.example")).blocked  # class allow wins
    assert pupil.min_age("social") == 10 and not decide(pupil, SOCIAL).blocked  # class beats school
    assert pupil.min_age("gambling") > 99                                    # school: block


def test_a_device_named_group_beats_the_network_groups(cfg):
    ana, _ = resolve(cfg, "10.20.5.77")
    assert ana.groups[0] == "art-club"
    assert not decide(ana, host_evidence(ana, "tiktok.com")).blocked  # art club allows it


def test_the_profiles_own_setting_beats_every_group(cfg):
    teacher, _ = resolve(cfg, "10.20.9.4")
    assert teacher.min_age("social") == 13  # the teacher profile says 13; the school says block
    assert decide(teacher, host_evidence(teacher, "tiktok.com")).blocked  # school deny applies


def test_schedules_add_up(cfg):
    pupil, _ = resolve(cfg, "10.20.5.3")
    monday = dt.datetime(2026, 12, 7, 8, 10, tzinfo=dt.timezone.utc)
    verdict = decide(pupil, [], monday)
    assert verdict.blocked and "assembly" in verdict.reasons[0].detail


def test_outside_every_group_nothing_changes(cfg):
    guest, name = resolve(cfg, "192.168.1.5")
    assert guest == cfg.profile(None) and guest.groups == () and name == "192.168.1.5"


def test_floors_hold_whatever_a_group_says():
    cfg = config.parse("groups: {lax: {networks: [10.0.0.0/8], categories: {bypass: allow}}}\n"
                       "profiles: {kid: {age: 9}}\n")
    kid, _ = resolve(cfg, "10.1.1.1")
    assert kid.groups == ("lax",)
    assert decide(kid, [Evidence("list", "bypass", "vpn list")]).blocked


def test_merged_profiles_are_made_once(cfg):
    a, _ = resolve(cfg, "10.20.5.3")
    b, _ = resolve(cfg, "10.20.5.4")
    assert a is b


@pytest.mark.parametrize("snippet, message", [
    ("groups: {g: {networks: [nonsense]}}\n", r"groups\.g\.networks\[0\]: not an IP network"),
    ("groups: {g: {color: red}}\n", "groups.g.color: unknown key"),
    ("groups: {g: {categories: {csam: allow}}}\n", "blocked for everyone"),
    ("groups: {'bad name': {}}\n", "group names use"),
    ("devices: [{ip: 10.0.0.1, profile: a, groups: [nope]}]\n", "no group named 'nope'"),
])
def test_bad_groups_name_the_key(snippet, message):
    with pytest.raises(config.ConfigError, match=message):
        config.parse(snippet + "profiles: {a: {age: 9}}\n", "school.yaml")
