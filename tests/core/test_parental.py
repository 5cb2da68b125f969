"""Pause, extra time and blocked services: from the config file to the verdict, with the clock
injected (midnight, daylight-saving days, an expiry in the middle of a session)."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kidgate import blockpage
from kidgate.engine import profile_evidence
from policies import config, services
from policies.config import ConfigError
from policies.core import Evidence, decide

ZONE = ZoneInfo("Europe/Bucharest")
UTC = dt.timezone.utc
SOCIAL = Evidence("list", "social", "ut1/social_networks: domain chat.example")
GAMBLING = Evidence("list", "gambling", "ut1/gambling: domain casino.example")


def at(text: str) -> dt.datetime:
    """A wall-clock time in Bucharest (where the examples live)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZONE)


def profile(body: str, age: int = 9):  # type: ignore[no-untyped-def]
    text = "profiles:\n  anna:\n" + textwrap.indent(
        f"age: {age}\ntimezone: Europe/Bucharest\n" + textwrap.dedent(body), "    ")
    return config.parse(text, "family.yaml").profiles["anna"]


def verdict(p, host: str, now: dt.datetime, extra: list[Evidence] | None = None):  # type: ignore[no-untyped-def]
    return decide(p, profile_evidence(p, host) + (extra or []), now)


# -- pause ------------------------------------------------------------------------------
PAUSED = """\
allow: [homework.example]
pause: {until: "2026-12-04 20:00", by: mum}
"""


def test_a_pause_blocks_everything_until_its_end_and_says_so() -> None:
    p = profile(PAUSED)
    v = verdict(p, "fine.example", at("2026-12-04 19:10"))
    assert v.blocked and v.paused_until == at("2026-12-04 20:00")
    assert [r.detail for r in v.reasons] == ["paused by a parent until 20:00"]
    assert v.to_dict()["paused_until"] == "2026-12-04T20:00:00+02:00"
    page = blockpage.render(v, url="http://fine.example/", profile=p)
    assert "paused by a parent until" in page and "A parent paused the internet" in page
    # Social, age-rated and service evidence: all blocked by the pause, named as such.
    assert verdict(p, "chat.example", at("2026-12-04 19:59:59"), [SOCIAL]).paused_until
    # The pause ends on time by itself: no reload, no timer.
    assert not verdict(p, "fine.example", at("2026-12-04 20:00")).blocked
    assert verdict(p, "chat.example", at("2026-12-04 20:00"), [SOCIAL]).category == "social"


def test_during_a_pause_the_own_allow_list_stays_open_but_not_approvals_or_lists() -> None:
    p = profile(PAUSED)
    now = at("2026-12-04 19:30")
    assert not verdict(p, "homework.example", now).blocked
    assert not verdict(p, "www.homework.example", now).blocked
    approval = Evidence("policy", None, "access approved by mum", allow=True, kind="approval")
    assert verdict(p, "game.example", now, [approval]).paused_until is not None
    allow_list = Evidence("list", None, "allow list", allow=True)
    assert verdict(p, "kids.example", now, [allow_list]).paused_until is not None
    # The hotline floor is above everything, the allow list included.
    csam = Evidence("list", "csam", "hotline list")
    assert verdict(p, "homework.example", now, [csam]).category == "csam"


def test_an_expiry_in_the_middle_of_a_session() -> None:
    """The same profile object, requests a second apart: the verdict flips at ``until``."""
    p = profile('pause: {until: "2026-12-04T18:00:05+00:00"}\n')
    start = dt.datetime(2026, 12, 4, 18, 0, 0, tzinfo=UTC)
    seen = [verdict(p, "fine.example", start + dt.timedelta(seconds=s)).blocked
            for s in range(10)]
    assert seen == [True] * 5 + [False] * 5


def test_a_pause_across_midnight_names_the_day() -> None:
    p = profile('pause: {until: "2026-12-05 00:30"}\n')
    v = verdict(p, "fine.example", at("2026-12-04 23:50"))
    assert v.reasons[0].detail == "paused by a parent until Sat 00:30"
    assert verdict(p, "fine.example", at("2026-12-05 00:10")).reasons[0].detail == \
        "paused by a parent until 00:30"
    assert not verdict(p, "fine.example", at("2026-12-05 00:30")).blocked


def test_a_pause_on_the_daylight_saving_day_ends_at_the_wall_clock_time() -> None:
    # 2026-03-29: Bucharest moves from 03:00 EET to 04:00 EEST. 04:30 local is 01:30 UTC.
    p = profile('pause: {until: "2026-03-29 04:30"}\n')
    utc = lambda h, m: dt.datetime(2026, 3, 29, h, m, tzinfo=UTC)  # noqa: E731
    assert verdict(p, "fine.example", utc(0, 30)).blocked       # 02:30 EET
    assert verdict(p, "fine.example", utc(1, 29)).blocked       # 04:29 EEST
    assert not verdict(p, "fine.example", utc(1, 30)).blocked   # 04:30 EEST
    # The autumn day: 2026-10-25 04:00 EEST becomes 03:00 EET; a time with an offset is exact.
    p = profile('pause: {until: "2026-10-25T03:30:00+02:00"}\n')
    assert verdict(p, "fine.example", dt.datetime(2026, 10, 25, 1, 20, tzinfo=UTC)).blocked
    assert not verdict(p, "fine.example", dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)).blocked


def test_without_a_time_nothing_time_limited_applies() -> None:
    p = profile(PAUSED)
    assert not decide(p, profile_evidence(p, "fine.example")).blocked
    # A time without a zone is the profile's own clock.
    assert decide(p, [], dt.datetime(2026, 12, 4, 19, 59)).blocked
    assert not decide(p, [], dt.datetime(2026, 12, 4, 20, 0)).blocked


def test_the_pause_page_offers_no_request_for_access() -> None:
    p = profile(PAUSED)
    v = verdict(p, "fine.example", at("2026-12-04 19:10"))
    links = blockpage.BlockLinks(ask_url="http://kidgate.internal/ask?t=x")
    assert 'class="ask"' not in blockpage.render(v, url="http://fine.example/", profile=p,
                                                 links=links)
    v = verdict(p, "fine.example", at("2026-12-04 19:10"), [GAMBLING])
    assert 'class="ask"' not in blockpage.render(v, url="http://f/", profile=p, links=links)
    v = verdict(p, "casino.example", at("2026-12-04 20:10"), [GAMBLING])
    assert 'class="ask"' in blockpage.render(v, url="http://f/", profile=p, links=links)


# -- extra time -------------------------------------------------------------------------
BEDTIME = """\
schedules:
  - {name: bedtime, start: "21:00", end: "07:00"}
  - {name: homework, days: mon-fri, start: "15:00", end: "17:00", categories: [social]}
"""


def test_extra_time_for_the_whole_internet_lifts_bedtime_mid_window_then_ends() -> None:
    p = profile(BEDTIME)
    assert verdict(p, "fine.example", at("2026-12-04 21:30")).reasons[0].source == "schedule"
    p = profile(BEDTIME + 'extra_time: [{until: "2026-12-04 22:00"}]\n')
    assert not verdict(p, "fine.example", at("2026-12-04 21:30")).blocked
    assert not verdict(p, "fine.example", at("2026-12-04 21:59:59")).blocked
    v = verdict(p, "fine.example", at("2026-12-04 22:00"))
    assert v.blocked and "bedtime" in v.reasons[0].detail
    # Whole-internet extra time lifts schedules, not age blocks.
    assert verdict(p, "casino.example", at("2026-12-04 21:30"), [GAMBLING]).category == "gambling"


def test_extra_time_across_midnight() -> None:
    p = profile(BEDTIME + 'extra_time: [{until: "2026-12-05 00:15"}]\n')
    assert not verdict(p, "fine.example", at("2026-12-05 00:14")).blocked
    assert verdict(p, "fine.example", at("2026-12-05 00:15")).blocked


def test_extra_time_for_a_category_lifts_its_schedule_and_age_block_only() -> None:
    p = profile(BEDTIME)
    friday_homework = at("2026-12-04 16:00")
    assert verdict(p, "chat.example", friday_homework, [SOCIAL]).blocked
    p = profile(BEDTIME + 'extra_time: [{until: "2026-12-04 16:30", categories: [social]}]\n')
    # Social networks at 9 (their age is 13) during homework: allowed until 16:30.
    assert not verdict(p, "chat.example", friday_homework, [SOCIAL]).blocked
    v = verdict(p, "chat.example", at("2026-12-04 16:30"), [SOCIAL])
    assert v.blocked and v.reasons[0].source == "schedule"
    assert verdict(p, "chat.example", at("2026-12-04 18:00"), [SOCIAL]).min_age == 13
    # Another category keeps its age block.
    assert verdict(p, "casino.example", friday_homework, [GAMBLING]).category == "gambling"
    # Bedtime opens to social pages only; a plain page stays asleep.
    p = profile(BEDTIME + 'extra_time: [{until: "2026-12-04 22:00", categories: [social]}]\n')
    assert not verdict(p, "chat.example", at("2026-12-04 21:30"), [SOCIAL]).blocked
    assert verdict(p, "fine.example", at("2026-12-04 21:30")).reasons[0].source == "schedule"


def test_a_pause_beats_extra_time() -> None:
    p = profile(BEDTIME + 'extra_time: [{until: "2026-12-04 23:00"}]\n'
                'pause: {until: "2026-12-04 21:45"}\n')
    assert verdict(p, "fine.example", at("2026-12-04 21:30")).paused_until is not None
    assert not verdict(p, "fine.example", at("2026-12-04 21:50")).blocked


# -- services -----------------------------------------------------------------------------
def test_the_catalogue_holds_the_services_parents_ask_for() -> None:
    cat = services.catalogue()
    for sid in ("tiktok", "youtube", "instagram", "snapchat", "discord", "roblox", "fortnite",
                "twitch", "whatsapp", "facebook", "netflix", "steam", "minecraft", "reddit",
                "twitter", "telegram", "spotify"):
        assert sid in cat and cat[sid].domains
    assert "tiktokcdn.com" in cat["tiktok"].domains and "rbxcdn.com" in cat["roblox"].domains


def test_a_blocked_service_is_named_and_covers_its_subdomains() -> None:
    p = profile("allow: [www.youtube.com]\nservices: {block: [tiktok, youtube]}\n", age=15)
    now = at("2026-12-04 12:00")
    v = verdict(p, "v16m.tiktokcdn.com", now)
    assert v.blocked and v.service == "TikTok"
    assert v.reasons[0].detail == "TikTok is switched off for anna (tiktokcdn.com)"
    page = blockpage.render(v, url="https://www.tiktok.com/", profile=p)
    assert 'data-service="TikTok"' in page and "TikTok is switched off for you" in page
    assert verdict(p, "m.youtube.com", now).service == "YouTube"
    assert not verdict(p, "www.youtube.com", now).blocked       # her own allow entry
    assert not verdict(p, "nottiktok.com", now).blocked
    assert not verdict(p, "roblox.com", now).blocked            # not switched off for her
    # Extra time does not lift a service switched off at all times.
    p = profile("services: {block: [tiktok]}\nextra_time: [{until: '2026-12-04 13:00'}]\n")
    assert verdict(p, "tiktok.com", now).service == "TikTok"


def test_a_service_on_a_schedule() -> None:
    p = profile("""\
        services:
          block: [roblox]
          schedules: [{name: school-nights, days: sun-thu, start: "19:00", end: "07:00"}]
        """, age=15)
    thursday_night, friday_night = at("2026-12-03 20:00"), at("2026-12-04 20:00")
    v = verdict(p, "www.roblox.com", thursday_night)
    assert v.service == "Roblox" and "school-nights" in v.reasons[0].detail
    assert verdict(p, "www.roblox.com", at("2026-12-04 06:59")).blocked   # Thursday's night
    assert not verdict(p, "www.roblox.com", at("2026-12-04 07:00")).blocked
    assert not verdict(p, "www.roblox.com", friday_night).blocked
    # Extra time for the whole internet lifts every schedule, this one too.
    p = profile("""\
        services: {block: [roblox], schedules: [{days: sun-thu, start: "19:00", end: "07:00"}]}
        extra_time: [{until: "2026-12-03 21:00"}]
        """, age=15)
    assert not verdict(p, "www.roblox.com", thursday_night).blocked
    assert verdict(p, "www.roblox.com", at("2026-12-03 21:00")).service == "Roblox"


def test_groups_keep_the_profile_s_pause_and_services() -> None:
    cfg = config.parse(textwrap.dedent("""\
        groups: {class-5b: {networks: [10.20.5.0/24], allow: [scratch.mit.edu]}}
        profiles:
          pupil:
            age: 11
            services: {block: [tiktok]}
            pause: {until: "2026-12-04T20:00:00+02:00"}
        """))
    from policies.devices import resolve
    p, _ = resolve(cfg, "10.20.5.7")
    assert p.groups == ("class-5b",)
    assert verdict(p, "tiktok.com", at("2026-12-04 20:30")).service == "TikTok"
    assert verdict(p, "fine.example", at("2026-12-04 19:30")).paused_until is not None


# -- configuration mistakes ----------------------------------------------------------------
@pytest.mark.parametrize("body,where", [
    ("pause: {by: mum}", "profiles.anna.pause: missing key 'until'"),
    ("pause: {until: '20:00'}", "profiles.anna.pause.until: expected a date and time"),
    ("pause: {until: 2026-12-04}", "profiles.anna.pause.until: expected a date and time"),
    ("pause: {until: '2026-12-04 20:00', for: 1h}", "profiles.anna.pause.for: unknown key"),
    ("pause: 1h", "profiles.anna.pause: expected a mapping"),
    ("extra_time: {until: '2026-12-04 20:00'}", "profiles.anna.extra_time: expected a list"),
    ("extra_time: [{categories: [social]}]", "profiles.anna.extra_time[0]: missing key 'until'"),
    ("extra_time: [{until: '2026-12-04 20:00', categories: [games]}]",
     "profiles.anna.extra_time[0].categories[0]: unknown category 'games'"),
    ("extra_time: [{until: '2026-12-04 20:00', categories: [bypass]}]",
     "profiles.anna.extra_time[0].categories[0]: bypass stays blocked"),
    ("extra_time: [{until: '2026-12-04 20:00', categories: [csam]}]",
     "profiles.anna.extra_time[0].categories[0]: csam stays blocked"),
    ("services: {block: [tiktok, fakebook]}", "profiles.anna.services.block[1]: unknown "
                                              "service 'fakebook'; services are: discord,"),
    ("services: {block: tiktok}", "profiles.anna.services.block: expected a list"),
    ("services: {allow: [tiktok]}", "profiles.anna.services.allow: unknown key"),
    ("services: {block: [tiktok], schedules: [{start: '19:00'}]}",
     "profiles.anna.services.schedules[0]: give start and end"),
])
def test_mistakes_are_located(body: str, where: str) -> None:
    text = f"profiles:\n  anna:\n    age: 9\n    {body}\n"
    with pytest.raises(ConfigError) as e:
        config.parse(text, "family.yaml")
    assert str(e.value).startswith("family.yaml:4: ") and where in str(e.value), str(e.value)


def test_an_expired_pause_or_extra_time_is_not_a_mistake() -> None:
    p = profile('pause: {until: "2020-01-01 00:00"}\nextra_time: [{until: "2020-01-01 00:00"}]\n')
    assert not verdict(p, "fine.example", dt.datetime.now(UTC)).blocked


def test_a_broken_catalogue_is_located(tmp_path: Path) -> None:
    bad = tmp_path / "services.yaml"
    bad.write_text("a: {name: A, domains: [a.example]}\nb:\n  name: B\n"
                   "  domains: [b.example, a.example]\n")
    with pytest.raises(ConfigError) as e:
        services.load_catalogue(bad)
    assert str(e.value) == f"{bad}:4: b.domains[1]: a.example is already listed for a"
    bad.write_text("a: {name: A, domains: ['http://a.example/']}\n")
    with pytest.raises(ConfigError, match=r":1: a.domains\[0\]: not a domain name"):
        services.load_catalogue(bad)
